import gc
import weakref

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils.class_weight import compute_sample_weight

from skfer import FERCNNClassifier, FERDNNClassifier, flip_horizontal
from skfer._base import _make_dataset


def test_tags_make_them_classifiers(tiny_cnn, tiny_dnn):
    for clf in (tiny_cnn(), tiny_dnn()):
        assert is_classifier(clf)
        y = np.repeat([0, 1, 2], 10)
        assert isinstance(
            check_cv(3, y, classifier=is_classifier(clf)), StratifiedKFold
        )


def test_get_params_clone_round_trip():
    clf = FERCNNClassifier(conv_filters=(4, 4, 4, 4, 4, 4), epochs=3, random_state=7)
    params = clf.get_params()
    assert params["conv_filters"] == (4, 4, 4, 4, 4, 4)
    assert params["epochs"] == 3 and params["random_state"] == 7
    assert "model" not in params and "loss" not in params
    twin = clone(clf)
    assert twin.get_params() == params
    routed = FERCNNClassifier(optimizer__beta_1=0.8)
    assert clone(routed).get_params()["optimizer__beta_1"] == 0.8


def test_fit_predict_and_history(expressions, tiny_cnn):
    X, y = expressions
    clf = tiny_cnn(epochs=3).fit(X, y)
    proba = clf.predict_proba(X[:10])
    assert proba.shape == (10, 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.predict(X[:10]).shape == (10,)
    assert clf.predict_proba(X[:1]).shape == (1, 7)  # scikeras would squeeze it
    assert clf.predict(X[:1]).shape == (1,)
    assert set(clf.history_) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(clf.history_["loss"]) == clf.n_iter_ == 3
    assert clf.n_features_in_ == 2304
    np.testing.assert_array_equal(clf.classes_, np.arange(7))


def test_learns_synthetic_expressions(expressions, expressions_test, tiny_cnn, learner):
    X, y = expressions
    clf = tiny_cnn(**learner).fit(X, y)
    X_test, y_test = expressions_test
    assert clf.score(X_test, y_test) > 0.8  # chance is 1/7


def test_input_layouts_give_same_predictions(expressions, tiny_cnn):
    X, y = expressions
    clf = tiny_cnn().fit(X, y)
    reference = clf.predict_proba(X[:8])
    for variant in (
        X[:8].astype(np.float64),
        X[:8].astype(np.float32),
        X[:8].reshape(8, 48, 48),
        X[:8].reshape(8, 48, 48, 1),
        X[:8].tolist(),
    ):
        np.testing.assert_allclose(clf.predict_proba(variant), reference, atol=1e-6)


def test_predictions_do_not_depend_on_order_or_batch(expressions, tiny_cnn, tiny_dnn):
    # scikit-learn's own order/subset checks ask for rtol 1e-7, float64-level;
    # a float32 network meets float32 tolerance (see test_estimator_checks.py)
    X, y = expressions
    rng = np.random.RandomState(0)
    for clf in (tiny_cnn().fit(X, y), tiny_dnn().fit(X, y)):
        faces = X[:300]  # more than one prediction batch of 256
        proba = clf.predict_proba(faces)
        order = rng.permutation(len(faces))
        np.testing.assert_allclose(
            clf.predict_proba(faces[order]), proba[order], rtol=1e-5, atol=1e-6
        )
        by_face = np.concatenate([clf.predict_proba(f[None]) for f in faces[:20]])
        np.testing.assert_allclose(by_face, proba[:20], rtol=1e-5, atol=1e-6)
        predicted = clf.predict(faces)
        np.testing.assert_array_equal(clf.predict(faces[order]), predicted[order])


def test_same_seed_same_predictions_other_seed_differs(expressions, tiny_cnn):
    X, y = expressions
    kw = {"random_flip": True, "epochs": 2}
    a = tiny_cnn(random_state=3, **kw).fit(X, y).predict_proba(X[:20])
    b = tiny_cnn(random_state=3, **kw).fit(X, y).predict_proba(X[:20])
    c = tiny_cnn(random_state=4, **kw).fit(X, y).predict_proba(X[:20])
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4


def test_same_seed_same_network_whatever_the_global_tf_seed(expressions, tiny_cnn):
    # tf.data's seeded shuffle/random mix in TensorFlow's global seed; a fit
    # must not depend on whether other code in the process had set it
    import keras
    import tensorflow as tf

    X, y = expressions
    kw = {"random_flip": True, "random_shift": 2, "random_erasing": 0.5, "epochs": 2}
    kw["random_state"] = 3
    a = tiny_cnn(**kw).fit(X, y).predict_proba(X[:20])
    try:
        for set_seed in (tf.random.set_seed, keras.utils.set_random_seed):
            set_seed(123)
            b = tiny_cnn(**kw).fit(X, y).predict_proba(X[:20])
            np.testing.assert_array_equal(a, b)
    finally:
        tf.random.set_seed(None)


def test_random_erasing_changes_training_not_prediction(expressions, tiny_dnn):
    X, y = expressions
    plain = tiny_dnn().fit(X, y)
    erased = tiny_dnn(random_erasing=0.5).fit(X, y)
    assert not np.allclose(erased.predict_proba(X[:20]), plain.predict_proba(X[:20]))
    # the predictions themselves are not erased: they are repeatable
    np.testing.assert_array_equal(
        erased.predict_proba(X[:20]), erased.predict_proba(X[:20])
    )


def test_mixup_changes_training_and_stays_seeded(expressions, tiny_dnn):
    X, y = expressions
    plain = tiny_dnn(random_state=0).fit(X, y).predict_proba(X[:20])
    kw = {"mixup": 0.2, "random_state": 0}
    mixed = tiny_dnn(**kw).fit(X, y)
    assert not np.allclose(mixed.predict_proba(X[:20]), plain)
    np.testing.assert_array_equal(
        tiny_dnn(**kw).fit(X, y).predict_proba(X[:20]), mixed.predict_proba(X[:20])
    )
    # the targets became distributions: the loss is the categorical one
    assert mixed.model_._skfer_soft_targets
    assert type(mixed.model_.loss).__name__ == "CategoricalCrossentropy"


def test_mixup_learns_with_early_stopping_weights_and_soft_targets(
    expressions, expressions_test, tiny_cnn, learner
):
    X, y = expressions
    soft = np.full((len(y), 7), 0.1 / 6)
    soft[np.arange(len(y)), y] = 0.9
    learner.update(patience=3, validation_fraction=0.2)
    clf = tiny_cnn(**learner, mixup=0.2, class_weight="balanced")
    clf.fit(X, y, soft_targets=soft)
    assert len(clf.history_["val_loss"]) == clf.n_iter_
    assert np.isfinite(clf.history_["loss"]).all()
    assert clf.score(*expressions_test) > 0.6  # chance is 1/7


def test_rotation_and_zoom_change_training_and_stay_seeded(expressions, tiny_dnn):
    X, y = expressions
    plain = tiny_dnn(random_state=0).fit(X, y).predict_proba(X[:20])
    kw = {"random_rotation": 10.0, "random_zoom": 0.1, "random_state": 0}
    warped = tiny_dnn(**kw).fit(X, y).predict_proba(X[:20])
    assert not np.allclose(warped, plain)
    np.testing.assert_array_equal(
        tiny_dnn(**kw).fit(X, y).predict_proba(X[:20]), warped
    )


def test_early_stopping_stops_and_restores(expressions, tiny_dnn):
    X, _ = expressions
    y = np.random.RandomState(0).randint(0, 3, len(X))  # nothing to learn
    clf = tiny_dnn(epochs=40, patience=1, learning_rate=3e-3).fit(X, y)
    assert clf.n_iter_ < 40
    best = int(np.argmin(clf.history_["val_loss"]))
    assert clf.n_iter_ - 1 - best == 1  # stopped `patience` epochs after the best


def test_patience_none_trains_all_epochs(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(epochs=4, patience=None).fit(X, y)
    assert clf.n_iter_ == 4


def test_validation_data_instead_of_fraction(expressions, expressions_test, tiny_dnn):
    X, y = expressions
    X_val, y_val = expressions_test
    clf = tiny_dnn().fit(X, y, validation_data=(X_val, y_val))
    assert clf.validation_indices_ is None
    assert "val_loss" in clf.history_
    with pytest.raises(ValueError, match=r"labels \[9\] that were not seen"):
        tiny_dnn().fit(X, y, validation_data=(X_val, np.full(len(X_val), 9)))


def test_validation_split_is_stratified_and_disjoint(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(validation_fraction=0.2).fit(X, y)
    val = clf.validation_indices_
    assert 0.15 * len(X) < len(val) <= 0.2 * len(X)
    counts = np.bincount(y[val], minlength=7)
    assert counts.min() >= 0.6 * counts.max()


def test_zero_validation_fraction_trains_on_everything(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(validation_fraction=0.0).fit(X, y)
    assert clf.validation_indices_ is None
    assert "val_loss" not in clf.history_


def test_class_weight_balanced_weights(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(class_weight="balanced")
    clf.fit(X, y)
    y_enc = np.searchsorted(clf.classes_, y)
    sw = np.linspace(0.5, 2.0, len(y))
    np.testing.assert_allclose(
        clf._sample_weights(y_enc, sw), sw * compute_sample_weight("balanced", y)
    )
    with pytest.raises(ValueError, match=r"keys \[42\] that are not classes"):
        tiny_dnn(class_weight={42: 2.0}).fit(X, y)


def _minority_data(expressions):
    X, y = expressions
    rng = np.random.RandomState(0)
    keep = (y != 1) | (rng.rand(len(y)) < 0.1)  # Disgust becomes rare
    return X[keep], y[keep]


def test_class_weight_makes_rare_class_predicted(
    expressions, expressions_test, tiny_cnn, learner
):
    X, y = _minority_data(expressions)
    X_test, _ = expressions_test
    plain = tiny_cnn(**learner).fit(X, y).predict(X_test)
    balanced = tiny_cnn(class_weight="balanced", **learner).fit(X, y).predict(X_test)
    assert (balanced == 1).sum() > (plain == 1).sum()


def test_sample_weight_zero_hides_a_class(expressions, tiny_cnn, learner):
    X, y = expressions
    sw = np.where(y == 3, 0.0, 1.0)
    weighted = tiny_cnn(**learner).fit(X, y, sample_weight=sw).predict(X)
    plain = tiny_cnn(**learner).fit(X, y).predict(X)
    assert (weighted == 3).sum() < (plain == 3).sum()


def test_tta_averages_face_and_mirror(expressions, tiny_cnn):
    X, y = expressions
    clf = tiny_cnn().fit(X, y)
    p, p_mirror = clf.predict_proba(X[:6]), clf.predict_proba(flip_horizontal(X[:6]))
    clf.set_params(tta=True)
    np.testing.assert_allclose(clf.predict_proba(X[:6]), (p + p_mirror) / 2, atol=1e-6)


def test_input_pipeline_flips_some_faces_and_keeps_labels():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(64, 2304)).astype(np.uint8)
    y = np.arange(64, dtype=np.int32)
    batches = list(
        _make_dataset(X, y, None, batch_size=16, shuffle=True, flip=True, seed=1)
    )
    Xo = np.concatenate([b[0].numpy() for b in batches])
    yo = np.concatenate([b[1].numpy() for b in batches])
    assert Xo.dtype == np.float32
    assert sorted(yo.tolist()) == y.tolist()  # shuffled, nothing lost
    same = (Xo == X[yo]).all(axis=1)
    mirrored = (Xo == flip_horizontal(X[yo])).all(axis=1)
    assert (same | mirrored).all()
    assert 10 < mirrored.sum() < 54
    plain = _make_dataset(X, y, None, batch_size=16, shuffle=False, flip=False, seed=1)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in plain]), X)


def test_refit_releases_previous_network(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(epochs=1).fit(X, y)
    old = weakref.ref(clf.model_)
    clf.fit(X, y)
    gc.collect()
    assert old() is None


def test_other_fitted_models_survive_a_new_fit(expressions, tiny_cnn, tiny_dnn):
    X, y = expressions
    first = tiny_cnn(epochs=1).fit(X, y)
    before = first.predict_proba(X[:5])
    tiny_dnn(epochs=1).fit(X, y)  # clears Keras's global session
    np.testing.assert_array_equal(first.predict_proba(X[:5]), before)


def test_keras_native_save(expressions, tiny_cnn, tmp_path):
    import keras

    X, y = expressions
    clf = tiny_cnn().fit(X, y)
    clf.model_.save(tmp_path / "net.keras")
    net = keras.models.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(
        net.predict(X[:4].astype(np.float32), verbose=0),
        clf.predict_proba(X[:4]),
        atol=1e-6,
    )


def test_dnn_accepts_any_width_cnn_needs_faces():
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 10) * 255, np.repeat([0, 1], 20)
    dnn = FERDNNClassifier(hidden_units=(8,), epochs=1, random_state=0).fit(X, y)
    assert dnn.predict(X).shape == (40,)
    with pytest.raises(ValueError, match=r"n_features must be 2304. Got 10 instead"):
        FERCNNClassifier(epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "make_X, make_y, error, match",
    [
        (lambda X: X[:, :2300], None, ValueError, "n_features must be 2304. Got 2300"),
        (
            lambda X: X.reshape(-1, 2, 1152),
            None,
            ValueError,
            r"Got shape \(\d+, 2, 1152",
        ),
        (lambda X: np.where(np.arange(2304) == 5, np.nan, X), None, ValueError, "NaN"),
        (None, lambda y: np.zeros_like(y), ValueError, "at least 2 classes"),
        (None, lambda y: y[:-1], ValueError, "inconsistent numbers of samples"),
        (None, lambda y: y + 0.5, ValueError, "Unknown label type"),
        (None, lambda y: np.c_[y, y], ValueError, "y must be 1-D"),
    ],
)
def test_fit_rejects_bad_input(expressions, tiny_cnn, make_X, make_y, error, match):
    X, y = expressions
    X = make_X(X) if make_X else X
    y = make_y(y) if make_y else y
    with pytest.raises(error, match=match):
        tiny_cnn().fit(X, y)


def test_predict_rejects_bad_input(expressions, tiny_cnn):
    X, y = expressions
    with pytest.raises(NotFittedError, match="not fitted yet"):
        tiny_cnn().predict(X)
    clf = tiny_cnn().fit(X, y)
    with pytest.raises(ValueError, match="X has 2300 features, but FERCNNClassifier"):
        clf.predict(X[:, :2300])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an int >= 1"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be in \[0, 1\)"),
        ({"patience": -1}, "patience must be None or an int >= 0"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
        ({"optimizer": "adamm"}, "Unknown optimizer 'adamm'"),
        ({"class_weight": "balance"}, "class_weight must be None, 'balanced'"),
        ({"random_state": "0"}, "random_state must be None, an int"),
    ],
)
def test_bad_hyper_parameters_fail_in_fit_not_init(
    expressions, tiny_cnn, params, match
):
    X, y = expressions
    clf = tiny_cnn(**params)  # constructing never validates
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_unknown_fit_argument_suggests_the_right_one(expressions, tiny_cnn):
    X, y = expressions
    with pytest.raises(TypeError, match="'validation_dat' \\(did you mean"):
        tiny_cnn().fit(X, y, validation_dat=(X, y))


