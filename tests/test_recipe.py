"""The training-recipe pieces: label smoothing, cosine schedule, shifts, erasing,
affine warps, mixup, precision."""

import numpy as np
import pytest

from skfer import FERVGGClassifier, _recipe, flip_horizontal
from skfer._base import _make_dataset
from skfer._recipe import (
    CosineSchedule,
    SmoothedSparseCrossentropy,
    cpu_has_bfloat16,
    mixup_fn,
    precision_scope,
    random_affine_fn,
    random_erasing_fn,
    random_shift_fn,
    tta_views,
    view_indices,
    warn_if_bfloat16_is_emulated,
)


def test_smoothed_loss_matches_keras_categorical_with_smoothing():
    import keras

    rng = np.random.RandomState(0)
    logits = rng.randn(16, 7).astype(np.float32)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.randint(0, 7, size=16)
    ours = SmoothedSparseCrossentropy(0.1)(y, proba)
    theirs = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        np.eye(7)[y], proba
    )
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
    plain = keras.losses.SparseCategoricalCrossentropy()(y, proba)
    np.testing.assert_allclose(
        float(SmoothedSparseCrossentropy(0.0)(y, proba)), float(plain), rtol=1e-6
    )
    assert float(ours) != pytest.approx(float(plain))


def test_smoothed_loss_survives_keras_serialisation():
    import keras

    loss = SmoothedSparseCrossentropy(0.2)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SmoothedSparseCrossentropy)
    assert again.label_smoothing == 0.2


def test_cosine_schedule_warms_up_then_decays_to_zero():
    sched = CosineSchedule(1.0, total_steps=110, warmup_steps=10)
    rates = np.array([sched.rate(t) for t in range(120)])
    np.testing.assert_allclose(rates[:10], np.arange(1, 11) / 10)
    assert rates[10] == pytest.approx(1.0)
    assert rates[60] == pytest.approx(0.5)  # half-way down the cosine
    assert (np.diff(rates[10:110]) < 0).all()
    np.testing.assert_allclose(rates[110:], 0.0, atol=1e-12)


def test_random_shift_moves_each_face_by_its_own_offset():
    import tensorflow as tf

    # one bright pixel in the middle of each face: where it lands is the shift
    X = np.zeros((64, 2304), dtype=np.uint8)
    X[:, 24 * 48 + 24] = 255
    moved = random_shift_fn(3, seed=0)(tf.constant(X)).numpy()
    assert moved.shape == X.shape and moved.dtype == np.float32
    peaks = np.array([np.unravel_index(m.argmax(), (48, 48)) for m in moved])
    offsets = peaks - 24
    assert np.abs(offsets).max() <= 3
    assert len({tuple(o) for o in offsets}) > 5  # faces move differently
    np.testing.assert_allclose(moved.sum(axis=1), 255, rtol=0.05)  # nothing lost


def test_random_erasing_fills_one_rectangle_of_some_faces_with_their_mean():
    import tensorflow as tf

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(400, 2304)).astype(np.uint8)
    erase = random_erasing_fn(0.5)
    out = erase(tf.constant(X), tf.constant(7, tf.int64)).numpy()
    assert out.dtype == np.uint8
    changed = out != X
    hit = changed.any(axis=1)
    assert 0.4 < hit.mean() < 0.6  # about half the faces
    for face, orig, mask in zip(out[hit], X[hit], changed[hit], strict=True):
        rows, cols = np.nonzero(mask.reshape(48, 48))
        box = np.zeros((48, 48), dtype=bool)
        box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
        # one filled rectangle (a pixel already at the fill value may stay)
        assert (mask.reshape(48, 48) <= box).all() and mask.sum() > 0.9 * box.sum()
        assert 0.01 <= box.mean() <= 0.34
        np.testing.assert_array_equal(face.reshape(48, 48)[box], round(orig.mean()))
    again = erase(tf.constant(X), tf.constant(7, tf.int64)).numpy()
    np.testing.assert_array_equal(again, out)  # a key fixes the draw
    other = erase(tf.constant(X), tf.constant(8, tf.int64)).numpy()
    assert (other != out).any()
    floats = X.astype(np.float32)
    none = random_erasing_fn(0.0)(tf.constant(floats), tf.constant(7, tf.int64))
    np.testing.assert_array_equal(none.numpy(), floats)
    every = random_erasing_fn(1.0)(tf.constant(floats), tf.constant(7, tf.int64))
    assert (every.numpy() != floats).any(axis=1).all()


