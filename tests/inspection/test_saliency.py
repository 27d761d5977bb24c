"""Saliency maps: shapes, targets, batching, faithfulness and sanity checks."""

import inspect

import numpy as np
import pytest
from scipy.stats import rankdata

from skfer import MirrorSampler
from skfer.inspection import SaliencyExplainer, mask_low_saliency, saliency_maps

METHODS = ["gradient", "smoothgrad", "gradcam"]
FAST = {"n_samples": 4}  # SmoothGrad copies in the quick tests


# --------------------------------------------------------------------------
# Statistics of the faithfulness and randomisation tests


def mass_ratio(maps, masks):
    """Mean over faces of (saliency share inside the mask) / (mask's pixel share)."""
    flat = maps.reshape(len(maps), -1).astype(float)
    inside = (flat * masks).sum(axis=1) / flat.sum(axis=1)
    return float(np.mean(inside / masks.mean(axis=1)))


def delete_top(X, maps, fraction=0.1):
    """Replace each face's top ``fraction`` pixels by ``maps`` with its mean grey."""
    flat = maps.reshape(len(maps), -1)
    k = round(fraction * flat.shape[1])
    top = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    out = X.astype(np.float32)
    out[np.arange(len(X))[:, None], top] = out.mean(axis=1, keepdims=True)
    return out


def rank_correlation(a, b):
    """Per-face Spearman correlation of two sets of maps, averaged."""
    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    return float(np.mean(np.where(den > 0, (ra * rb).sum(axis=1) / den, 1.0)))


def input_edges(X):
    """A map that ignores the model: the face's gradient magnitude (an edge map)."""
    img = X.reshape(-1, 48, 48).astype(float)
    return np.abs(np.gradient(img, axis=1)) + np.abs(np.gradient(img, axis=2))


# --------------------------------------------------------------------------
# Shapes, methods, targets


@pytest.mark.parametrize("method", METHODS)
def test_maps_are_single_channel_faces(trained_cnn, faces, method):
    maps = saliency_maps(trained_cnn, faces, method=method, random_state=0, **FAST)
    assert maps.shape == (8, 48, 48)
    assert maps.dtype == np.float32
    assert np.all(maps >= 0) and np.all(np.isfinite(maps))
    assert maps.reshape(8, -1).std(axis=1).min() > 0  # not constant


def test_images_and_flat_rows_give_the_same_maps(trained_cnn, faces):
    flat = saliency_maps(trained_cnn, faces)
    images = faces.reshape(8, 48, 48)
    np.testing.assert_array_equal(saliency_maps(trained_cnn, images), flat)
    one = saliency_maps(trained_cnn, faces[0])  # batch of 1: other rounding
    np.testing.assert_allclose(one[0], flat[0], rtol=1e-3, atol=1e-8)


def test_gradient_is_of_the_logit(trained_cnn, faces):
    """|d logit / d pixel|, checked by central differences on one face."""
    from skfer._tf import keras

    model = trained_cnn.model_
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    x = faces[:1].astype(np.float32)
    maps = saliency_maps(trained_cnn, x, target=3).reshape(-1)
    pixels = np.argsort(-maps)[:5]  # the most salient pixels: largest signal
    h = 0.5
    bumped = np.repeat(x, 2 * len(pixels), axis=0)
    for i, p in enumerate(pixels):
        bumped[2 * i, p] += h
        bumped[2 * i + 1, p] -= h
    out = logits.predict(bumped, verbose=0)[:, 3]
    numeric = np.abs(out[0::2] - out[1::2]) / (2 * h)
    np.testing.assert_allclose(numeric, maps[pixels], rtol=0.1)


