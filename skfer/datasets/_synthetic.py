"""Synthetic cartoon faces whose expression lives only in mouth, eyes and brows.

:func:`make_expressions` draws 48x48 grayscale faces in FER2013's ``pixels``
layout. The seven classes share everything (face outline, skin, nose,
background, lighting model) except the shape of the mouth, the opening of the
eyes and the position and tilt of the brows, so a model has to look at those
regions, and a saliency map can be checked against the returned masks.

Faces are rasterised with vectorised numpy: each primitive (a quadratic
stroke, a region between two quadratics, an ellipse) is a signed-distance
field on the pixel grid, turned into a one-pixel anti-aliased coverage.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS

__all__ = ["make_expressions"]

_N_CLASSES = len(EMOTIONS)

# Faces are drawn in "face units": the face is the ellipse
# (u / 0.78) ** 2 + v ** 2 <= 1, with u to the right and v downwards.
_FACE_RADIUS_PX = 18.0  # pixels per face unit at scale 1
_FACE_AXES = (0.78, 1.0)

# Shared (class-independent) gray levels, before lighting.
_BACKGROUND = 70.0
_SKIN = 175.0
_NOSE = 120.0
_STROKE = 45.0  # brows, lips, eye outline
_MOUTH_INSIDE = 30.0
_SCLERA = 235.0
_PUPIL = 20.0

# Shared geometry of the class features (face units).
_EYE_U, _EYE_V, _EYE_RX = 0.33, -0.12, 0.13
_PUPIL_R = 0.055
_BROW_INNER, _BROW_OUTER = 0.12, 0.50  # |u| range of a brow
_BROW_HW = 0.045  # half-width of a brow stroke
_LIP_HW = 0.04  # half-width of a lip stroke
_EYE_HW = 0.025  # half-width of the eye outline

# One row per class (EMOTIONS order). Brows: v at the inner and outer end and
# an upward arch; eyes: vertical semi-axis of the eye opening; mouth: half
# width w and the upper and lower lip as quadratics v = c + b*u + a*u**2 over
# |u| <= w (a closed mouth has identical lips, an open one is filled between).
#              brow_in brow_out arch  eye_ry  w     up_c   up_b   up_a  lo_c  lo_b  lo_a
_CLASS_TABLE = np.array(
    [
        [-0.27, -0.43, 0.00, 0.045, 0.17, 0.55, 0.00, 0.00, 0.55, 0.00, 0.00],  # Angry
        [-0.30, -0.38, 0.00, 0.040, 0.26, 0.49, -0.25, 0.00, 0.58, 0.00, 0.60],  # Disg.
        [-0.55, -0.46, 0.02, 0.120, 0.30, 0.45, 0.00, 1.28, 0.59, 0.00, -0.28],  # Fear
        [-0.44, -0.44, 0.03, 0.060, 0.30, 0.61, 0.00, -2.2, 0.61, 0.00, -2.2],  # Happy
        [-0.52, -0.36, 0.00, 0.070, 0.26, 0.50, 0.00, 2.00, 0.50, 0.00, 2.00],  # Sad
        [-0.57, -0.57, 0.06, 0.130, 0.13, 0.40, 0.00, 8.88, 0.70, 0.00, -8.88],  # Surp.
        [-0.42, -0.42, 0.00, 0.075, 0.24, 0.55, 0.00, 0.00, 0.55, 0.00, 0.00],  # Neut.
    ],
    dtype=np.float32,
)

# Standard deviations of the per-face, class-independent expression jitter
# (same columns as _CLASS_TABLE; "relative" ones multiply the class value).
# The lower lip reuses the upper lip's draws (see _draw_nuisance).
_JITTER_ABS = np.array(
    [0.02, 0.02, 0.01, 0.0, 0.0, 0.015, 0.02, 0.0, 0.015, 0.02, 0.0],
    dtype=np.float32,
)
_JITTER_REL = np.array(
    [0.0, 0.0, 0.0, 0.08, 0.06, 0.0, 0.0, 0.12, 0.0, 0.0, 0.12],
    dtype=np.float32,
)

_CHUNK = 32  # faces rendered at once: small blocks stay in cache (fastest)


def make_expressions(
    n_samples: int = 700,
    *,
    noise: float = 0.1,
    shift: float = 5.0,
    scale: float = 0.1,
    rotation: float = 10.0,
    lighting: float = 1.0,
    random_state: int | np.random.RandomState | None = None,
    return_masks: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate synthetic 48x48 expression faces in FER2013's pixel layout.

    Every face is a cartoon with the same outline, skin, nose and background;
    the seven classes differ only in the mouth, eyes and brows:

    ========  ==================================================================
    Angry     lowered V-shaped brows, narrowed eyes, short tight mouth
    Disgust   lowered brows, squinted eyes, asymmetric raised upper lip (open)
    Fear      raised, inner-raised brows, wide eyes, stretched open mouth
    Happy     flat slightly arched brows, upturned mouth curve
    Sad       inner-raised brows, down-turned mouth curve
    Surprise  high arched brows, wide eyes, open round mouth
    Neutral   flat brows, straight mouth
    ========  ==================================================================

    On top of that each face gets class-independent nuisance: a random
    position, size and in-plane rotation, random lighting (gain, offset and a
    linear gradient across the image), a small jitter of the expression
    geometry, and Gaussian pixel noise. With the defaults a linear model on the
    raw pixels does poorly while a small convolutional network learns the task
    (see ``benchmarks/check_synthetic.py``).

    Parameters
    ----------
    n_samples : int, default=700
        Number of faces. Labels are balanced (class counts differ by at most
        one) and shuffled.
    noise : float, default=0.1
        Standard deviation of the additive Gaussian pixel noise, as a fraction
        of 255. Must be ``>= 0``.
    shift : float, default=5.0
        Maximum displacement of the face centre from the image centre along
        each axis, in pixels (uniform in ``[-shift, shift]``). Must be in
        ``[0, 12]``.
    scale : float, default=0.1
        Relative size jitter: the face size is multiplied by a factor uniform
        in ``[1 - scale, 1 + scale]``. Must be in ``[0, 0.5]``.
    rotation : float, default=10.0
        Maximum in-plane rotation of the face, in degrees (uniform in
        ``[-rotation, rotation]``). Must be in ``[0, 45]``.
    lighting : float, default=1.0
        Strength of the lighting variation: ``0`` gives every face the same
        exposure, ``1`` draws a gain in ``[0.7, 1.3]``, an offset in
        ``[-35, 35]`` gray levels and a linear gradient of up to 35 gray levels
        between the image centre and its border. Must be in ``[0, 2]``.
    random_state : int, RandomState instance or None, default=None
        Controls every random draw. Pass an int for reproducible output.
    return_masks : bool, default=False
        If True, also return the ground-truth regions of the class signal.

    Returns
    -------
    X : ndarray of shape (n_samples, 2304), dtype uint8
        The faces, each flattened row-major from 48x48 (FER2013's ``pixels``
        column layout).
    y : ndarray of shape (n_samples,), dtype int64
        The labels in ``0..6`` (see :data:`skfer.datasets.EMOTIONS`).
    masks : ndarray of shape (n_samples, 2304), dtype bool
        Only returned if ``return_masks=True``. True on the pixels that the
        brows, eyes or mouth of *any* of the seven expressions would cover in
        this face (given its position, size, rotation and jitter), i.e. where
        the class can be read; False everywhere else. With the defaults it
        covers roughly 13% of the image.

    Raises
    ------
    ValueError
        If a parameter is out of its range; the message names it and the value.

    Notes
    -----
    The masks are a superset of the pixels that differ between classes: they
    include the whole footprint of each feature, also where two expressions
    happen to draw the same thing. Everything outside them is, in
    distribution, identical for all classes.

    Examples
    --------
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(14, random_state=0)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((14, 2304), dtype('uint8'), (14,), dtype('int64'))
    >>> import numpy as np
    >>> np.bincount(y).tolist()
    [2, 2, 2, 2, 2, 2, 2]
    >>> X, y, masks = make_expressions(7, random_state=0, return_masks=True)
    >>> masks.shape, masks.dtype
    ((7, 2304), dtype('bool'))
    """
    n_samples = _check_n_samples(n_samples)
    noise = _check_range("noise", noise, 0.0, None)
    shift = _check_range("shift", shift, 0.0, 12.0)
    scale = _check_range("scale", scale, 0.0, 0.5)
    rotation = _check_range("rotation", rotation, 0.0, 45.0)
    lighting = _check_range("lighting", lighting, 0.0, 2.0)
    if not isinstance(return_masks, bool | np.bool_):
        raise ValueError(f"return_masks must be a bool. Got {return_masks!r} instead.")
    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int or a numpy RandomState. "
            f"Got {random_state!r} instead."
        ) from None

    y = np.arange(n_samples, dtype=np.int64) % _N_CLASSES
    y = y[rng.permutation(n_samples)]

    # All per-face parameters are drawn up front, so the output does not
    # depend on how the rendering is chunked.
    p = _draw_nuisance(n_samples, shift, scale, rotation, lighting, rng)
    # pixel noise comes from a Generator seeded by `rng`: float32 ziggurat
    # draws are several times faster than RandomState's
    noise_rng = np.random.default_rng(rng.randint(2**32, dtype=np.uint64))

    X = np.empty((n_samples, N_PIXELS), dtype=np.uint8)
    masks = np.empty((n_samples, N_PIXELS), dtype=bool) if return_masks else None
    for start in range(0, n_samples, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n_samples))
        chunk = {k: v[sl] for k, v in p.items()}
        u, v, px = _face_coordinates(chunk)
        img = _render(u, v, px, chunk, y[sl])
        img = _apply_lighting(img, chunk)
        if noise > 0:
            img += noise_rng.standard_normal(img.shape, dtype=np.float32) * (
                np.float32(noise * 255.0)
            )
        np.clip(img, 0.0, 255.0, out=img)
        X[sl] = np.rint(img).astype(np.uint8)
        if masks is not None:
            masks[sl] = _signal_mask(u, v, px, chunk)

    if masks is not None:
        return X, y, masks
    return X, y