def test_mixup_blends_each_face_with_its_reversed_partner():
    import tensorflow as tf

    rng = np.random.RandomState(0)
    x = rng.rand(6, 5).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 2, 1, 0]]
    w = np.arange(1, 7, dtype=np.float32)
    mix = mixup_fn(0.4)
    key = tf.constant(5, tf.int64)
    xm, ym, wm = (t.numpy() for t in mix(tf.constant(x), tf.constant(y), w, key))
    # face 0 (class 0) is paired with face 5, and face 1 (class 1) with face
    # 4: pairs of one class keep their one-hot target
    np.testing.assert_allclose(ym, y, atol=1e-6)
    # read the draw from targets that name each face: face 0's own weight
    named = mix(tf.constant(x), tf.constant(np.eye(6, dtype=np.float32)), key)[1]
    lam = float(named.numpy()[0, 0])
    assert 0.0 < lam < 1.0
    assert named.numpy()[0, 5] == pytest.approx(1.0 - lam)
    np.testing.assert_allclose(xm, lam * x + (1 - lam) * x[::-1], rtol=1e-6)
    np.testing.assert_allclose(wm, lam * w + (1 - lam) * w[::-1], rtol=1e-6)
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)
    # two arguments without weights; the key fixes the draw
    again = mix(tf.constant(x), tf.constant(y), key)
    assert len(again) == 2
    np.testing.assert_array_equal(again[0].numpy(), xm)
    other = mix(tf.constant(x), tf.constant(y), tf.constant(6, tf.int64))[0]
    assert not np.allclose(other.numpy(), xm)
    # small alphas give weights near 0 or 1 (Beta(0.1, 0.1) is U-shaped)
    faces, names = tf.constant(x), tf.eye(6)
    draw = mixup_fn(0.1)
    lams = [
        float(draw(faces, names, tf.constant(k, tf.int64))[1][0, 0]) for k in range(200)
    ]
    assert np.mean([min(v, 1 - v) < 0.1 for v in lams]) > 0.5
    assert np.isfinite(lams).all()


def test_pipeline_mixes_after_casting_and_keeps_distributions():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(64, 2304)).astype(np.uint8)
    Y = np.eye(7, dtype=np.float32)[rng.randint(0, 7, 64)]
    ds = _make_dataset(
        X, Y, None, batch_size=16, shuffle=False, flip=False, seed=1, mixup=0.4
    )
    faces = np.concatenate([b[0].numpy() for b in ds])
    targets = np.concatenate([b[1].numpy() for b in ds])
    assert faces.dtype == np.float32 and (faces != X).any(axis=1).mean() > 0.5
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    assert ((targets > 0) & (targets < 1)).any(axis=1).mean() > 0.3  # mixtures
    again = np.concatenate([b[0].numpy() for b in ds])
    assert (again != faces).any()  # a new draw every epoch


def _bar_faces(n):
    # a horizontal bar 40 px long and 2 px thick through the centre
    bars = np.zeros((n, 48, 48), dtype=np.uint8)
    bars[:, 23:25, 4:44] = 255
    return bars.reshape(n, 2304)


def _bar_angle_and_length(face):
    rows, cols = np.nonzero(face.reshape(48, 48) > 127)
    slope = np.polyfit(cols, rows, 1)[0]
    return np.degrees(np.arctan(slope)), np.ptp(cols) + 1


def test_random_affine_identity_when_all_ranges_are_zero():
    import tensorflow as tf

    X = np.random.RandomState(0).randint(0, 256, size=(8, 2304)).astype(np.uint8)
    out = random_affine_fn(0, 0.0, 0.0)(tf.constant(X), tf.constant(3, tf.int64))
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), X, atol=1e-3)


