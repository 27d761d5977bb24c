"""Exported ONNX / TFLite models against the estimator, on real FER2013 faces."""

import subprocess
import sys

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression

from skfer import MirrorSampler
from skfer.datasets import load_fer2013
from skfer.deploy import ONNXModel, TFLiteModel
from skfer.export import export_onnx, export_tflite

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

ATOL = 1e-5  # float32 parity of probabilities, ONNX and float TFLite


@pytest.fixture(scope="module")
def fer_faces(fer2013_dir):
    """1,500 training and 500 PublicTest faces of real FER2013."""
    train = load_fer2013(fer2013_dir, usage="Training")
    test = load_fer2013(fer2013_dir, usage="PublicTest")
    rng = np.random.RandomState(0)
    i = rng.choice(len(train.target), 1500, replace=False)
    j = rng.choice(len(test.target), 500, replace=False)
    return train.data[i], train.target[i], test.data[j], test.target[j]


@pytest.fixture(scope="module")
def fer_cnn(fer_faces):
    from skfer import FERCNNClassifier

    X, y, _, _ = fer_faces
    return FERCNNClassifier(
        conv_filters=(16,) * 6,
        dense_units=(64,),
        activation="elu",
        epochs=3,
        patience=None,
        batch_size=32,
        random_state=0,
    ).fit(X, y)


def test_onnx_matches_predict_proba(fer_cnn, fer_faces, tmp_path):
    _, _, X_test, _ = fer_faces
    path = export_onnx(fer_cnn, tmp_path / "cnn.onnx")
    onnx = ONNXModel(path)
    np.testing.assert_array_equal(onnx.classes_, fer_cnn.classes_)
    np.testing.assert_allclose(
        onnx.predict_proba(X_test), fer_cnn.predict_proba(X_test), atol=ATOL
    )
    np.testing.assert_array_equal(
        onnx.predict(X_test[:50].reshape(-1, 48, 48)), fer_cnn.predict(X_test[:50])
    )


def test_onnx_runs_without_tensorflow(fer_cnn, fer_faces, tmp_path):
    _, _, X_test, _ = fer_faces
    path = export_onnx(fer_cnn, tmp_path / "cnn.onnx")
    np.save(tmp_path / "X.npy", X_test[:20])
    code = (
        "import sys, numpy as np\n"
        "sys.modules['tensorflow'] = None  # any TensorFlow import now fails\n"
        "from skfer.deploy import ONNXModel\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"p = ONNXModel({str(path)!r}).predict_proba(X)\n"
        f"np.save({str(tmp_path / 'p.npy')!r}, p)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(
        np.load(tmp_path / "p.npy"), fer_cnn.predict_proba(X_test[:20]), atol=ATOL
    )


def test_tflite_float_matches_and_quantised_keeps_accuracy(
    fer_cnn, fer_faces, tmp_path
):
    X, _, X_test, y_test = fer_faces
    expected = fer_cnn.predict_proba(X_test)
    exact = TFLiteModel(export_tflite(fer_cnn, tmp_path / "f32.tflite"))
    np.testing.assert_allclose(exact.predict_proba(X_test), expected, atol=ATOL)
    reference = np.mean(fer_cnn.predict(X_test) == y_test)
    for quantize in ("float16", "int8"):
        path = export_tflite(
            fer_cnn,
            tmp_path / f"{quantize}.tflite",
            quantize=quantize,
            X_calibration=X[:200],
        )
        assert path.stat().st_size < (tmp_path / "f32.tflite").stat().st_size
        accuracy = np.mean(TFLiteModel(path).predict(X_test) == y_test)
        assert abs(accuracy - reference) <= 0.01, quantize


def test_ensemble_and_pipeline_export(fer_cnn, fer_faces, tmp_path, tiny_dnn):
    X, y, X_test, _ = fer_faces
    pipe = make_pipeline(MirrorSampler(), tiny_dnn(epochs=1))
    vote = VotingClassifier(
        [("cnn", fer_cnn), ("dnn", pipe)], voting="soft", weights=[2, 1]
    ).fit(X, y)
    vote.estimators_[0].set_params(tta=True)
    onnx = ONNXModel(export_onnx(vote, tmp_path / "vote.onnx"))
    np.testing.assert_allclose(
        onnx.predict_proba(X_test[:100]), vote.predict_proba(X_test[:100]), atol=ATOL
    )


def test_flip_shift_tta_is_exported(fer_cnn, fer_faces, tmp_path):
    _, _, X_test, _ = fer_faces
    plain = fer_cnn.predict_proba(X_test[:64])
    fer_cnn.set_params(tta="flip+shift")  # read at predict time: no refit
    try:
        onnx = ONNXModel(export_onnx(fer_cnn, tmp_path / "shift.onnx"))
        expected = fer_cnn.predict_proba(X_test[:64])
    finally:
        fer_cnn.set_params(tta=False)
    np.testing.assert_allclose(onnx.predict_proba(X_test[:64]), expected, atol=ATOL)
    assert not np.allclose(expected, plain, atol=1e-4)


def test_custom_tta_views_are_exported(fer_cnn, fer_faces, tmp_path):
    _, _, X_test, _ = fer_faces
    fer_cnn.set_params(tta=[(True, 0, 0), (True, 2, -1)])  # no plain face
    try:
        onnx = ONNXModel(export_onnx(fer_cnn, tmp_path / "views.onnx"))
        expected = fer_cnn.predict_proba(X_test[:64])
    finally:
        fer_cnn.set_params(tta=False)
    np.testing.assert_allclose(onnx.predict_proba(X_test[:64]), expected, atol=ATOL)
    assert not np.allclose(expected, fer_cnn.predict_proba(X_test[:64]), atol=1e-4)


def test_export_rejects_what_it_cannot_export(fer_cnn, fer_faces, tmp_path):
    X, y, _, _ = fer_faces
    with pytest.raises(TypeError, match="Got LogisticRegression"):
        export_onnx(LogisticRegression().fit(X[:50], y[:50]), tmp_path / "x.onnx")
    hard = VotingClassifier([("a", fer_cnn)], voting="hard")
    hard.estimators_, hard.classes_ = [fer_cnn], fer_cnn.classes_
    hard.le_ = None
    with pytest.raises(ValueError, match="Only soft voting"):
        export_onnx(hard, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="needs X_calibration"):
        export_tflite(fer_cnn, tmp_path / "x.tflite", quantize="int8")
    with pytest.raises(ValueError, match="quantize must be None"):
        export_tflite(fer_cnn, tmp_path / "x.tflite", quantize="int4")
    assert not list(tmp_path.iterdir())  # nothing half-written
