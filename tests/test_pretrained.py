import json

import numpy as np
import pytest

import skfer.pretrained as pretrained
from skfer import FERVGGClassifier, list_pretrained, load_pretrained, save_model
from skfer.pretrained import _package


@pytest.fixture(scope="module")
def tiny_fitted(expressions):
    X, y = expressions
    clf = FERVGGClassifier(
        block_filters=(4, 8), dense_units=(8,), epochs=1, random_state=0
    )
    return clf.fit(X, y)


@pytest.fixture
def registry(tmp_path, monkeypatch, tiny_fitted):
    """A folder holding one packaged tiny network, as skfer's weights folder."""
    card = _package(tiny_fitted, tmp_path, "tiny", {"public_test_accuracy": 0.5})
    monkeypatch.setattr(pretrained, "_WEIGHTS_DIR", tmp_path)
    return card


def test_packaged_network_loads_fitted_and_predicts_like_the_original(
    registry, tiny_fitted, expressions
):
    X, _ = expressions
    clf = load_pretrained("tiny")
    assert isinstance(clf, FERVGGClassifier)
    assert clf.get_params()["block_filters"] == (4, 8)
    assert clf.precision == "float32"
    np.testing.assert_array_equal(clf.classes_, tiny_fitted.classes_)
    # float16 weights: close to, not equal to, the float32 network
    np.testing.assert_allclose(
        clf.predict_proba(X[:50]), tiny_fitted.predict_proba(X[:50]), atol=2e-2
    )
    assert (clf.predict(X[:50]) == tiny_fitted.predict(X[:50])).mean() > 0.9
    assert list_pretrained()["tiny"]["public_test_accuracy"] == 0.5


def test_pretrained_can_be_saved_and_refitted(registry, expressions, tmp_path):
    from skfer import load_model

    X, y = expressions
    clf = load_pretrained("tiny")
    save_model(clf, tmp_path / "m.joblib")
    again = load_model(tmp_path / "m.joblib")
    np.testing.assert_allclose(again.predict_proba(X[:5]), clf.predict_proba(X[:5]))
    assert clf.fit(X[:200], y[:200]).n_iter_ == 1


def test_unknown_name_lists_the_available_ones(registry):
    with pytest.raises(ValueError, match=r"Unknown pretrained network 'vgg'.*'tiny'"):
        load_pretrained("vgg")


def test_damaged_weights_file_is_refused(registry):
    card = json.loads(registry.read_text())
    npz = registry.parent / card["weights_file"]
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is damaged: its SHA-256 is"):
        load_pretrained("tiny")


def test_local_weights_must_fit_the_network(registry, tmp_path):
    card = json.loads(registry.read_text())
    with np.load(registry.parent / card["weights_file"]) as npz:
        arrays = dict(npz)
    key = next(k for k in arrays if k.endswith("kernel"))
    bad_shape = {**arrays, key: np.zeros((1, 2), np.float16)}
    np.savez(tmp_path / "shape.npz", **bad_shape)
    with pytest.raises(ValueError, match=f"holds {key} of shape"):
        load_pretrained("tiny", weights=tmp_path / "shape.npz")
    np.savez(tmp_path / "missing.npz", **{k: arrays[k] for k in list(arrays)[1:]})
    with pytest.raises(ValueError, match="does not fit FERVGGClassifier"):
        load_pretrained("tiny", weights=tmp_path / "missing.npz")
    nan = {**arrays, key: np.full_like(arrays[key], np.nan)}
    np.savez(tmp_path / "nan.npz", **nan)
    with pytest.raises(ValueError, match="non-finite"):
        load_pretrained("tiny", weights=tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read the weights file"):
        load_pretrained("tiny", weights=tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="weights file not found"):
        load_pretrained("tiny", weights=tmp_path / "nowhere.npz")


@pytest.mark.parametrize(
    "cls, params",
    [
        ("FERResNetClassifier", {"stage_filters": (4, 8)}),
        (
            "FERDenseNetClassifier",
            {"stem_filters": 4, "block_layers": (2, 2), "growth_rate": 4},
        ),
    ],
)
def test_a_packaged_network_loads_as_its_class(
    tmp_path, monkeypatch, expressions, cls, params
):
    """Packaging is not VGG-only: the card names the class it rebuilds."""
    import skfer

    X, y = expressions
    fitted = getattr(skfer, cls)(epochs=1, random_state=0, **params).fit(X, y)
    _package(fitted, tmp_path, "tiny-net", {"public_test_accuracy": 0.4})
    monkeypatch.setattr(pretrained, "_WEIGHTS_DIR", tmp_path)
    clf = load_pretrained("tiny-net")
    assert type(clf).__name__ == cls
    assert {k: clf.get_params()[k] for k in params} == params
    np.testing.assert_allclose(
        clf.predict_proba(X[:50]), fitted.predict_proba(X[:50]), atol=2e-2
    )


def test_a_card_outside_the_package_loads_by_its_path(
    tmp_path, tiny_fitted, expressions
):
    """benchmarks/models keeps ensemble members as cards: load them by path."""
    X, _ = expressions
    card = _package(tiny_fitted, tmp_path / "models", "member", {})
    clf = load_pretrained(card)  # a pathlib.Path
    assert isinstance(clf, FERVGGClassifier)
    np.testing.assert_allclose(
        clf.predict_proba(X[:20]), tiny_fitted.predict_proba(X[:20]), atol=2e-2
    )
    assert isinstance(load_pretrained(str(card)), FERVGGClassifier)
    # the card's weights file is checked as the shipped one is
    npz = card.parent / json.loads(card.read_text())["weights_file"]
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"is damaged.*package the network again"):
        load_pretrained(card)
    npz.unlink()
    with pytest.raises(ValueError, match="weights file of 'member' is missing"):
        load_pretrained(card)


def test_a_bad_card_is_refused_with_its_problem(tmp_path, tiny_fitted):
    card_path = _package(tiny_fitted, tmp_path, "member", {})
    card = json.loads(card_path.read_text())
    with pytest.raises(ValueError, match="card not found"):
        load_pretrained(tmp_path / "nowhere.json")
    (tmp_path / "broken.json").write_text('{\n "name": "x",\n oops\n}')
    with pytest.raises(ValueError, match=r"broken.json is not valid JSON \(line 3"):
        load_pretrained(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="holds list, not an object"):
        load_pretrained(tmp_path / "list.json")
    partial = {k: v for k, v in card.items() if k not in ("sha256", "classes")}
    (tmp_path / "partial.json").write_text(json.dumps(partial))
    with pytest.raises(ValueError, match="lacks classes, sha256"):
        load_pretrained(tmp_path / "partial.json")
    (tmp_path / "alien.json").write_text(json.dumps({**card, "estimator": "SVC"}))
    with pytest.raises(ValueError, match="names estimator 'SVC'"):
        load_pretrained(tmp_path / "alien.json")