def test_random_affine_rotates_within_range_and_differently_per_face():
    import tensorflow as tf

    X = _bar_faces(32)
    out = random_affine_fn(0, 20.0, 0.0)(tf.constant(X), tf.constant(5, tf.int64))
    angles = np.array([_bar_angle_and_length(f)[0] for f in out.numpy()])
    assert np.abs(angles).max() <= 21  # the bar turns by at most 20 degrees
    assert angles.std() > 5 and (angles > 3).any() and (angles < -3).any()
    # the centre stays put: rotation and zoom are about the face's centre
    centre = out.numpy().reshape(32, 48, 48)[:, 23:25, 23:25]
    assert (centre > 200).all()


def test_random_affine_zooms_within_range_and_shifts_within_range():
    import tensorflow as tf

    X = _bar_faces(32)
    out = random_affine_fn(0, 0.0, 0.2)(tf.constant(X), tf.constant(5, tf.int64))
    lengths = np.array([_bar_angle_and_length(f)[1] for f in out.numpy()])
    assert lengths.min() >= 0.8 * 40 - 2 and lengths.max() <= 1.2 * 40 + 2
    assert lengths.min() < 36 and lengths.max() > 44  # both ways
    dot = np.zeros((64, 2304), dtype=np.uint8)
    dot[:, 24 * 48 + 24] = 255
    moved = random_affine_fn(3, 0.0, 0.0)(tf.constant(dot), tf.constant(1, tf.int64))
    peaks = np.array([np.unravel_index(m.argmax(), (48, 48)) for m in moved.numpy()])
    assert np.abs(peaks - 24).max() <= 3
    assert len({tuple(p) for p in peaks}) > 5


def test_random_affine_key_fixes_the_draw():
    import tensorflow as tf

    X = _bar_faces(16)
    warp = random_affine_fn(2, 10.0, 0.1)
    a = warp(tf.constant(X), tf.constant(7, tf.int64)).numpy()
    np.testing.assert_array_equal(a, warp(tf.constant(X), tf.constant(7, tf.int64)))
    assert (a != warp(tf.constant(X), tf.constant(8, tf.int64)).numpy()).any()


@pytest.mark.parametrize(
    "augment",
    [{"shift": 4}, {"erase": 0.5}, {"rotation": 10.0}, {"shift": 2, "zoom": 0.1}],
)
def test_pipeline_augments_afresh_every_epoch_and_keeps_the_labels(augment):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(64, 2304)).astype(np.uint8)
    y = np.arange(64, dtype=np.int32)
    ds = _make_dataset(
        X, y, None, batch_size=16, shuffle=False, flip=False, seed=1, **augment
    )
    epoch1 = np.concatenate([b[0].numpy() for b in ds])
    epoch2 = np.concatenate([b[0].numpy() for b in ds])
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in ds]), y)
    assert (epoch1 != X).any(axis=1).mean() > 0.2
    assert (epoch1 != epoch2).any()
    plain = _make_dataset(X, y, None, batch_size=16, shuffle=False, flip=False, seed=1)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in plain]), X)


def test_precision_scope_builds_bfloat16_layers_and_restores_policy():
    import keras

    before = keras.config.dtype_policy().name
    with precision_scope("mixed_bfloat16"):
        layer = keras.layers.Dense(3)
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before


@pytest.fixture
def tiny_vgg():
    def make(**params):
        defaults = dict(
            block_filters=(8, 16),
            dense_units=(16,),
            epochs=3,
            batch_size=64,
            random_state=0,
        )
        return FERVGGClassifier(**{**defaults, **params})

    return make


