"""What a layer computes for a face: its feature maps."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._model import (
    check_faces,
    conv_layer,
    get_layer,
    get_spatial_layer,
    resolve_model,
)
from ._plotting import axes_grid, check_axes_count, grid_shape, show_image

__all__ = ["ActivationDisplay", "layer_activations"]


def layer_activations(
    estimator: Any, X: Any, layer: str | int, *, batch_size: int = 256
) -> np.ndarray:
    """Compute the output of one layer of the network for some faces.

    Parameters
    ----------
    estimator : estimator or keras.Model
        A fitted skfer classifier (:class:`~skfer.FERCNNClassifier`,
        :class:`~skfer.FERVGGClassifier`, ...), a pipeline ending in one whose other
        steps are samplers, or a network from :mod:`skfer.architectures`.
    X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48)
        Faces as raw grey levels 0..255 (one face may be given as (2304,)).
    layer : str or int
        The layer, by name or index in ``model.layers``.
    batch_size : int, default=256
        Faces per network call.

    Returns
    -------
    activations : ndarray
        ``(n_samples, height, width, channels)`` for a convolutional layer,
        ``(n_samples, units)`` for a dense one (inference mode: no dropout).

    Examples
    --------
    >>> from skfer import FERCNNClassifier
    >>> from skfer.datasets import make_expressions
    >>> from skfer.inspection import layer_activations
    >>> X, y = make_expressions(70, random_state=0)
    >>> clf = FERCNNClassifier(conv_filters=(4,) * 6, dense_units=(8,),
    ...                        epochs=1, random_state=0).fit(X, y)
    >>> layer_activations(clf, X[:2], "conv1_act").shape
    (2, 44, 44, 4)
    """
    from .._tf import keras

    model = resolve_model(estimator)
    found = get_layer(model, layer)
    faces = check_faces(X)
    sub = keras.Model(model.inputs, found.output)
    return np.asarray(sub.predict(faces, batch_size=int(batch_size), verbose=0))


def _n_maps(n_channels: int, max_maps: int | None) -> int:
    """How many feature maps to draw."""
    if max_maps is None:
        return n_channels
    integral = isinstance(max_maps, numbers.Integral) and not isinstance(max_maps, bool)
    if not integral or max_maps < 1:
        raise ValueError(f"max_maps must be an int >= 1. Got {max_maps!r} instead.")
    return min(int(max_maps), n_channels)


class ActivationDisplay:
    """The feature maps of one layer for one face, as a grid.

    Create it with :meth:`from_estimator`; the constructor only stores the
    computed array. Feature maps are drawn with ``gray_r`` (dark = strong
    activation), each scaled to its own range.

    Parameters
    ----------
    activations : ndarray of shape (height, width, channels)
        The layer's output for the face.
    layer : str, default=None
        The layer's name, for the title.
    face : ndarray of shape (48, 48), default=None
        The face, kept for reference.

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
    >>> from skfer.datasets import make_expressions
    >>> from skfer.inspection import ActivationDisplay
    >>> X, y = make_expressions(8, random_state=0)
    >>> # usually a fitted FERCNNClassifier; an untrained network keeps it quick
    >>> net = build_cnn(conv_filters=(4,) * 6, dense_units=(8,), seed=0)
    >>> disp = ActivationDisplay.from_estimator(net, X[0], layer="conv1_act")
    >>> disp.activations.shape
    (44, 44, 4)
    """

    def __init__(
        self,
        activations: np.ndarray,
        *,
        layer: str | None = None,
        face: np.ndarray | None = None,
    ) -> None:
        self.activations = activations
        self.layer = layer
        self.face = face

    def plot(
        self,
        *,
        ax: Any = None,
        ncols: int | None = None,
        max_maps: int | None = None,
        cmap: str = "gray_r",
    ) -> ActivationDisplay:
        """Draw the feature maps as a grid.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            At least as many axes as the grid has cells, used row-major.
            None: a new figure.
        ncols : int, default=None
            Columns of the grid (default: about the square root of the count).
        max_maps : int, default=None
            Draw only the first ``max_maps`` channels.
        cmap : str, default="gray_r"
            Colormap (the study's ``gray_r``: dark is a strong activation).

        Returns
        -------
        display : ActivationDisplay
            The display, with ``figure_`` and ``ax_`` set.
        """
        acts = np.asarray(self.activations)
        if acts.ndim != 3:
            raise ValueError(
                "activations must have shape (height, width, channels) for one "
                f"face. Got shape {acts.shape} instead."
            )
        n = _n_maps(acts.shape[-1], max_maps)
        fig, axes = axes_grid(ax, grid_shape(n, ncols), owner="ActivationDisplay.plot")
        for i, axis in enumerate(axes.flat):
            if i >= n:
                axis.set_axis_off()
                continue
            show_image(axis, acts[:, :, i], cmap=cmap)
            axis.set_title(str(i), fontsize="x-small")
        if ax is None and self.layer is not None:
            h, w, c = acts.shape
            fig.suptitle(f"{self.layer}: {c} feature maps of {h}x{w}")
        self.figure_, self.ax_ = fig, axes
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        layer: str | int | None = None,
        ax: Any = None,
        ncols: int | None = None,
        max_maps: int | None = None,
        cmap: str = "gray_r",
    ) -> ActivationDisplay:
        """Compute a layer's feature maps for one face and draw them.

        Parameters
        ----------
        estimator : estimator or keras.Model
            A fitted :class:`~skfer.FERCNNClassifier` (a dense network has no
            feature maps), a pipeline ending in one whose other steps are
            samplers, or a network from :mod:`skfer.architectures`.
        X : array-like of shape (2304,), (48, 48) or (1, 2304)
            One face, raw grey levels 0..255.
        layer : str, int or None, default=None
            A layer with a spatial output, by name or index. None: the first
            convolution (``"conv1_act"``).
        ax : array-like of matplotlib Axes, default=None
            The grid's axes, or None for a new figure.
        ncols : int, default=None
            Columns of the grid.
        max_maps : int, default=None
            Draw only the first ``max_maps`` channels.
        cmap : str, default="gray_r"
            Colormap.

        Returns
        -------
        display : ActivationDisplay
            The display, drawn.
        """
        face = check_faces(X)
        if face.shape[0] != 1:
            raise ValueError(
                "ActivationDisplay shows the feature maps of one face; X holds "
                f"{face.shape[0]}. Pass a single face, e.g. X[0]."
            )
        model = resolve_model(estimator)
        if layer is None:
            layer = conv_layer(model, 0)
            if layer is None:
                raise ValueError(
                    f"Model {model.name!r} has no convolution, hence no feature "
                    "maps to show (a dense network); pass a layer with a spatial "
                    "output, or use FilterDisplay for dense units."
                )
        found = get_spatial_layer(model, layer, purpose="ActivationDisplay")
        n_maps = _n_maps(int(found.output.shape[-1]), max_maps)
        check_axes_count(ax, grid_shape(n_maps, ncols), owner="ActivationDisplay.plot")
        acts = layer_activations(model, face, found.name)[0]
        display = cls(acts, layer=found.name, face=face.reshape(48, 48))
        return display.plot(ax=ax, ncols=ncols, max_maps=max_maps, cmap=cmap)
