"""What each filter responds to: activation maximisation by gradient ascent.

Every chosen filter gets its own 48x48 image, all optimised together as one
batch by one compiled ascent step called ``steps`` times. Starting from
mid-grey plus seeded noise, each step moves the image along the normalised
gradient of the filter's mean activation, then regularises it (decay
towards mid-grey, a light Gaussian blur every few steps, clipping to 0..255)
so the result is a readable pattern rather than high-frequency noise
(Yosinski et al., 2015).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from ..datasets._labels import IMAGE_SIDE, N_PIXELS
from ._model import (
    conv_layer,
    first_hidden_layer,
    get_layer,
    input_top,
    resolve_model,
)
from ._plotting import axes_grid, check_axes_count, grid_shape, show_image

__all__ = ["FilterDisplay", "filter_patterns"]


def _default_layer(model: Any) -> str:
    name = conv_layer(model) or first_hidden_layer(model)
    if name is None:
        raise ValueError(
            f"Model {model.name!r} has no convolution or hidden dense layer; "
            "pass layer= explicitly."
        )
    return name


def _select_filters(filters: Any, n_channels: int, layer: str) -> np.ndarray:
    if filters is None:
        return np.arange(n_channels)
    if isinstance(filters, numbers.Integral) and not isinstance(filters, bool):
        if not 1 <= filters <= n_channels:
            raise ValueError(
                f"filters={filters} asks for the first {filters} filters, but "
                f"layer {layer!r} has {n_channels}."
            )
        return np.arange(int(filters))
    idx = np.asarray(filters)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ValueError(
            "filters must be None, an int (the first n filters) or a sequence of "
            f"filter indices. Got {filters!r} instead."
        )
    bad = idx[(idx < 0) | (idx >= n_channels)]
    if bad.size:
        raise ValueError(
            f"Filter indices {bad.tolist()} are out of range: layer {layer!r} has "
            f"{n_channels} filters (0..{n_channels - 1})."
        )
    return idx.astype(np.int64)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(2 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def filter_patterns(
    estimator: Any,
    layer: str | int | None = None,
    *,
    filters: int | Sequence[int] | None = None,
    steps: int = 200,
    step_size: float = 1.0,
    decay: float = 0.005,
    blur_every: int = 4,
    blur_sigma: float = 0.5,
    batch_size: int = 64,
    random_state: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise, per filter, the face that maximises its mean activation.

    Parameters
    ----------
    estimator : estimator or keras.Model
        A fitted skfer classifier (:class:`~skfer.FERCNNClassifier`,
        :class:`~skfer.FERVGGClassifier`, ...; for
        :class:`~skfer.FERDNNClassifier` the "filters" are the units of
        a dense layer), a pipeline ending in one whose other steps are
        samplers, or a network from :mod:`skfer.architectures`.
    layer : str, int or None, default=None
        The layer, by name or index in ``model.layers``. None: the last
        convolution (``"conv6_act"`` for skfer's CNN), or the first hidden
        dense layer of a dense network (``"dense1_act"``).
    filters : int, sequence of int or None, default=None
        Which filters (channels of a spatial output, units of a dense one):
        None all, an int the first ``filters``, or a list of indices.
    steps : int, default=200
        Gradient-ascent steps (the study used 200).
    step_size : float, default=1.0
        Root-mean-square change of the pixels per step, in grey levels (the
        gradient is normalised per image before the step).
    decay : float, default=0.005
        L2 regularisation: every step pulls the image this fraction of the way
        back towards mid-grey (128).
    blur_every : int, default=4
        Blur the images with a Gaussian of ``blur_sigma`` pixels every
        ``blur_every`` steps (0: never); this suppresses high frequencies.
    blur_sigma : float, default=0.5
        Width of the blur, in pixels.
    batch_size : int, default=64
        Filters optimised together, as one batch.
    random_state : int, RandomState instance or None, default=0
        Seeds the initial noise. The ascent itself is deterministic, so the
        same seed gives the same images (bit for bit on the same machine and
        library versions).

    Returns
    -------
    patterns : ndarray of shape (n_filters, 48, 48), float32
        One image per filter, as grey levels 0..255 (scaled to the network's
        input range when it was built with another ``rescale``).
    activations : ndarray of shape (n_filters,), float32
        The mean activation each filter reached on its image (no
        regularisation terms included).

    See Also
    --------
    FilterDisplay : Draw the patterns as a grid.

    Examples
    --------
    >>> from skfer import FERCNNClassifier
    >>> from skfer.datasets import make_expressions
    >>> from skfer.inspection import filter_patterns
    >>> X, y = make_expressions(70, random_state=0)
    >>> clf = FERCNNClassifier(conv_filters=(4,) * 6, dense_units=(8,),
    ...                        epochs=1, random_state=0).fit(X, y)
    >>> patterns, activations = filter_patterns(clf, "conv2_act", steps=20)
    >>> patterns.shape, activations.shape
    ((4, 48, 48), (4,))
    """
    from .._tf import keras, tf

    model = resolve_model(estimator)
    if layer is None:
        layer = _default_layer(model)
    found = get_layer(model, layer)
    if found.name == model.layers[0].name:
        raise ValueError("layer must not be the input layer: it has no filters.")
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an int >= {low}. Got {value!r} instead.")
        if value < low:
            raise ValueError(f"{name} must be an int >= {low}. Got {value!r} instead.")
    if not isinstance(blur_every, numbers.Integral) or blur_every < 0:
        raise ValueError(f"blur_every must be an int >= 0. Got {blur_every!r}.")
    if not 0.0 <= float(decay) < 1.0:
        raise ValueError(f"decay must be in [0, 1). Got {decay!r} instead.")
    if not float(step_size) > 0 or not float(blur_sigma) > 0:
        raise ValueError(
            "step_size and blur_sigma must be > 0. Got "
            f"step_size={step_size!r}, blur_sigma={blur_sigma!r}."
        )
    n_channels = int(found.output.shape[-1])
    chosen = _select_filters(filters, n_channels, found.name)

    sub = keras.Model(model.inputs, found.output)
    kernel = tf.constant(_gaussian_kernel(float(blur_sigma))[:, :, None, None])
    pad = kernel.shape[0] // 2
    n_steps, lr = int(steps), float(step_size)
    keep, every = 1.0 - float(decay), int(blur_every)
    unit = input_top(model) / 255.0  # grey levels -> the network's input units

    def mean_activation(x, f):
        act = tf.gather(sub(x * unit, training=False), f, axis=-1, batch_dims=1)
        return tf.reduce_mean(tf.reshape(act, (tf.shape(x)[0], -1)), axis=1)

    def blur(x):
        img = tf.reshape(x, (-1, IMAGE_SIDE, IMAGE_SIDE, 1))
        img = tf.pad(img, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
        img = tf.nn.conv2d(img, kernel, strides=1, padding="VALID")
        return tf.reshape(img, (-1, N_PIXELS))

    # One compiled step called from Python: a tf.while_loop over the steps
    # gave results that differed in the last bits from one trace to the next,
    # and the chaotic ascent amplified that; this stays bit-reproducible.
    @tf.function(
        input_signature=[
            tf.TensorSpec((None, N_PIXELS), tf.float32),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.bool),
        ]
    )
    def step(x, f, smooth):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(mean_activation(x, f))
        g = tape.gradient(score, x)
        g /= tf.sqrt(tf.reduce_mean(tf.square(g), axis=1, keepdims=True)) + 1e-8
        x = 128.0 + (x + lr * g - 128.0) * keep
        x = tf.cond(smooth, lambda: blur(x), lambda: x)
        return tf.clip_by_value(x, 0.0, 255.0)

    score_fn = tf.function(mean_activation, input_signature=step.input_signature[:2])

    def ascend(x, f):
        for i in range(n_steps):
            x = step(x, f, tf.constant(every > 0 and (i + 1) % every == 0))
        return x, score_fn(x, f)

    rng = check_random_state(random_state)
    x0 = 128.0 + 8.0 * rng.standard_normal((chosen.size, N_PIXELS))
    x0 = np.clip(x0, 0.0, 255.0).astype(np.float32)
    patterns = np.empty_like(x0)
    activations = np.empty(chosen.size, dtype=np.float32)
    for start in range(0, chosen.size, int(batch_size)):
        sl = slice(start, start + int(batch_size))
        x, act = ascend(tf.constant(x0[sl]), tf.constant(chosen[sl], dtype=tf.int32))
        patterns[sl], activations[sl] = x.numpy(), act.numpy()
    return patterns.reshape(-1, IMAGE_SIDE, IMAGE_SIDE), activations


