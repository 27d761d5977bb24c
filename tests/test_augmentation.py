import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate

import skfer._base
from skfer import MirrorSampler, flip_horizontal
from skfer.augmentation import mirror_groups


def _faces(n, seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=(n, 2304)).astype(np.uint8)


def test_flip_is_a_left_right_mirror_and_an_involution():
    X = _faces(3)
    flipped = flip_horizontal(X)
    np.testing.assert_array_equal(
        flipped.reshape(3, 48, 48), X.reshape(3, 48, 48)[:, :, ::-1]
    )
    np.testing.assert_array_equal(flip_horizontal(flipped), X)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2304\)"):
        flip_horizontal(X[:, :100])


def test_add_mode_appends_mirrors_after_originals():
    X, y = _faces(5), np.arange(5)
    w = np.linspace(1, 2, 5)
    X_res, y_res, w_res = MirrorSampler().fit_resample(X, y, sample_weight=w)
    np.testing.assert_array_equal(X_res[:5], X)
    np.testing.assert_array_equal(X_res[5:], flip_horizontal(X))
    np.testing.assert_array_equal(y_res, np.r_[y, y])
    np.testing.assert_array_equal(w_res, np.r_[w, w])
    assert X_res.dtype == np.uint8


def test_random_mode_mirrors_about_p_seeded():
    X, y = _faces(400), np.zeros(400, dtype=int)
    a, _ = MirrorSampler(mode="random", p=0.3, random_state=0).fit_resample(X, y)
    b, _ = MirrorSampler(mode="random", p=0.3, random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    mirrored = (a == flip_horizontal(X)).all(axis=1)
    assert (mirrored | (a == X).all(axis=1)).all()
    assert 0.2 < mirrored.mean() < 0.4


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({"mode": "double"}, _faces(2), "mode must be 'add' or 'random'"),
        ({"p": 1.5}, _faces(2), r"p must be in \[0, 1\]"),
        ({}, np.zeros((2, 100)), "n_features must be 2304. Got 100"),
        ({}, np.full((2, 2304), np.nan), "NaN"),
    ],
)
def test_sampler_rejects_bad_input(params, X, match):
    with pytest.raises(ValueError, match=match):
        MirrorSampler(**params).fit_resample(X, [0, 1])


def test_mirror_groups_pairs_mirrors_and_duplicates():
    X = _faces(4)
    groups = mirror_groups(np.vstack([X, flip_horizontal(X), X[:1]]))
    assert groups.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0]


def test_sampler_is_skipped_at_predict_time():
    X, y = _faces(6), np.array([0, 1, 0, 1, 0, 1])
    pipe = make_pipeline(MirrorSampler(), _Recorder()).fit(X, y)
    recorder = pipe[-1]
    assert len(recorder.fit_X_) == 12
    pipe.predict(X)
    assert len(recorder.predict_X_) == 6


class _Recorder(DummyClassifier):
    """Records the faces each fit and predict sees."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_ = np.asarray(X).copy()
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        self.predict_X_ = np.asarray(X).copy()
        return super().predict(X)


def _rows(X):
    return {row.tobytes() for row in np.asarray(X)}


def test_no_leakage_into_cross_validation_folds(expressions):
    X, y = expressions
    X, y = X[:140], y[:140]
    pipe = make_pipeline(MirrorSampler(), _Recorder(strategy="prior"))
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    result = cross_validate(
        pipe, X, y, cv=cv, return_estimator=True, return_indices=True
    )
    for est, test_idx in zip(
        result["estimator"], result["indices"]["test"], strict=True
    ):
        seen_in_fit = _rows(est[-1].fit_X_)
        assert len(est[-1].fit_X_) == 2 * (len(X) - len(test_idx))  # train doubled
        test_faces = X[test_idx]
        assert not _rows(test_faces) & seen_in_fit
        assert not _rows(flip_horizontal(test_faces)) & seen_in_fit


def test_no_leakage_into_the_early_stopping_split(expressions, tiny_cnn, monkeypatch):
    """Record what the network trains and validates on, after mirroring."""
    X, y = expressions
    seen = []
    real = skfer._base._make_dataset

    def recording(X_, y_, w_, **kw):
        seen.append(np.array(X_))
        return real(X_, y_, w_, **kw)

    monkeypatch.setattr(skfer._base, "_make_dataset", recording)
    pipe = make_pipeline(MirrorSampler(), tiny_cnn(validation_fraction=0.2, epochs=1))
    pipe.fit(X, y)
    train, val = seen
    assert len(val) > 0.15 * len(X)
    # every validation face is an original face, never a mirror added by the step
    assert _rows(val) <= _rows(X)
    # ... and neither it nor its mirror is trained on
    assert not _rows(val) & _rows(train)
    assert not _rows(flip_horizontal(val)) & _rows(train)
    # the rest of the doubled set is trained on: originals and mirrors alike
    assert len(train) == 2 * (len(X) - len(val))


def test_naive_split_would_leak(expressions):
    """Negative control: Keras's validation_split on the mirrored set leaks."""
    X, y = expressions
    X_aug, _ = MirrorSampler().fit_resample(X, y)
    rng = np.random.RandomState(0)
    perm = rng.permutation(len(X_aug))
    val, train = X_aug[perm[:200]], X_aug[perm[200:]]
    leaked = _rows(flip_horizontal(val)) & _rows(train)
    assert len(leaked) > 100
