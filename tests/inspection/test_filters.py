"""Filter patterns by gradient ascent, and FilterDisplay."""

import inspect

import numpy as np
import pytest

from skfer.inspection import FilterDisplay, filter_patterns, layer_activations


def roughness(images):
    """Mean absolute difference of neighbouring pixels over the image's std."""
    images = np.asarray(images, dtype=float)
    diffs = np.abs(np.diff(images, axis=1)).mean(axis=(1, 2)) + np.abs(
        np.diff(images, axis=2)
    ).mean(axis=(1, 2))
    return diffs / images.std(axis=(1, 2))


def start_images(n, seed=0):
    """The ascent's starting points: mid-grey plus noise of std 8, seeded."""
    rng = np.random.RandomState(seed)
    return np.clip(128.0 + 8.0 * rng.standard_normal((n, 2304)), 0, 255)


def test_default_is_200_seeded_steps():
    params = inspect.signature(filter_patterns).parameters
    assert params["steps"].default == 200
    assert params["random_state"].default == 0
    params = inspect.signature(FilterDisplay.from_estimator).parameters
    assert params["steps"].default == 200


def test_patterns_raise_activation_and_are_not_noise(trained_cnn):
    patterns, reached = filter_patterns(trained_cnn, "conv6_act", filters=4)
    assert patterns.shape == (4, 48, 48) and reached.shape == (4,)
    assert patterns.min() >= 0 and patterns.max() <= 255
    # the ascent raised every filter's mean activation well above its start
    start = layer_activations(trained_cnn, start_images(4), "conv6_act")
    at_start = start.mean(axis=(1, 2))[np.arange(4), np.arange(4)]
    assert np.all(reached > at_start + 0.5)
    # the reported activation is the filter's mean activation on the pattern
    again = layer_activations(trained_cnn, patterns, "conv6_act").mean(axis=(1, 2))
    np.testing.assert_allclose(reached, again[np.arange(4), np.arange(4)], rtol=1e-4)
    # regularised: far smoother than noise; a plain ascent (negative control,
    # no blur and no decay) fails the same threshold
    threshold = 0.6 * roughness(np.random.RandomState(0).rand(4, 48, 48)).min()
    assert roughness(patterns).max() < threshold
    plain, _ = filter_patterns(
        trained_cnn, "conv6_act", filters=4, blur_every=0, decay=0
    )
    assert roughness(plain).min() > threshold
    assert patterns.std(axis=(1, 2)).min() > 5  # and not a flat grey image


def test_patterns_are_reproducible(trained_cnn):
    kw = {"filters": [1, 3], "steps": 25}  # long enough for chaos to show
    a, act_a = filter_patterns(trained_cnn, "conv6_act", random_state=3, **kw)
    b, act_b = filter_patterns(trained_cnn, "conv6_act", random_state=3, **kw)
    c, _ = filter_patterns(trained_cnn, "conv6_act", random_state=4, **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(act_a, act_b)
    assert np.abs(a - c).max() > 1


def test_batches_give_the_same_patterns(trained_cnn):
    kw = {"filters": 3, "steps": 10}
    together, _ = filter_patterns(trained_cnn, "conv2_act", **kw)
    chunked, _ = filter_patterns(trained_cnn, "conv2_act", batch_size=2, **kw)
    np.testing.assert_allclose(together, chunked, atol=1e-3)


def test_dense_units_of_the_dnn(trained_dnn):
    patterns, reached = filter_patterns(trained_dnn, filters=3, steps=10)  # dense1_act
    assert patterns.shape == (3, 48, 48) and np.all(np.isfinite(reached))


def test_filter_display(trained_cnn, mirror_pipeline, pyplot):
    disp = FilterDisplay.from_estimator(trained_cnn, "conv4_act", filters=5, steps=5)
    assert disp.layer == "conv4_act"
    np.testing.assert_array_equal(disp.filters, np.arange(5))
    assert disp.ax_.shape == (2, 3)
    assert disp.figure_ is disp.ax_[0, 0].figure
    assert disp.ax_[0, 0].get_title() == f"#0: {disp.activations[0]:.3g}"
    assert not disp.ax_[1, 2].axison  # the unused cell
    # by index, on user axes, from a pipeline ending in a CNN
    fig, ax = pyplot.subplots(1, 2)
    index = [layer.name for layer in mirror_pipeline[-1].model_.layers].index("conv1")
    disp = FilterDisplay.from_estimator(
        mirror_pipeline, index, filters=[2, 5], steps=3, ax=ax, ncols=2
    )
    assert disp.layer == "conv1" and disp.figure_ is fig
    assert disp.ax_[0, 1].get_title().startswith("#5: ")
    # default layer: the last convolution
    disp = FilterDisplay.from_estimator(trained_cnn, filters=1, steps=2)
    assert disp.layer == "conv6_act"


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"layer": "conv7"}, ValueError, r"No layer named 'conv7'.*'conv6_act'"),
        ({"layer": 0}, ValueError, "must not be the input layer"),
        ({"filters": 17}, ValueError, "first 17 filters, but layer 'conv6_act' has 16"),
        ({"filters": [0, 16]}, ValueError, r"indices \[16\] are out of range"),
        ({"filters": [0.5]}, ValueError, "filters must be None, an int"),
        ({"steps": 0}, ValueError, "steps must be an int >= 1"),
        ({"decay": 1.0}, ValueError, r"decay must be in \[0, 1\)"),
        ({"blur_every": -1}, ValueError, "blur_every must be an int >= 0"),
        ({"step_size": 0}, ValueError, "step_size and blur_sigma must be > 0"),
        ({"ax": "one-axis"}, ValueError, r"draws on 4 axes \(2 x 2\)"),
    ],
)
def test_filter_display_validation(trained_cnn, pyplot, params, error, match):
    kw = {"filters": 4, "steps": 2, **params}
    if kw.get("ax") == "one-axis":
        kw["ax"] = pyplot.subplots()[1]
    with pytest.raises(error, match=match):
        FilterDisplay.from_estimator(trained_cnn, **kw)


def test_filter_display_plot_checks_lengths(pyplot):
    disp = FilterDisplay(np.zeros((3, 48, 48)), np.zeros(2))
    with pytest.raises(ValueError, match=r"same length\. Got 3 and 2"):
        disp.plot()


def test_networks_taking_faces_in_0_1(faces):
    """rescale=1.0 networks take X / 255: same patterns, in grey levels."""
    from skfer.architectures import build_cnn

    kw = {"conv_filters": (4,) * 6, "dense_units": (8,), "seed": 0}
    raw, unit = build_cnn(**kw), build_cnn(rescale=1.0, **kw)
    a, act_a = filter_patterns(raw, "conv2_act", steps=20)
    b, act_b = filter_patterns(unit, "conv2_act", steps=20)
    np.testing.assert_allclose(a, b, atol=1e-2)
    np.testing.assert_allclose(act_a, act_b, rtol=1e-4, atol=1e-6)