def test_routed_optimizer_parameters_reach_the_optimizer(expressions, tiny_dnn):
    X, y = expressions
    clf = tiny_dnn(epochs=1, optimizer="adam", optimizer__beta_1=0.8).fit(X, y)
    assert clf.model_.optimizer.beta_1 == pytest.approx(0.8)
    assert clf.model_.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_predicting_changes_no_attribute_and_keeps_no_network_alive(
    expressions, tiny_dnn
):
    X, y = expressions
    clf = tiny_dnn(epochs=1).fit(X, y)
    before = set(vars(clf))
    clf.predict_proba(X[:5])
    assert set(vars(clf)) == before
    old = weakref.ref(clf.model_)
    clf.fit(X, y)
    clf.predict(X[:5])
    gc.collect()
    assert old() is None


def test_one_hot_soft_targets_train_the_same_network(expressions, tiny_dnn):
    X, y = expressions
    plain = tiny_dnn(label_smoothing=0.1).fit(X, y)
    soft = tiny_dnn(label_smoothing=0.1).fit(X, y, soft_targets=np.eye(7)[y])
    np.testing.assert_allclose(
        soft.predict_proba(X[:20]), plain.predict_proba(X[:20]), atol=1e-5
    )


def test_soft_targets_are_learned_and_validation_scored_on_labels(
    expressions, tiny_cnn, learner
):
    X, y = expressions
    shifted = (y + 1) % 7  # targets that contradict the labels
    clf = tiny_cnn(**{**learner, "validation_fraction": 0.2, "patience": None})
    clf.fit(X, y, soft_targets=np.eye(7)[shifted])
    train = np.setdiff1d(np.arange(len(y)), clf.validation_indices_)
    assert np.mean(clf.predict(X[train]) == shifted[train]) > 0.8
    assert clf.history_["accuracy"][-1] > 0.8  # against the targets
    assert clf.history_["val_accuracy"][-1] < 0.2  # against the labels
    # a warm-started fit on the labels recompiles for them and unlearns it
    clf.set_params(warm_start=True, validation_fraction=0.0)
    clf.fit(X, y)
    assert np.mean(clf.predict(X) == y) > 0.8