def test_targets(trained_cnn, faces):
    predicted = trained_cnn.predict(faces)
    by_default = saliency_maps(trained_cnn, faces)
    np.testing.assert_allclose(
        saliency_maps(trained_cnn, faces, target=predicted), by_default
    )
    happy = saliency_maps(trained_cnn, faces, target=3)
    np.testing.assert_allclose(saliency_maps(trained_cnn, faces, target="happy"), happy)
    assert not np.allclose(happy, saliency_maps(trained_cnn, faces, target=5))
    explainer = SaliencyExplainer(trained_cnn)
    _, targets, pred = explainer.explain(faces, target=[0] * 8)
    np.testing.assert_array_equal(targets, np.zeros(8))
    np.testing.assert_array_equal(pred, predicted)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"target": 7}, "target 7 is not a class"),
        ({"target": "joy"}, "Unknown expression class name 'joy'"),
        ({"target": [1, 2]}, r"shape \(n_samples,\) = \(8,\)"),
        ({"target": [9] * 8}, "target holds 9"),
        ({"method": "lime"}, "method must be one of"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"n_samples": 0}, "n_samples must be an int >= 1"),
        ({"noise": -1.0}, "noise must be a float >= 0"),
        ({"method": "gradcam", "layer": "dense1"}, "needs a layer with a spatial map"),
        (
            {"method": "gradcam", "layer": "conv9"},
            "No layer named 'conv9'.*'conv6_act'",
        ),
    ],
)
def test_saliency_maps_validation(trained_cnn, faces, params, match):
    with pytest.raises(ValueError, match=match):
        saliency_maps(trained_cnn, faces, **params)


def test_gradcam_refuses_a_layer_without_spatial_map(trained_cnn, trained_dnn, faces):
    with pytest.raises(ValueError, match="layer 'flatten' has output shape") as err:
        SaliencyExplainer(trained_cnn, method="gradcam", layer="flatten")
    assert "'conv6_act'" in str(err.value)  # the valid choices are listed
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        SaliencyExplainer(trained_dnn, method="gradcam")


def test_gradcam_layer_by_index(trained_cnn, faces):
    index = [layer.name for layer in trained_cnn.model_.layers].index("conv3_act")
    by_index = saliency_maps(trained_cnn, faces, method="gradcam", layer=index)
    by_name = saliency_maps(trained_cnn, faces, method="gradcam", layer="conv3_act")
    np.testing.assert_array_equal(by_index, by_name)


@pytest.mark.parametrize("method", ["gradient", "smoothgrad"])
def test_dnn_maps(trained_dnn, faces, method):
    maps = saliency_maps(trained_dnn, faces, method=method, random_state=0, **FAST)
    assert maps.shape == (8, 48, 48) and np.all(maps >= 0)


def test_smoothgrad_is_seeded(trained_cnn, faces):
    a = saliency_maps(trained_cnn, faces, method="smoothgrad", random_state=1, **FAST)
    b = saliency_maps(trained_cnn, faces, method="smoothgrad", random_state=1, **FAST)
    c = saliency_maps(trained_cnn, faces, method="smoothgrad", random_state=2, **FAST)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_pipeline_with_mirror_sampler(mirror_pipeline, faces):
    pipe = mirror_pipeline
    assert isinstance(pipe[0], MirrorSampler)
    for method in ("gradient", "gradcam"):
        np.testing.assert_array_equal(
            saliency_maps(pipe, faces, method=method),
            saliency_maps(pipe[-1], faces, method=method),
        )


# --------------------------------------------------------------------------
# Batching: build once, call many