def test_vgg_recipe_defaults_fit_and_log_learning_rate(expressions, tiny_vgg):
    X, y = expressions
    clf = tiny_vgg(warmup_epochs=1).fit(X, y)
    assert clf.n_iter_ == 3  # no early stopping by default
    assert clf.validation_indices_ is None  # trains on every face
    rates = clf.history_["learning_rate"]
    assert rates[0] == pytest.approx(2e-3)  # end of warm-up
    assert rates[0] > rates[1] > rates[2] >= 0
    assert isinstance(clf.model_.loss, SmoothedSparseCrossentropy)
    assert clf.model_.optimizer.__class__.__name__ == "AdamW"
    # tta on by default: the prediction is the mean of face and mirror
    clf.set_params(tta=False)
    p, m = clf.predict_proba(X[:4]), clf.predict_proba(flip_horizontal(X[:4]))
    clf.set_params(tta=True)
    np.testing.assert_allclose(clf.predict_proba(X[:4]), (p + m) / 2, atol=1e-6)


def _edge_shift(images, dy, dx):
    """Move (n, 48, 48) images dy down and dx right, repeating the edges."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)), mode="edge")
    return padded[:, 2 - dy : 50 - dy, 2 - dx : 50 - dx]


def test_tta_view_indices_mirror_and_shift_with_edges():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(3, 2304)).astype(np.uint8)
    images = X.reshape(3, 48, 48)
    rows, cols = view_indices(True, 0, 0)
    np.testing.assert_array_equal(
        images[:, rows][:, :, cols].reshape(3, -1), flip_horizontal(X)
    )
    for dy, dx in [(2, 0), (-2, 0), (0, 2), (0, -2)]:
        rows, cols = view_indices(False, dy, dx)
        np.testing.assert_array_equal(
            images[:, rows][:, :, cols], _edge_shift(images, dy, dx)
        )
    assert len(tta_views(False)) == 1
    assert tta_views(True) == tta_views("flip") == ((False, 0, 0), (True, 0, 0))
    views = tta_views("flip+shift")
    assert len(set(views)) == 10 and (True, -2, 0) in views


def test_flip_shift_tta_averages_ten_views(expressions, tiny_vgg):
    X, y = expressions
    clf = tiny_vgg(epochs=1, tta=False).fit(X, y)
    images = X[:5].reshape(5, 48, 48)
    expected = np.zeros((5, 7))
    for dy, dx in [(0, 0), (2, 0), (-2, 0), (0, 2), (0, -2)]:
        moved = _edge_shift(images, dy, dx).reshape(5, -1)
        expected += clf.predict_proba(moved) + clf.predict_proba(flip_horizontal(moved))
    clf.set_params(tta="flip+shift")
    np.testing.assert_allclose(clf.predict_proba(X[:5]), expected / 10, atol=1e-6)
    assert not np.allclose(
        clf.predict_proba(X[:5]), clf.set_params(tta="flip").predict_proba(X[:5])
    )


def test_tta_views_given_as_a_sequence_are_checked_and_normalised():
    assert tta_views([(True, 0, 0)]) == ((True, 0, 0),)
    assert tta_views([[np.bool_(False), np.int64(-3), 1]]) == ((False, -3, 1),)
    assert isinstance(tta_views([[np.bool_(False), np.int64(-3), 1]])[0][1], int)
    assert tta_views(list(tta_views("flip+shift"))) == tta_views("flip+shift")
    for bad, where in [
        ([(1, 0, 0)], "view 0"),  # mirrored must be a bool
        ([(True, 0, 0), (True, 24, 0)], "view 1"),  # a move of 24 leaves no face
        ([(True, 0)], "view 0"),
        ([(False, 0.5, 0)], "view 0"),
        ([(False, True, 0)], "view 0"),
    ]:
        with pytest.raises(ValueError, match=f"tta {where} must be .*Got"):
            tta_views(bad)
    with pytest.raises(ValueError, match="at least one view"):
        tta_views([])


def test_custom_tta_views_average_exactly_those_views(expressions, tiny_vgg):
    from sklearn.base import clone

    X, y = expressions
    clf = tiny_vgg(epochs=1, tta=False).fit(X, y)
    faces = X[:5]
    mirrored = clf.predict_proba(flip_horizontal(faces))
    # one view that is not the face itself: no shortcut to the plain face
    clf.set_params(tta=[(True, 0, 0)])
    np.testing.assert_allclose(clf.predict_proba(faces), mirrored, atol=1e-6)
    clf.set_params(tta=list(tta_views("flip+shift")))
    shifted = clf.predict_proba(faces)
    np.testing.assert_allclose(
        shifted, clf.set_params(tta="flip+shift").predict_proba(faces), atol=1e-6
    )
    views = [(False, 0, 0), (True, 1, -1)]
    assert clone(clf.set_params(tta=views)).get_params()["tta"] == views


@pytest.mark.parametrize("tta", ["shift", 2, None])
def test_bad_tta_is_refused_at_fit_and_predict(expressions, tiny_vgg, tta):
    X, y = expressions
    with pytest.raises(ValueError, match="tta must be True, False, one of"):
        tiny_vgg(tta=tta).fit(X, y)
    clf = tiny_vgg(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="tta must be True, False, one of"):
        clf.set_params(tta=tta).predict(X[:2])


def test_warm_start_fit_runs_a_new_curve(expressions, tiny_vgg):
    X, y = expressions
    clf = tiny_vgg(epochs=2, warmup_epochs=0, warm_start=True).fit(X, y)
    steps = int(clf.model_.optimizer.iterations)
    assert clf.history_["learning_rate"][-1] < 2e-3 / 50  # the curve's last step
    clf.fit(X, y)  # the same network, trained along a fresh curve
    assert int(clf.model_.optimizer.iterations) == 2 * steps
    assert clf.history_["learning_rate"][0] > 1e-4


def test_schedule_resumes_from_a_restored_optimizer_state():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1.0), loss="mse")
    sched = CosineSchedule(1.0, total_steps=100, warmup_steps=0, origin=0)
    sched.set_model(model)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(50)  # as restored from a checkpoint
    sched.on_train_batch_begin(0)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5)


def test_constant_rate_without_schedule(expressions, tiny_vgg):
    X, y = expressions
    clf = tiny_vgg(lr_schedule=None, learning_rate=5e-4, epochs=1).fit(X, y)
    assert "learning_rate" not in clf.history_
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(5e-4)


def test_mixed_bfloat16_network_predicts_close_to_its_float32_twin(
    expressions, tiny_vgg
):
    X, y = expressions
    clf = tiny_vgg(precision="mixed_bfloat16", epochs=1).fit(X, y)
    conv = clf.model_.get_layer("block1_conv1")
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    twin = tiny_vgg(epochs=1).fit(X, y)
    assert twin.model_.get_layer("block1_conv1").compute_dtype == "float32"
    twin.model_.set_weights(clf.model_.get_weights())
    np.testing.assert_allclose(
        clf.predict_proba(X[:32]), twin.predict_proba(X[:32]), atol=0.05
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"label_smoothing": 1.0}, r"label_smoothing must be in \[0, 1\)"),
        ({"lr_schedule": "step"}, "lr_schedule must be one of"),
        ({"warmup_epochs": -1}, "warmup_epochs must be an int >= 0"),
        ({"random_shift": 2.5}, "random_shift must be an int >= 0"),
        ({"random_shift": 24}, "random_shift must be < 24 pixels"),
        ({"random_erasing": 1.5}, r"random_erasing must be a probability in \[0, 1\]"),
        ({"random_erasing": "0.5"}, "random_erasing must be a probability"),
        ({"random_rotation": 180}, r"random_rotation must be a number in \[0, 180\)"),
        ({"random_rotation": -5}, "random_rotation must be a number"),
        ({"random_zoom": 1.0}, r"random_zoom must be a number in \[0, 1\)"),
        ({"random_zoom": True}, "random_zoom must be a number"),
        ({"mixup": -0.2}, "mixup must be a finite number >= 0"),
        ({"mixup": float("inf")}, "mixup must be a finite number >= 0"),
        ({"mixup": "0.2"}, "mixup must be a finite number >= 0"),
        ({"mixup": True}, "mixup must be a finite number >= 0"),
        ({"precision": "float16"}, "precision must be one of"),
        ({"convs_per_block": 0}, "convs_per_block must be an int >= 1"),
        ({"block_filters": (8,) * 6}, "at most 5 blocks"),
    ],
)
def test_bad_recipe_parameters_fail_in_fit(expressions, tiny_vgg, params, match):
    X, y = expressions
    clf = tiny_vgg(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_shift_needs_faces():
    from skfer import FERDNNClassifier

    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 10) * 255, np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match="random_shift > 0 needs 48x48 faces"):
        FERDNNClassifier(hidden_units=(8,), epochs=1, random_shift=2).fit(X, y)
    with pytest.raises(ValueError, match="random_erasing > 0 needs 48x48 faces"):
        FERDNNClassifier(hidden_units=(8,), epochs=1, random_erasing=0.5).fit(X, y)
    for name in ("random_rotation", "random_zoom"):
        with pytest.raises(ValueError, match=f"{name} > 0 needs 48x48 faces"):
            FERDNNClassifier(hidden_units=(8,), epochs=1, **{name: 0.1}).fit(X, y)


def test_resnet_trains_with_the_vgg_recipe_votes_and_saves(
    expressions, expressions_test, tiny_vgg, tmp_path
):
    from sklearn.base import clone
    from sklearn.ensemble import VotingClassifier

    from skfer import FERResNetClassifier, load_model, save_model

    X, y = expressions
    X_test, _ = expressions_test
    resnet = FERResNetClassifier(
        stage_filters=(8, 16), epochs=8, batch_size=64, warmup_epochs=1, random_state=0
    )
    assert clone(resnet).get_params() == resnet.get_params()
    resnet.fit(X, y)
    # it learns (the synthetic faces are slow to learn for any batch-norm
    # network with augmentation; FER2013 is benchmarks/accuracy.py's job)
    assert resnet.history_["loss"][-1] < resnet.history_["loss"][0]
    # the VGG's recipe: AdamW, smoothed loss, a decaying rate, mirror TTA
    assert resnet.model_.optimizer.__class__.__name__ == "AdamW"
    assert isinstance(resnet.model_.loss, SmoothedSparseCrossentropy)
    rates = resnet.history_["learning_rate"]
    assert rates[0] > rates[-1] >= 0
    assert resnet.validation_indices_ is None
    proba = resnet.predict_proba(X_test[:6])
    resnet.set_params(tta=False)
    p = resnet.predict_proba(X_test[:6])
    m = resnet.predict_proba(flip_horizontal(X_test[:6]))
    resnet.set_params(tta=True)
    np.testing.assert_allclose(proba, (p + m) / 2, atol=1e-6)
    # a member of a soft vote beside a VGG, and saved like any classifier
    vgg = tiny_vgg(epochs=1)
    vote = VotingClassifier([("vgg", vgg), ("resnet", clone(resnet))], voting="soft")
    vote.fit(X, y)
    members = [est.predict_proba(X_test[:6]) for est in vote.estimators_]
    np.testing.assert_allclose(
        vote.predict_proba(X_test[:6]), np.mean(members, axis=0), atol=1e-6
    )
    path = save_model(resnet, tmp_path / "resnet.joblib")
    np.testing.assert_array_equal(load_model(path).predict_proba(X_test[:6]), proba)


def test_densenet_trains_with_the_vgg_recipe_votes_and_saves(
    expressions, expressions_test, tmp_path
):
    from sklearn.base import clone
    from sklearn.ensemble import VotingClassifier

    from skfer import FERDenseNetClassifier, FERResNetClassifier, load_model, save_model

    X, y = expressions
    X_test, _ = expressions_test
    dense = FERDenseNetClassifier(
        stem_filters=8,
        block_layers=(2, 2),
        growth_rate=8,
        epochs=6,
        batch_size=64,
        warmup_epochs=1,
        random_state=0,
    )
    assert clone(dense).get_params() == dense.get_params()
    dense.fit(X, y)
    assert dense.history_["loss"][-1] < dense.history_["loss"][0]
    assert dense.model_.name == "fer_densenet"
    assert dense.model_.optimizer.__class__.__name__ == "AdamW"
    assert isinstance(dense.model_.loss, SmoothedSparseCrossentropy)
    proba = dense.predict_proba(X_test[:6])
    dense.set_params(tta=False)
    p = dense.predict_proba(X_test[:6])
    m = dense.predict_proba(flip_horizontal(X_test[:6]))
    dense.set_params(tta=True)
    np.testing.assert_allclose(proba, (p + m) / 2, atol=1e-6)
    # the third family in a soft vote, and saved like any classifier
    resnet = FERResNetClassifier(stage_filters=(4,), epochs=1, random_state=0)
    vote = VotingClassifier(
        [("resnet", resnet), ("densenet", clone(dense).set_params(epochs=1))],
        voting="soft",
    )
    vote.fit(X, y)
    members = [est.predict_proba(X_test[:6]) for est in vote.estimators_]
    np.testing.assert_allclose(
        vote.predict_proba(X_test[:6]), np.mean(members, axis=0), atol=1e-6
    )
    path = save_model(dense, tmp_path / "densenet.joblib")
    np.testing.assert_array_equal(load_model(path).predict_proba(X_test[:6]), proba)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"block_layers": (2,) * 5}, "at most 4 blocks"),
        ({"compression": 0}, r"compression must be in \(0, 1\]"),
        ({"growth_rate": -1}, "growth_rate must be an int >= 1"),
    ],
)
def test_bad_densenet_parameters_fail_in_fit(expressions, params, match):
    from skfer import FERDenseNetClassifier

    X, y = expressions
    clf = FERDenseNetClassifier(epochs=1, **params)  # __init__ only stores them
    assert clf.get_params()[next(iter(params))] == next(iter(params.values()))
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 fma\n", True),
        ("processor\t: 0\nflags\t\t: fpu amx_tile amx_bf16 avx2\n", True),
        ("processor\t: 0\nflags\t\t: fpu avx avx2 fma\n", False),
        ("processor\t: 0\nFeatures\t: fp asimd bf16\n", None),  # not x86
    ],
)
def test_cpu_has_bfloat16_reads_the_cpu_flags(tmp_path, text, expected):
    info = tmp_path / "cpuinfo"
    info.write_text(text)
    assert cpu_has_bfloat16(str(info)) is expected
    assert cpu_has_bfloat16(str(tmp_path / "missing")) is None


def test_emulated_bfloat16_warns_only_for_mixed_bfloat16(monkeypatch):
    import warnings

    monkeypatch.setattr(_recipe, "cpu_has_bfloat16", lambda: False)
    with pytest.warns(UserWarning, match="emulates bfloat16.*precision='float32'"):
        assert warn_if_bfloat16_is_emulated("mixed_bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_bfloat16_is_emulated("float32")
        for known in (True, None):  # native, or unknown: no warning
            monkeypatch.setattr(_recipe, "cpu_has_bfloat16", lambda k=known: k)
            assert not warn_if_bfloat16_is_emulated("mixed_bfloat16")


def test_fit_warns_before_training_in_emulated_bfloat16(monkeypatch, expressions):
    X, y = expressions
    monkeypatch.setattr(_recipe, "cpu_has_bfloat16", lambda: False)
    clf = FERVGGClassifier(precision="mixed_bfloat16", epochs=1)
    # the warning comes first; the bad soft targets then stop the fit at once
    with pytest.warns(UserWarning, match="emulates bfloat16") as record:
        with pytest.raises(ValueError, match="soft_targets"):
            clf.fit(X, y, soft_targets=np.zeros((1, 7)))
    assert record[0].filename == __file__  # it points at the caller's fit
    with pytest.warns(UserWarning, match="emulates bfloat16"):
        with pytest.raises(ValueError):  # partial_fit warns too
            clf.partial_fit(X[:, :10], y)