def test_soft_targets_are_split_with_the_faces_by_cross_validation(
    expressions, tiny_dnn
):
    from sklearn.model_selection import KFold, cross_val_predict

    X, y = expressions
    cv = KFold(2, shuffle=True, random_state=0)
    plain = cross_val_predict(tiny_dnn(), X, y, cv=cv, method="predict_proba")
    soft = cross_val_predict(
        tiny_dnn(), X, y, cv=cv, method="predict_proba",
        params={"soft_targets": np.eye(7)[y]},
    )  # fmt: skip
    # each fold's network saw its own faces' rows, so one-hot rows train
    # exactly the networks the labels do
    np.testing.assert_allclose(soft, plain, atol=1e-5)


@pytest.mark.parametrize(
    "make_soft, match",
    [
        (lambda y: np.eye(7)[y][:-1], r"shape \(699, 7\); expected .*\(700, 7\)"),
        (lambda y: np.eye(6)[y % 6], r"shape \(700, 6\); expected .*\(700, 7\)"),
        (lambda y: np.full((len(y), 7), 0.2), r"row 0 is \[0\.2, .*sum to 1"),
        (
            lambda y: np.where(np.arange(len(y))[:, None] == 5, np.nan, np.eye(7)[y]),
            r"row 5 is \[nan",
        ),
        (
            lambda y: np.eye(7)[y] * np.where(np.arange(len(y)) == 3, -1, 1)[:, None],
            r"row 3 .*non-negative",
        ),
    ],
)
def test_bad_soft_targets_are_refused_and_lose_nothing(
    expressions, tiny_dnn, make_soft, match
):
    X, y = expressions
    clf = tiny_dnn().fit(X, y)
    before = clf.predict_proba(X[:5])
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, soft_targets=make_soft(y))
    np.testing.assert_array_equal(clf.predict_proba(X[:5]), before)
