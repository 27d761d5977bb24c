import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import skfer.persistence
from skfer import MirrorSampler, load_model, save_model


def _fitted(kind, expressions, tiny_cnn, tiny_dnn):
    X, y = expressions
    if kind == "classifier":
        return tiny_cnn().fit(X, y)
    if kind == "pipeline":
        return make_pipeline(MirrorSampler(), tiny_cnn()).fit(X, y)
    if kind == "ensemble":
        members = [("cnn", tiny_cnn()), ("dnn", tiny_dnn())]
        return VotingClassifier(members, voting="soft").fit(X, y)
    search = GridSearchCV(tiny_dnn(epochs=1), {"hidden_units": [(8,), (16,)]}, cv=2)
    return search.fit(X, y).best_estimator_


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["classifier", "pipeline", "ensemble", "search"])
def test_round_trip_in_a_fresh_process(kind, expressions, tiny_cnn, tiny_dnn, tmp_path):
    X, _ = expressions
    model = _fitted(kind, expressions, tiny_cnn, tiny_dnn)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    np.save(tmp_path / "X.npy", X[:16])
    expected = model.predict_proba(X[:16])
    script = textwrap.dedent(
        f"""
        import joblib, numpy as np
        model = joblib.load({str(path)!r})
        np.save({str(tmp_path / "p.npy")!r},
                model.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)


def test_save_and_load_model(expressions, tiny_cnn, tmp_path):
    X, y = expressions
    clf = tiny_cnn().fit(X, y)
    path = save_model(clf, tmp_path / "cnn.joblib")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), clf.predict_proba(X[:5]))
    assert loaded.history_ == clf.history_
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.joblib"]  # no temp files


def test_interrupted_save_keeps_the_old_file(
    expressions, tiny_cnn, tmp_path, monkeypatch
):
    X, y = expressions
    clf = tiny_cnn().fit(X, y)
    path = save_model(clf, tmp_path / "cnn.joblib")
    before = path.read_bytes()

    def crash(obj, filename, **kw):
        with open(filename, "wb") as fh:
            fh.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(skfer.persistence.joblib, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(clf, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.joblib"]


class _Unpicklable:
    def __reduce__(self):
        raise TypeError("cannot pickle a live writer")


def test_unpicklable_callback_does_not_break_saving(expressions, tiny_cnn, tmp_path):
    import keras

    class Logger(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.writer = _Unpicklable()

    X, y = expressions
    keep = keras.callbacks.TerminateOnNaN()
    clf = tiny_cnn(callbacks=[Logger(), keep]).fit(X, y)
    with pytest.warns(UserWarning, match="cannot be pickled"):
        blob = pickle.dumps(clf)
    loaded = pickle.loads(blob)
    assert [type(cb) for cb in loaded.callbacks] == [type(keep)]
    np.testing.assert_array_equal(loaded.predict(X[:5]), clf.predict(X[:5]))


def test_load_rejects_what_is_not_a_fitted_skfer_model(tmp_path, tiny_cnn):
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match=r"notes\.txt' is not a skfer model file"):
        load_model(text)
    other = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression(), other)
    with pytest.raises(ValueError, match="holds no skfer classifier"):
        load_model(other)
    unfitted = tmp_path / "unfitted.joblib"
    joblib.dump(tiny_cnn(), unfitted)
    with pytest.raises(ValueError, match="not fitted"):
        load_model(unfitted)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="not fitted"):
            save_model(tiny_cnn(), tmp_path / "x.joblib")
