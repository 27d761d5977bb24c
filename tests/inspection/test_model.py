"""Resolving estimators to networks, layer lookup, input validation."""

import subprocess
import sys

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skfer import FERCNNClassifier, MirrorSampler
from skfer.inspection._model import (
    check_faces,
    conv_layer,
    first_hidden_layer,
    get_layer,
    get_spatial_layer,
    resolve_model,
)


def test_import_loads_neither_tensorflow_nor_matplotlib():
    code = (
        "import sys, skfer, skfer.inspection; "
        "bad = {'tensorflow', 'keras', 'matplotlib'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_resolve_estimator_pipeline_and_model(trained_cnn):
    model = trained_cnn.model_
    assert resolve_model(trained_cnn) is model
    assert resolve_model(model) is model
    pipe = make_pipeline(MirrorSampler(), trained_cnn)  # fitted step, unfitted sampler
    assert resolve_model(pipe) is model


def test_resolve_refuses_transformers_and_unfitted(trained_cnn):
    pipe = make_pipeline(StandardScaler(), trained_cnn)
    with pytest.raises(ValueError, match=r"'standardscaler' .* transforms X"):
        resolve_model(pipe)
    with pytest.raises(NotFittedError):
        resolve_model(FERCNNClassifier())
    with pytest.raises(NotFittedError):
        resolve_model(make_pipeline(MirrorSampler(), FERCNNClassifier()))


def test_get_layer_by_name_and_index(trained_cnn):
    model = trained_cnn.model_
    assert get_layer(model, "conv2_act").name == "conv2_act"
    assert get_layer(model, 0).name == "pixels"
    assert get_layer(model, -1).name == "probabilities"
    assert get_layer(model, np.int64(3)).name == "conv1"


def test_wrong_layer_name_lists_valid_ones(trained_cnn):
    model = trained_cnn.model_
    with pytest.raises(ValueError, match="No layer named 'conv7'") as err:
        get_layer(model, "conv7")
    message = str(err.value)
    assert all(name in message for name in ("'conv1'", "'conv6_act'", "'logits'"))
    with pytest.raises(ValueError, match="Did you mean 'conv1_act'"):
        get_layer(model, "conv1act")
    with pytest.raises(ValueError, match=r"out of range .* Valid layers"):
        get_layer(model, 99)
    with pytest.raises(TypeError, match="name or an index"):
        get_layer(model, 1.5)


def test_spatial_layer_refuses_dense(trained_cnn, trained_dnn):
    with pytest.raises(ValueError, match="'dense1' has output shape \\(None, 64\\)"):
        get_spatial_layer(trained_cnn.model_, "dense1", purpose="Grad-CAM")
    with pytest.raises(ValueError, match="spatial map: none"):
        get_spatial_layer(trained_dnn.model_, "dense1", purpose="Grad-CAM")


def test_default_layers(trained_cnn, trained_dnn):
    assert conv_layer(trained_cnn.model_) == "conv6_act"
    assert conv_layer(trained_cnn.model_, 0) == "conv1_act"
    assert conv_layer(trained_dnn.model_) is None
    assert first_hidden_layer(trained_dnn.model_) == "dense1_act"


def test_check_faces_layouts_and_errors():
    face = np.arange(2304) % 256
    expected = face.astype(np.float32)[None]
    for variant in (face, face.reshape(48, 48), face[None], face.reshape(1, 48, 48, 1)):
        np.testing.assert_array_equal(check_faces(variant), expected)
    assert check_faces(face).dtype == np.float32
    with pytest.raises(
        ValueError, match=r"n_features must be 2304 \(48x48\). Got 2300"
    ):
        check_faces(np.zeros((2, 2300)))
    with pytest.raises(ValueError, match="Got shape \\(2, 32, 32\\)"):
        check_faces(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="NaN"):
        check_faces(np.full((1, 2304), np.nan))