def test_one_call_per_batch_and_one_trace(trained_cnn, expressions, monkeypatch):
    X = np.tile(expressions[0], (2, 1))[:1000]
    explainer = SaliencyExplainer(trained_cnn, batch_size=128)
    compiled = explainer._batch_fn
    calls = []

    def counting(*args):
        calls.append(len(args[0]))
        return compiled(*args)

    monkeypatch.setattr(explainer, "_batch_fn", counting)
    maps = explainer(X)
    assert maps.shape == (1000, 48, 48)
    assert len(calls) == 8  # ceil(1000 / 128), not 1000
    assert sum(calls) == 1000
    explainer(X[:300])
    assert compiled.experimental_get_tracing_count() == 1  # never retraced
    # a batch gives the same maps as faces one at a time
    one_by_one = np.concatenate([explainer(X[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(maps[:3], one_by_one, rtol=1e-4, atol=1e-6)


def test_smoothgrad_batches_faces_with_their_noisy_copies(trained_cnn, faces):
    explainer = SaliencyExplainer(
        trained_cnn, method="smoothgrad", n_samples=4, batch_size=20
    )
    calls = []
    compiled = explainer._batch_fn
    explainer._batch_fn = lambda *a: calls.append(len(a[0])) or compiled(*a)
    explainer(np.tile(faces, (5, 1)))  # 40 faces, 4 per call (5 evaluations each)
    assert calls == [4] * 10


# --------------------------------------------------------------------------
# Masking


def test_mask_low_saliency():
    rng = np.random.RandomState(0)
    X = rng.randint(1, 256, size=(3, 2304)).astype(np.uint8)
    maps = rng.rand(3, 48, 48)
    masked = mask_low_saliency(X, maps, percentile=90)
    assert masked.shape == (3, 48, 48)
    kept = masked.reshape(3, -1) > 0
    np.testing.assert_allclose(kept.mean(axis=1), 0.1, atol=1 / 2304)
    top = maps.reshape(3, -1) >= np.percentile(maps.reshape(3, -1), 90, axis=1)[:, None]
    np.testing.assert_array_equal(kept, top)
    np.testing.assert_array_equal(masked.reshape(3, -1)[kept], X[kept])
    assert np.all(mask_low_saliency(X, maps, 0) == X.reshape(3, 48, 48))
    assert np.all(mask_low_saliency(X, maps, 100, fill=7).reshape(3, -1)[~top] == 7)
    with pytest.raises(ValueError, match=r"percentile must be in \[0, 100\]"):
        mask_low_saliency(X, maps, 101)
    with pytest.raises(ValueError, match=r"maps must have shape \(3, 48, 48\)"):
        mask_low_saliency(X, maps[:2])


# --------------------------------------------------------------------------
# Faithfulness on make_expressions, whose class signal lives in known masks

MASS_RATIO_MIN = 1.75  # saliency share in the signal regions / their pixel share
DELETION_MARGIN = 0.2  # accuracy lost beyond deleting a random 10%

FAITHFUL = [
    ("gradient", None),
    ("smoothgrad", None),
    ("gradcam", "conv3_act"),  # see test_gradcam_last_layer_is_coarse
]


def _deletion_gap(clf, X, y, maps, rng):
    """Accuracy after deleting a random 10% minus after deleting the top 10%."""
    random_maps = rng.rand(*maps.shape)
    acc_random = np.mean(clf.predict(delete_top(X, random_maps)) == y)
    acc_salient = np.mean(clf.predict(delete_top(X, maps)) == y)
    return acc_random - acc_salient


@pytest.mark.parametrize("method, layer", FAITHFUL)
def test_saliency_is_faithful(trained_cnn, faces_with_masks, method, layer):
    X, y, masks = (a[:200] for a in faces_with_masks)
    maps = saliency_maps(
        trained_cnn,
        X,
        target=y,
        method=method,
        layer=layer,
        n_samples=8,
        random_state=0,
    )
    # 1. the saliency mass sits in the regions that carry the class signal
    assert mass_ratio(maps, masks) > MASS_RATIO_MIN
    # 2. deleting the most salient 10% hurts far more than a random 10%
    rng = np.random.RandomState(0)
    assert _deletion_gap(trained_cnn, X, y, maps, rng) > DELETION_MARGIN

    # Negative controls: broken saliency maps fail both thresholds.
    random_maps = np.random.RandomState(1).rand(*maps.shape)
    constant_maps = np.ones_like(maps)
    for broken in (random_maps, constant_maps):
        assert mass_ratio(broken, masks) < 1.1
        assert _deletion_gap(trained_cnn, X, y, broken, rng) < DELETION_MARGIN / 2
    assert mass_ratio(input_edges(X), masks) < MASS_RATIO_MIN  # edges, no model


def test_gradcam_last_layer_is_coarse(trained_cnn, faces_with_masks):
    """Documents a limit: at conv6 (10x10) the tiny CNN's Grad-CAM does not localise."""
    X, y, masks = faces_with_masks
    maps = saliency_maps(trained_cnn, X[:100], target=y[:100], method="gradcam")
    assert mass_ratio(maps, masks[:100]) < MASS_RATIO_MIN


# --------------------------------------------------------------------------
# Sanity: model randomisation (Adebayo et al., 2018)

RANK_CORRELATION_MAX = 0.5  # trained vs re-initialised network, per face


@pytest.fixture(scope="module")
def randomised_cnn(trained_cnn):
    """The trained CNN's architecture with freshly initialised weights."""
    from skfer._tf import keras

    model = keras.models.clone_model(trained_cnn.model_)
    trained, fresh = trained_cnn.model_.get_weights(), model.get_weights()
    assert not np.allclose(trained[1], fresh[1])  # conv1's kernel changed
    return model


@pytest.mark.parametrize("method", ["gradient", "gradcam"])
def test_model_randomisation(trained_cnn, randomised_cnn, faces_with_masks, method):
    X, y, _ = faces_with_masks
    X, y = X[:100], y[:100]
    trained = saliency_maps(trained_cnn, X, target=y, method=method)
    randomised = saliency_maps(randomised_cnn, X, target=y, method=method)
    assert rank_correlation(trained, randomised) < RANK_CORRELATION_MAX

    # Negative controls, which fail the same threshold: a map that ignores the
    # weights (the face's edges), and gradient x input, which the input dominates.
    edges = input_edges(X)
    assert rank_correlation(edges, edges) > 0.99
    if method == "gradient":
        faces = X.reshape(-1, 48, 48)
        assert rank_correlation(trained * faces, randomised * faces) > (
            RANK_CORRELATION_MAX
        )


def test_default_method_passes_the_randomisation_check():
    # SmoothGrad's maps correlate ~0.7 with those of the randomised network on
    # the tiny CNN (measured), so it is not the default.
    assert inspect.signature(saliency_maps).parameters["method"].default == "gradient"
    assert inspect.signature(SaliencyExplainer).parameters["method"].default == (
        "gradient"
    )


@pytest.mark.parametrize("method", METHODS)
def test_networks_taking_faces_in_0_1(faces, method):
    """rescale=1.0 networks take X / 255; the maps follow by the chain rule."""
    from skfer.architectures import build_cnn

    kw = {"conv_filters": (4,) * 6, "dense_units": (8,), "seed": 0}
    raw, unit = build_cnn(**kw), build_cnn(rescale=1.0, **kw)
    common = {"method": method, "target": 3, "random_state": 0, **FAST}
    maps_raw = saliency_maps(raw, faces, **common)
    maps_unit = saliency_maps(unit, faces / 255.0, **common)
    scale = 1.0 if method == "gradcam" else 255.0  # Grad-CAM: no input gradient
    np.testing.assert_allclose(maps_unit, scale * maps_raw, rtol=2e-3, atol=1e-6)


def test_vgg_maps_and_filters(expressions, faces):
    """The inspection tools work on the VGG's batch-normalised layers too."""
    from skfer import FERVGGClassifier
    from skfer.inspection import filter_patterns
    from skfer.inspection._model import spatial_layers

    X, y = expressions
    vgg = FERVGGClassifier(
        block_filters=(4, 8), dense_units=(8,), epochs=1, random_state=0
    ).fit(X, y)
    assert "block2_conv2_act" in spatial_layers(vgg.model_)
    for method, kw in [("gradient", {}), ("gradcam", {"layer": "block2_conv2_act"})]:
        maps = saliency_maps(vgg, faces[:3], method=method, **kw)
        assert maps.shape == (3, 48, 48) and np.isfinite(maps).all()
        assert maps.std() > 0
    patterns, _ = filter_patterns(vgg, "block1_conv1_act", filters=[0, 1], steps=5)
    assert patterns.shape[0] == 2


@pytest.mark.parametrize(
    "cls, params, layer",
    [
        ("FERResNetClassifier", {"stage_filters": (4, 8)}, "stage2_block1_conv2_act"),
        (
            "FERDenseNetClassifier",
            {"stem_filters": 4, "block_layers": (2, 2), "growth_rate": 4},
            "final_act",
        ),
    ],
)
def test_maps_and_filters_default_to_the_last_block(
    expressions, faces, cls, params, layer
):
    """Grad-CAM and filter patterns pick the last block's output, never a
    shortcut (ResNet) or a pre-activation (DenseNet)."""
    import skfer
    from skfer.inspection import FilterDisplay

    X, y = expressions
    clf = getattr(skfer, cls)(epochs=1, random_state=0, **params).fit(X, y)
    maps = saliency_maps(clf, faces[:3], method="gradcam")
    assert maps.shape == (3, 48, 48) and np.isfinite(maps).all() and maps.std() > 0
    disp = FilterDisplay.from_estimator(clf, filters=[0, 1], steps=5)
    assert disp.layer == layer
    assert disp.patterns.shape[0] == 2
