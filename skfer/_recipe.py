"""Training-recipe pieces shared by the classifiers.

- :class:`SmoothedSparseCrossentropy`: cross-entropy on integer labels with
  label smoothing (Keras's sparse loss has none);
- :class:`CosineSchedule`: a callback setting the learning rate of every
  step from the optimiser's step count (linear warm-up, then cosine decay to
  zero), so a run resumed from a checkpoint continues on the same curve;
- :func:`precision_scope`: the Keras dtype policy in force while a network
  is built (``"mixed_bfloat16"`` computes in bfloat16 and keeps float32
  weights);
- :func:`cpu_has_bfloat16` / :func:`warn_if_bfloat16_is_emulated`: whether
  the CPU computes bfloat16 natively, and the warning when it does not;
- :func:`random_shift_fn`: per-face random translation inside the input
  pipeline;
- :func:`random_erasing_fn`: per-face random erasing of a rectangle inside
  the input pipeline;
- :func:`random_affine_fn`: per-face random rotation, zoom and translation
  as one warp inside the input pipeline;
- :func:`mixup_fn`: mixup of each batch with itself reversed, faces and
  targets alike, inside the input pipeline;
- :func:`tta_views` / :func:`view_indices`: the views of a face that
  test-time augmentation (``tta``) averages, as row and column gathers (the
  same indices serve NumPy prediction and the exported TensorFlow graph).
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Iterator

import numpy as np

from ._tf import keras, tf
from .datasets._labels import IMAGE_SIDE, N_PIXELS

#: The dtype policies a classifier's ``precision`` accepts.
PRECISIONS = ("float32", "mixed_bfloat16")
#: The schedules a classifier's ``lr_schedule`` accepts.
LR_SCHEDULES = (None, "cosine")
#: The string values a classifier's ``tta`` accepts (besides True and False).
TTA_MODES = ("flip", "flip+shift")
#: (rows, columns) offsets of the views of ``tta="flip+shift"``, each also
#: mirrored: the face, and the face moved 2 pixels up, down, left and right.
TTA_SHIFTS = ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))


@keras.saving.register_keras_serializable(package="skfer")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy on integer labels, with label smoothing.

    The target of a face of class ``k`` is ``1 - s + s / n`` for ``k`` and
    ``s / n`` for the other classes (``s = label_smoothing``, ``n`` classes),
    as in ``keras.losses.CategoricalCrossentropy(label_smoothing=s)``.
    """

    def __init__(
        self,
        label_smoothing: float = 0.0,
        name: str = "smoothed_sparse_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        n_classes = tf.shape(y_pred)[-1]
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        one_hot = tf.one_hot(labels, n_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class CosineSchedule(keras.callbacks.Callback):
    """Linear warm-up, then cosine decay of the learning rate to zero.

    The rate of step ``t`` is ``base * (t + 1) / W`` during the ``W`` warm-up
    steps, then ``base * (1 + cos(pi * (t - W) / (T - W))) / 2`` until step
    ``T``, then 0. ``t`` is the optimiser's own ``iterations`` count minus
    ``origin`` (its count when the fit began), so a network whose optimiser
    state is restored from a checkpoint during the fit resumes on the curve
    where it stopped.
    """

    def __init__(
        self,
        base_lr: float,
        total_steps: int,
        warmup_steps: int = 0,
        origin: int = 0,
    ):
        super().__init__()
        self.origin = int(origin)
        self.base_lr = float(base_lr)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = min(max(int(warmup_steps), 0), self.total_steps - 1)

    def rate(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based)."""
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        span = self.total_steps - self.warmup_steps
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        step = int(optimizer.iterations) - self.origin
        optimizer.learning_rate.assign(self.rate(step))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


@contextlib.contextmanager
def precision_scope(precision: str) -> Iterator[None]:
    """Build layers under the Keras dtype policy ``precision``, then restore."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


#: CPU flags (as Linux's ``/proc/cpuinfo`` spells them) of the instruction
#: sets that compute bfloat16 natively; without one, TensorFlow emulates it.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether the CPU computes bfloat16 natively; None when it cannot be told.

    Reads the first ``flags`` line of ``cpuinfo`` (Linux on x86) for one of
    :data:`BFLOAT16_CPU_FLAGS`. Elsewhere (another system, another
    architecture, an unreadable file) the answer is None: unknown.
    """
    try:
        with open(cpuinfo) as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(f in flags for f in BFLOAT16_CPU_FLAGS)
    except OSError:
        return None
    return None


def warn_if_bfloat16_is_emulated(precision: str, *, stacklevel: int = 2) -> bool:
    """Warn when ``precision="mixed_bfloat16"`` would run emulated; True if so.

    That is when no GPU is visible to TensorFlow and the CPU is known to lack
    the bfloat16 instructions of :data:`BFLOAT16_CPU_FLAGS`: there, TensorFlow
    converts every operand, and a VGG trained 8x slower than in float32 on an
    AVX2-only CPU (``benchmarks/results/levers_vgg-precision_avx2.json``).
    The network would be correct, only slow, so this is a warning, not an
    error.
    """
    if precision != "mixed_bfloat16" or cpu_has_bfloat16() is not False:
        return False
    if tf.config.list_physical_devices("GPU"):
        return False
    warnings.warn(
        "precision='mixed_bfloat16' on a CPU without bfloat16 instructions "
        f"(none of {', '.join(BFLOAT16_CPU_FLAGS)} in /proc/cpuinfo) and "
        "without a GPU: TensorFlow emulates bfloat16, which trains several "
        "times slower than float32 (8x for the VGG on an AVX2 CPU). Use "
        "precision='float32' on this machine.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def random_shift_fn(max_shift: int, seed: int | None):
    """A function translating each flat face of a batch by up to ``max_shift``.

    Each face moves by its own random offset, in [-max_shift, max_shift]
    pixels along each axis, with edge pixels repeated into the border
    (Keras's ``RandomTranslation`` with ``fill_mode="nearest"``).
    """
    factor = float(max_shift) / IMAGE_SIDE
    layer = keras.layers.RandomTranslation(
        factor, factor, fill_mode="nearest", interpolation="bilinear", seed=seed
    )

    def shift(x):
        images = tf.reshape(tf.cast(x, tf.float32), (-1, IMAGE_SIDE, IMAGE_SIDE, 1))
        moved = layer(images, training=True)
        return tf.reshape(moved, (-1, IMAGE_SIDE * IMAGE_SIDE))

    return shift


def random_erasing_fn(probability: float):
    """A function erasing one random rectangle of some flat faces of a batch.

    ``fn(x, key)`` takes a batch of flat faces and an int64 ``key`` (one per
    batch, from a seeded stream; the key fixes the draw): each face is
    erased with ``probability``, over a rectangle of 2-33% of its area and
    aspect ratio 0.3-3.3 (Zhong et al. 2020, as in torchvision's
    ``RandomErasing``, but clipped to the face instead of redrawn), filled
    with the face's mean grey level. The result has ``x``'s dtype.
    """
    p = float(probability)
    lo, hi = np.log(0.3), np.log(3.3)

    def erase(x, key):
        n = tf.shape(x)[0]
        pair = tf.stack([key, tf.constant(0, tf.int64)])
        u = tf.random.stateless_uniform([n, 5], seed=pair, dtype=tf.float32)
        area = (0.02 + 0.31 * u[:, 1]) * float(N_PIXELS)
        ratio = tf.exp(lo + (hi - lo) * u[:, 2])
        side = float(IMAGE_SIDE)
        h = tf.clip_by_value(tf.round(tf.sqrt(area * ratio)), 1.0, side)
        w = tf.clip_by_value(tf.round(tf.sqrt(area / ratio)), 1.0, side)
        top = tf.floor(u[:, 3] * (side - h + 1.0))[:, None]
        left = tf.floor(u[:, 4] * (side - w + 1.0))[:, None]
        grid = tf.range(IMAGE_SIDE, dtype=tf.float32)[None, :]
        rows = (grid >= top) & (grid < top + h[:, None])
        cols = (grid >= left) & (grid < left + w[:, None])
        mask = rows[:, :, None] & cols[:, None, :] & (u[:, 0] < p)[:, None, None]
        faces = tf.cast(x, tf.float32)
        fill = tf.reduce_mean(faces, axis=1, keepdims=True)
        out = tf.where(tf.reshape(mask, (-1, N_PIXELS)), fill, faces)
        if x.dtype.is_integer:
            out = tf.round(out)
        return tf.cast(out, x.dtype)

    return erase


def random_affine_fn(max_shift: int, max_rotation: float, max_zoom: float):
    """A function warping each flat face of a batch by a random affine map.

    ``fn(x, key)`` takes a batch of flat faces and an int64 ``key`` (one per
    batch, from a seeded stream; the key fixes the draw). Each face is
    rotated about its centre by an angle drawn uniformly from
    [-max_rotation, max_rotation] degrees, scaled by a factor from
    [1 - max_zoom, 1 + max_zoom] (above 1 enlarges the face) and moved by
    up to ``max_shift`` pixels along each axis, all in one bilinear warp,
    with edge pixels repeated into the border (as in :func:`random_shift_fn`).
    The result is float32.
    """
    shift = float(max_shift)
    angle = math.radians(float(max_rotation))
    zoom = float(max_zoom)
    centre = (IMAGE_SIDE - 1) / 2.0

    def warp(x, key):
        n = tf.shape(x)[0]
        pair = tf.stack([key, tf.constant(1, tf.int64)])
        u = tf.random.stateless_uniform([n, 4], seed=pair, minval=-1.0, maxval=1.0)
        theta = angle * u[:, 0]
        scale = 1.0 + zoom * u[:, 1]
        tx, ty = shift * u[:, 2], shift * u[:, 3]
        # the map from output to input pixel: rotate back, shrink, move back
        cos, sin = tf.cos(theta) / scale, tf.sin(theta) / scale
        a2 = centre - cos * centre - sin * centre - tx
        b2 = centre + sin * centre - cos * centre - ty
        zeros = tf.zeros_like(cos)
        transforms = tf.stack([cos, sin, a2, -sin, cos, b2, zeros, zeros], axis=1)
        images = tf.reshape(tf.cast(x, tf.float32), (-1, IMAGE_SIDE, IMAGE_SIDE, 1))
        moved = tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=tf.constant([IMAGE_SIDE, IMAGE_SIDE], tf.int32),
            fill_value=tf.constant(0.0),
            interpolation="BILINEAR",
            fill_mode="NEAREST",
        )
        return tf.reshape(moved, (-1, IMAGE_SIDE * IMAGE_SIDE))

    return warp


def mixup_fn(alpha: float):
    """A function mixing a batch with itself reversed (mixup, Zhang et al. 2018).

    ``fn(x, y, key)`` or ``fn(x, y, w, key)`` takes a float batch of flat
    faces, their target distributions ``y`` (one row per face), optionally
    their sample weights ``w``, and an int64 ``key`` (one per batch, from a
    seeded stream; the key fixes the draw). One weight ``lam`` is drawn from
    Beta(alpha, alpha) per batch, and face ``i`` becomes ``lam * x[i] + (1 -
    lam) * x[n - 1 - i]``; its target and weight are mixed alike, so the
    loss is the same mixture of the two faces' losses. The batch is already
    shuffled, so reversing it pairs random faces.
    """
    a = float(alpha)

    def mix(x, y, *rest):
        *w, key = rest
        pair = tf.stack([key, tf.constant(2, tf.int64)])
        g = tf.random.stateless_gamma([2], seed=pair, alpha=a, dtype=tf.float32)
        lam = tf.math.divide_no_nan(g[0], g[0] + g[1])  # Beta(a, a)

        def blend(t):
            t = tf.cast(t, tf.float32)
            return lam * t + (1.0 - lam) * tf.reverse(t, axis=[0])

        return (blend(x), blend(y), *(blend(v) for v in w))

    return mix


#: The largest row or column move of a custom ``tta`` view, in pixels.
MAX_TTA_MOVE = IMAGE_SIDE // 2 - 1


def _custom_views(tta) -> tuple[tuple[bool, int, int], ...]:
    """``tta`` given as views, checked and normalised; ValueError naming the bad one."""
    views = list(tta)
    if not views:
        raise ValueError("tta given as views must hold at least one view. Got [].")
    out = []
    for i, view in enumerate(views):
        ok = isinstance(view, (tuple, list)) and len(view) == 3
        if ok:
            mirrored, dy, dx = view
            ok = isinstance(mirrored, (bool, np.bool_)) and all(
                isinstance(d, (int, np.integer))
                and not isinstance(d, (bool, np.bool_))
                and abs(int(d)) <= MAX_TTA_MOVE
                for d in (dy, dx)
            )
        if not ok:
            raise ValueError(
                f"tta view {i} must be (mirrored, row move, column move): a bool "
                f"and two ints in [-{MAX_TTA_MOVE}, {MAX_TTA_MOVE}]. "
                f"Got {view!r} instead."
            )
        out.append((bool(mirrored), int(dy), int(dx)))
    return tuple(out)


def check_tta(tta) -> None:
    """Raise ValueError unless ``tta`` is a bool, one of :data:`TTA_MODES` or views."""
    if isinstance(tta, (bool, np.bool_)):
        return
    if isinstance(tta, str):
        if tta in TTA_MODES:
            return
    elif isinstance(tta, (tuple, list)):
        _custom_views(tta)
        return
    raise ValueError(
        f"tta must be True, False, one of {TTA_MODES} or a sequence of "
        f"(mirrored, row move, column move) views. Got {tta!r} instead."
    )


def tta_views(tta) -> tuple[tuple[bool, int, int], ...]:
    """The ``(mirrored, row shift, column shift)`` views that ``tta`` averages.

    ``False``: the face alone; ``True`` or ``"flip"``: the face and its mirror;
    ``"flip+shift"``: each of :data:`TTA_SHIFTS`, plain and mirrored (10); a
    sequence of views: those views.
    """
    check_tta(tta)
    if isinstance(tta, (tuple, list)):
        return _custom_views(tta)
    if tta is False or tta is np.False_:
        return ((False, 0, 0),)
    shifts = TTA_SHIFTS if tta == "flip+shift" else ((0, 0),)
    return tuple((mirror, dy, dx) for dy, dx in shifts for mirror in (False, True))


def view_indices(mirrored: bool, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices that gather one view of a 48x48 face.

    ``view[i, j] = face[rows[i], cols[j]]``: the face mirrored left-right if
    ``mirrored``, then moved ``dy`` pixels down and ``dx`` right, the edge
    pixels repeated into the uncovered border (as in training's shifts).
    """
    ramp = np.arange(IMAGE_SIDE)
    rows = np.clip(ramp - dy, 0, IMAGE_SIDE - 1)
    cols = np.clip(ramp - dx, 0, IMAGE_SIDE - 1)
    if mirrored:
        cols = IMAGE_SIDE - 1 - cols
    return rows.astype(np.int32), cols.astype(np.int32)