# --------------------------------------------------------------------------
# validation


def _check_n_samples(n_samples: Any) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(
            f"n_samples must be an integer >= 1. Got {n_samples!r} instead."
        )
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1. Got {n_samples!r} instead.")
    return int(n_samples)


def _check_range(name: str, value: Any, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number. Got {value!r} instead.")
    value = float(value)
    if not np.isfinite(value) or value < low or (high is not None and value > high):
        expected = f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be {expected}. Got {value!r} instead.")
    return value


# --------------------------------------------------------------------------
# random draws


def _draw_nuisance(
    n: int,
    shift: float,
    scale: float,
    rotation: float,
    lighting: float,
    rng: np.random.RandomState,
) -> dict[str, np.ndarray]:
    """Per-face parameters of shape (n, 1), all independent of the label."""

    def uniform(half_width: float) -> np.ndarray:
        return rng.uniform(-half_width, half_width, size=(n, 1)).astype(np.float32)

    center = (IMAGE_SIDE - 1) / 2.0
    p = {
        "cx": center + uniform(shift),
        "cy": center + uniform(shift),
        "size": 1.0 + uniform(scale),
        "theta": np.deg2rad(uniform(rotation)),
        "gain": 1.0 + uniform(0.3 * lighting),
        "offset": uniform(35.0 * lighting),
        "grad": rng.uniform(0.0, 35.0 * lighting, size=(n, 1)).astype(np.float32),
        "grad_dir": rng.uniform(0.0, 2 * np.pi, size=(n, 1)).astype(np.float32),
    }
    z = rng.standard_normal(size=(n, _CLASS_TABLE.shape[1])).astype(np.float32)
    # both lips move, tilt and bend together, so a closed mouth stays closed
    z[:, 8:11] = z[:, 5:8]
    p["jitter_abs"] = z * _JITTER_ABS
    p["jitter_rel"] = 1.0 + np.clip(z, -2.5, 2.5) * _JITTER_REL
    return p


# --------------------------------------------------------------------------
# rasterisation


def _face_coordinates(
    p: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-unit coordinates (n, 2304) of every pixel, and pixels per unit."""
    rows, cols = np.divmod(np.arange(N_PIXELS, dtype=np.float32), IMAGE_SIDE)
    dx = cols[None, :] - p["cx"]
    dy = rows[None, :] - p["cy"]
    px = (_FACE_RADIUS_PX * p["size"]).astype(np.float32)  # (n, 1)
    cos, sin = np.cos(p["theta"]), np.sin(p["theta"])
    u = (cos * dx + sin * dy) / px
    v = (cos * dy - sin * dx) / px
    return u, v, px


def _coverage(signed_distance: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance in face units."""
    alpha = 0.5 - signed_distance * px
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def _paint(img: np.ndarray, alpha: np.ndarray, level: float) -> None:
    """img <- img * (1 - alpha) + level * alpha, in place."""
    img += alpha * (np.float32(level) - img)


def _ellipse_sd(x: np.ndarray, y: np.ndarray, rx: Any, ry: Any) -> np.ndarray:
    """First-order signed distance to the ellipse (x/rx)**2 + (y/ry)**2 = 1."""
    f = (x / rx) ** 2 + (y / ry) ** 2 - 1.0
    grad = 2.0 * np.sqrt((x / rx**2) ** 2 + (y / ry**2) ** 2) + 1e-6
    return f / grad


def _quad_distance(
    x: np.ndarray, y: np.ndarray, x0: Any, x1: Any, c: Any, b: Any, a: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the arc y = c + b*x + a*x**2 for x in [x0, x1].

    Returns the (approximate, first-order) unsigned distance and the signed
    vertical offset ``y - f(x)`` scaled the same way (positive below the arc).
    """
    xc = np.clip(x, x0, x1)
    slope = 2.0 * a * xc
    slope += b
    signed = y - (c + xc * (b + a * xc))
    slope *= slope
    slope += 1.0
    signed /= np.sqrt(slope, out=slope)
    xc -= x  # nonzero only beyond the end points
    xc *= xc
    dist = np.sqrt(xc + signed * signed, out=xc)
    return dist, signed


def _segment_distance(
    x: np.ndarray, y: np.ndarray, x0: float, x1: float, c: float
) -> np.ndarray:
    """Distance to the straight segment y = c for x in [x0, x1]."""
    xc = np.clip(x, x0, x1)
    xc -= x
    xc *= xc
    yc = y - c
    yc *= yc
    xc += yc
    return np.sqrt(xc, out=xc)


def _class_params(labels: np.ndarray, p: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per-face expression parameters (columns of _CLASS_TABLE), each (n, 1)."""
    table = _CLASS_TABLE[labels] * p["jitter_rel"] + p["jitter_abs"]
    return [table[:, [j]] for j in range(table.shape[1])]


def _features(
    u: np.ndarray, v: np.ndarray, px: np.ndarray, params: list[np.ndarray]
) -> list[tuple[np.ndarray, float]]:
    """Coverage and gray level of each class-dependent layer, in paint order."""
    brow_in, brow_out, arch, eye_ry, w, up_c, up_b, up_a, lo_c, lo_b, lo_a = params
    au = np.abs(u)  # both eyes and brows at once: the face is symmetric there

    # brows: a quadratic through (inner, brow_in), (outer, brow_out) whose
    # midpoint is raised by `arch`
    span = _BROW_OUTER - _BROW_INNER
    a = 4.0 * arch / span**2
    b = (brow_out - brow_in) / span - a * (_BROW_INNER + _BROW_OUTER)
    c = brow_in - b * _BROW_INNER - a * _BROW_INNER**2
    dist, _ = _quad_distance(au, v, _BROW_INNER, _BROW_OUTER, c, b, a)
    brows = _coverage(dist - _BROW_HW, px)

    # eyes: sclera ellipse, pupil clipped to it, thin outline
    ex, ey = au - _EYE_U, v - _EYE_V
    eye_sd = _ellipse_sd(ex, ey, _EYE_RX, eye_ry)
    sclera = _coverage(eye_sd, px)
    pupil = _coverage(np.sqrt(ex * ex + ey * ey) - _PUPIL_R, px) * sclera
    outline = _coverage(np.abs(eye_sd) - _EYE_HW, px)

    # mouth: inside between the lips, then both lips as strokes
    d_up, s_up = _quad_distance(u, v, -w, w, up_c, up_b, up_a)
    d_lo, s_lo = _quad_distance(u, v, -w, w, lo_c, lo_b, lo_a)
    inside_sd = np.maximum(np.maximum(-s_up, s_lo), np.abs(u) - w)
    inside = _coverage(inside_sd, px)
    lips = _coverage(np.minimum(d_up, d_lo) - _LIP_HW, px)

    return [
        (brows, _STROKE),
        (sclera, _SCLERA),
        (pupil, _PUPIL),
        (outline, _STROKE),
        (inside, _MOUTH_INSIDE),
        (lips, _STROKE),
    ]


def _render(
    u: np.ndarray,
    v: np.ndarray,
    px: np.ndarray,
    p: dict[str, np.ndarray],
    labels: np.ndarray,
) -> np.ndarray:
    """Float32 faces (n, 2304) before lighting and noise."""
    img = np.full(u.shape, _BACKGROUND, dtype=np.float32)
    _paint(img, _coverage(_ellipse_sd(u, v, *_FACE_AXES), px), _SKIN)
    # nose: a vertical ridge and a short base, shared by all classes
    nose_ridge = _segment_distance(v, u, 0.0, 0.24, 0.0)
    nose_base = _segment_distance(u, v, -0.07, 0.07, 0.27)
    _paint(img, _coverage(np.minimum(nose_ridge, nose_base) - 0.03, px), _NOSE)
    for alpha, level in _features(u, v, px, _class_params(labels, p)):
        _paint(img, alpha, level)
    return img


def _signal_mask(
    u: np.ndarray, v: np.ndarray, px: np.ndarray, p: dict[str, np.ndarray]
) -> np.ndarray:
    """Union over all classes of the pixels their features touch."""
    mask = np.zeros(u.shape, dtype=bool)
    for label in range(_N_CLASSES):
        labels = np.full(u.shape[0], label)
        for alpha, _ in _features(u, v, px, _class_params(labels, p)):
            mask |= alpha > 0.0
    return mask


def _apply_lighting(img: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Gain, offset and a linear gradient in image coordinates, in place."""
    rows, cols = np.divmod(np.arange(N_PIXELS, dtype=np.float32), IMAGE_SIDE)
    half = (IMAGE_SIDE - 1) / 2.0
    ramp = (
        np.cos(p["grad_dir"]) * (cols[None, :] - half)
        + np.sin(p["grad_dir"]) * (rows[None, :] - half)
    ) / half
    img *= p["gain"]
    img += p["offset"] + p["grad"] * ramp
    return img