class FilterDisplay:
    """A grid of the images that maximise each filter of a layer.

    Create it with :meth:`from_estimator`; the constructor only stores the
    computed arrays.

    Parameters
    ----------
    patterns : ndarray of shape (n_filters, 48, 48)
        One image per filter (from :func:`filter_patterns`).
    activations : ndarray of shape (n_filters,)
        The mean activation each filter reached on its image.
    filters : ndarray of shape (n_filters,), default=None
        The filters' indices in the layer (default 0..n_filters-1).
    layer : str, default=None
        The layer's name, for the title.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the grid.
    ax_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        The grid's axes (unused cells are switched off).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfer.architectures import build_cnn
    >>> from skfer.inspection import FilterDisplay
    >>> # usually a fitted FERCNNClassifier; an untrained network keeps it quick
    >>> net = build_cnn(conv_filters=(4,) * 6, dense_units=(8,), seed=0)
    >>> disp = FilterDisplay.from_estimator(net, "conv2_act", steps=20)
    >>> disp.patterns.shape
    (4, 48, 48)
    """

    def __init__(
        self,
        patterns: np.ndarray,
        activations: np.ndarray,
        *,
        filters: np.ndarray | None = None,
        layer: str | None = None,
    ) -> None:
        self.patterns = patterns
        self.activations = activations
        self.filters = filters
        self.layer = layer

    def plot(
        self, *, ax: Any = None, ncols: int | None = None, cmap: str = "gray"
    ) -> FilterDisplay:
        """Draw the patterns as a grid, each titled with its filter's activation.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            At least as many axes as the grid has cells (``n_rows * n_cols``),
            used row-major. None: a new figure.
        ncols : int, default=None
            Columns of the grid (default: about the square root of the count).
        cmap : str, default="gray"
            Colormap of the patterns (each scaled to its own range).

        Returns
        -------
        display : FilterDisplay
            The display, with ``figure_`` and ``ax_`` set.
        """
        patterns = np.asarray(self.patterns).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
        activations = np.asarray(self.activations).ravel()
        n = patterns.shape[0]
        if activations.shape[0] != n:
            raise ValueError(
                f"patterns and activations must have the same length. Got {n} "
                f"and {activations.shape[0]}."
            )
        filters = np.arange(n) if self.filters is None else np.asarray(self.filters)
        fig, axes = axes_grid(ax, grid_shape(n, ncols), owner="FilterDisplay.plot")
        for i, axis in enumerate(axes.flat):
            if i >= n:
                axis.set_axis_off()
                continue
            show_image(axis, patterns[i], cmap=cmap)
            axis.set_title(f"#{filters[i]}: {activations[i]:.3g}", fontsize="small")
        if ax is None and self.layer is not None:
            fig.suptitle(f"{self.layer}: filter (mean activation reached)")
        self.figure_, self.ax_ = fig, axes
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        layer: str | int | None = None,
        *,
        filters: int | Sequence[int] | None = None,
        steps: int = 200,
        step_size: float = 1.0,
        decay: float = 0.005,
        blur_every: int = 4,
        blur_sigma: float = 0.5,
        batch_size: int = 64,
        random_state: Any = 0,
        ax: Any = None,
        ncols: int | None = None,
        cmap: str = "gray",
    ) -> FilterDisplay:
        """Run the gradient ascent for a layer's filters and draw the grid.

        Parameters
        ----------
        estimator : estimator or keras.Model
            A fitted skfer classifier, a pipeline ending in one (samplers
            only before it), or a network from :mod:`skfer.architectures`.
        layer : str, int or None, default=None
            The layer, by name or index (None: the last convolution, or the
            first hidden dense layer of a dense network).
        filters : int, sequence of int or None, default=None
            None all filters, an int the first n, or a list of indices.
        steps, step_size, decay, blur_every, blur_sigma, batch_size, \
random_state
            See :func:`filter_patterns` (200 steps, seeded with 0 by default).
        ax : array-like of matplotlib Axes, default=None
            The grid's axes, or None for a new figure.
        ncols : int, default=None
            Columns of the grid.
        cmap : str, default="gray"
            Colormap of the patterns.

        Returns
        -------
        display : FilterDisplay
            The display, drawn.
        """
        model = resolve_model(estimator)
        name = get_layer(model, _default_layer(model) if layer is None else layer).name
        n_channels = int(model.get_layer(name).output.shape[-1])
        chosen = _select_filters(filters, n_channels, name)
        shape = grid_shape(chosen.size, ncols)
        check_axes_count(ax, shape, owner="FilterDisplay.plot")
        patterns, activations = filter_patterns(
            model,
            name,
            filters=chosen,
            steps=steps,
            step_size=step_size,
            decay=decay,
            blur_every=blur_every,
            blur_sigma=blur_sigma,
            batch_size=batch_size,
            random_state=random_state,
        )
        display = cls(patterns, activations, filters=chosen, layer=name)
        return display.plot(ax=ax, ncols=ncols, cmap=cmap)
