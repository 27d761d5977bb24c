"""Tests for skfer.datasets.make_expressions (fast, no TensorFlow)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skfer.datasets import EMOTIONS, N_PIXELS, make_expressions

# No pose, lighting or noise: every face has the same geometry and exposure.
STILL = dict(shift=0.0, scale=0.0, rotation=0.0, lighting=0.0, noise=0.0)


@pytest.mark.parametrize("n_samples", [1, 7, 50])
@pytest.mark.parametrize("return_masks", [False, True])
def test_shapes_and_dtypes(n_samples, return_masks):
    out = make_expressions(n_samples, random_state=0, return_masks=return_masks)
    assert len(out) == (3 if return_masks else 2)
    X, y = out[:2]
    assert X.shape == (n_samples, N_PIXELS)
    assert X.dtype == np.uint8
    assert X.flags.c_contiguous
    assert y.shape == (n_samples,)
    assert y.dtype == np.int64
    assert set(np.unique(y)) <= set(range(len(EMOTIONS)))
    if return_masks:
        masks = out[2]
        assert masks.shape == (n_samples, N_PIXELS)
        assert masks.dtype == bool


def test_default_n_samples_and_pixel_range():
    X, y = make_expressions(random_state=0)
    assert X.shape == (700, N_PIXELS)
    np.testing.assert_array_equal(np.bincount(y), [100] * 7)
    # lighting and noise use most of the gray range, without saturating it all
    assert X.min() < 30 and X.max() > 225
    assert 0.0 < np.mean((X == 0) | (X == 255)) < 0.05


@settings(max_examples=25, deadline=None)
@given(n_samples=st.integers(1, 150), seed=st.integers(0, 2**31 - 1))
def test_labels_balanced_and_shuffled(n_samples, seed):
    _, y = make_expressions(n_samples, random_state=seed, noise=0.0)
    counts = np.bincount(y, minlength=7)
    assert counts.sum() == n_samples
    assert counts.max() - counts.min() <= 1


def test_labels_are_shuffled():
    _, y = make_expressions(700, random_state=0)
    assert not np.array_equal(y, np.arange(700) % 7)
    assert not np.array_equal(y, np.sort(y))


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_deterministic_given_random_state(seed):
    a = make_expressions(30, random_state=seed, return_masks=True)
    b = make_expressions(30, random_state=seed, return_masks=True)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)
    # a RandomState instance seeded the same way gives the same faces
    c = make_expressions(
        30, random_state=np.random.RandomState(seed), return_masks=True
    )
    np.testing.assert_array_equal(a[0], c[0])


def test_different_random_state_gives_different_faces():
    X0, y0, m0 = make_expressions(30, random_state=0, return_masks=True)
    X1, y1, m1 = make_expressions(30, random_state=1, return_masks=True)
    assert not np.array_equal(X0, X1)
    assert not np.array_equal(y0, y1)
    assert not np.array_equal(m0, m1)


def test_masks_cover_a_small_nonempty_part_of_each_face():
    _, _, masks = make_expressions(350, random_state=0, return_masks=True)
    fraction = masks.mean(axis=1)
    # about 13% of the image with the defaults (10% to 18% per face)
    assert fraction.min() > 0.05
    assert fraction.max() < 0.25
    assert 0.08 < fraction.mean() < 0.2


def test_masks_follow_the_face():
    _, _, still = make_expressions(20, random_state=0, return_masks=True, **STILL)
    # without pose variation every face has the same mask (up to jitter)
    assert np.mean(still != still[0]) < 0.03
    _, _, moved = make_expressions(20, random_state=0, return_masks=True)
    assert np.mean(moved != moved[0]) > 0.05


def test_still_faces_identical_outside_masks():
    # without pose, lighting and noise, every pixel outside the union of the
    # masks has exactly the same value in every face, whatever its class
    X, y, masks = make_expressions(140, random_state=0, return_masks=True, **STILL)
    outside = ~masks.any(axis=0)
    assert outside.mean() > 0.7
    assert np.all(X[:, outside] == X[0, outside])
    # ... while inside them, the classes differ
    means = np.stack([X[y == k].mean(axis=0) for k in range(7)])
    assert np.ptp(means[:, masks.any(axis=0)], axis=0).max() > 100


def test_class_means_differ_only_inside_masks():
    # With position, size and rotation fixed but lighting and noise on, a
    # one-way ANOVA per pixel: outside the masks, the between-class variance
    # of the mean faces is what sampling noise predicts (F ~ 1); inside, it is
    # orders of magnitude larger.
    X, y, masks = make_expressions(
        1050, shift=0.0, scale=0.0, rotation=0.0, random_state=0, return_masks=True
    )
    X = X.astype(np.float64)
    union = masks.any(axis=0)
    counts = np.bincount(y)
    means = np.stack([X[y == k].mean(axis=0) for k in range(7)])
    between = (counts[:, None] * (means - X.mean(axis=0)) ** 2).sum(axis=0) / 6
    within = sum(((X[y == k] - means[k]) ** 2).sum(axis=0) for k in range(7))
    f_stat = between / (within / (len(X) - 7))
    assert f_stat[~union].mean() < 3
    assert f_stat[~union].max() < 12
    assert np.median(f_stat[union]) > 30
    # in plain variance terms too
    var = means.var(axis=0)
    assert var[~union].mean() < 0.05 * var[union].mean()


@pytest.mark.parametrize(
    "knob, still_value",
    [("shift", 0.0), ("scale", 0.0), ("rotation", 0.0)],
)
def test_pose_knobs_move_the_face(knob, still_value):
    params = dict(STILL)
    _, _, still = make_expressions(
        50, random_state=0, return_masks=True, **{**params, knob: still_value}
    )
    _, _, posed = make_expressions(
        50,
        random_state=0,
        return_masks=True,
        **{**params, knob: {"shift": 5.0, "scale": 0.2, "rotation": 20.0}[knob]},
    )
    assert np.mean(posed != posed[0]) > 2 * np.mean(still != still[0])


def test_lighting_and_noise_change_pixels_outside_masks():
    kwargs = dict(random_state=0, return_masks=True)
    X, _, masks = make_expressions(50, **{**STILL, "lighting": 1.0}, **kwargs)
    outside = ~masks.any(axis=0)
    brightness = X[:, outside].mean(axis=1)
    assert brightness.std() > 5
    X, _, _ = make_expressions(50, **{**STILL, "noise": 0.1}, **kwargs)
    residual = X[:, outside].astype(float) - np.median(X[:, outside], axis=0)
    assert 15 < residual.std() < 35  # noise=0.1 is a std of 25.5 gray levels


def _template_oracle(X_test, templates, region, max_shift=6):
    """Nearest template by normalised correlation on ``region``, over shifts."""

    def normalise(a):
        a = a - a.mean(axis=-1, keepdims=True)
        return a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-6)

    t = normalise(templates[:, region].astype(np.float32))
    side = 48 + 2 * max_shift
    padded = np.pad(
        X_test.reshape(-1, 48, 48).astype(np.float32),
        ((0, 0), (max_shift, max_shift), (max_shift, max_shift)),
    ).reshape(len(X_test), -1)
    rows, cols = np.divmod(np.flatnonzero(region), 48)
    best = np.full((len(X_test), len(t)), -np.inf, dtype=np.float32)
    for dy in range(2 * max_shift + 1):
        for dx in range(2 * max_shift + 1):
            window = padded[:, (rows + dy) * side + cols + dx]
            np.maximum(best, normalise(window) @ t.T, out=best)
    return best.argmax(axis=1)


def test_linear_model_fails_where_a_template_oracle_succeeds():
    X, y = make_expressions(1400, random_state=1)
    X_train, X_test, y_train, y_test = X[:800], X[800:], y[:800], y[800:]
    # one BLAS thread: on a busy 2-core machine, more make lbfgs 10x slower
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may stop at max_iter
        linear = LogisticRegression().fit(X_train / 255.0, y_train)
    linear_acc = linear.score(X_test / 255.0, y_test)
    assert linear_acc < 0.7

    # the oracle knows where the class signal lives (the masks) and what each
    # expression looks like there, and searches over translations
    T, t_y, t_masks = make_expressions(70, random_state=2, return_masks=True, **STILL)
    templates = np.stack([T[t_y == k].mean(axis=0) for k in range(7)])
    oracle_acc = np.mean(_template_oracle(X_test, templates, t_masks.any(0)) == y_test)
    assert oracle_acc > 0.75
    assert oracle_acc > linear_acc + 0.2


@pytest.mark.parametrize(
    "kwargs, name, shown",
    [
        ({"n_samples": 0}, "n_samples", "0"),
        ({"n_samples": -3}, "n_samples", "-3"),
        ({"n_samples": 2.5}, "n_samples", "2.5"),
        ({"n_samples": "10"}, "n_samples", "'10'"),
        ({"n_samples": True}, "n_samples", "True"),
        ({"noise": -0.1}, "noise", "-0.1"),
        ({"noise": float("nan")}, "noise", "nan"),
        ({"noise": float("inf")}, "noise", "inf"),
        ({"noise": "loud"}, "noise", "'loud'"),
        ({"shift": -1}, "shift", "-1"),
        ({"shift": 13}, "shift", "13"),
        ({"scale": -0.1}, "scale", "-0.1"),
        ({"scale": 0.6}, "scale", "0.6"),
        ({"rotation": -5}, "rotation", "-5"),
        ({"rotation": 90}, "rotation", "90"),
        ({"lighting": -1}, "lighting", "-1"),
        ({"lighting": 2.5}, "lighting", "2.5"),
        ({"return_masks": "yes"}, "return_masks", "'yes'"),
        ({"random_state": "seed"}, "random_state", "'seed'"),
    ],
)
def test_invalid_arguments(kwargs, name, shown):
    pattern = rf"^{name} must .*Got {re.escape(shown)}(\.0)? instead\.$"
    with pytest.raises(ValueError, match=pattern):
        make_expressions(**kwargs)


@settings(max_examples=15, deadline=None)
@given(
    n_samples=st.integers(1, 40),
    noise=st.floats(0.0, 0.5),
    shift=st.floats(0.0, 12.0),
    scale=st.floats(0.0, 0.5),
    rotation=st.floats(0.0, 45.0),
    lighting=st.floats(0.0, 2.0),
)
def test_any_valid_knobs_give_valid_faces(
    n_samples, noise, shift, scale, rotation, lighting
):
    X, y, masks = make_expressions(
        n_samples,
        noise=noise,
        shift=shift,
        scale=scale,
        rotation=rotation,
        lighting=lighting,
        random_state=0,
        return_masks=True,
    )
    assert X.shape == masks.shape == (n_samples, N_PIXELS)
    assert y.shape == (n_samples,)
    assert masks.any(axis=1).all()
