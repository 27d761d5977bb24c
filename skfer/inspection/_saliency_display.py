"""SaliencyDisplay: faces, their saliency maps and their salient part."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets._labels import IMAGE_SIDE
from ._model import check_faces, class_names
from ._plotting import axes_grid, check_axes_count, show_image
from ._saliency import SaliencyExplainer, check_percentile, mask_low_saliency

__all__ = ["SaliencyDisplay"]

_SHAPE = (IMAGE_SIDE, IMAGE_SIDE)


class SaliencyDisplay:
    """Faces, their saliency maps, and the faces with low saliency masked out.

    One row per face: the input, the heat map of ``|d logit_c / d pixel|`` (or
    SmoothGrad / Grad-CAM), and the face with the pixels below the
    ``percentile``-th saliency percentile masked. Create it with
    :meth:`from_estimator`; the constructor only stores computed arrays.

    Parameters
    ----------
    images : ndarray of shape (n_faces, 48, 48)
        The faces, grey levels 0..255.
    maps : ndarray of shape (n_faces, 48, 48)
        Their saliency maps (non-negative).
    masked : ndarray of shape (n_faces, 48, 48)
        The faces with their low-saliency part masked
        (:func:`mask_low_saliency`).
    targets : ndarray of shape (n_faces,), default=None
        The class each map explains.
    predicted : ndarray of shape (n_faces,), default=None
        The class the network predicted.
    method : str, default=None
        The saliency method, for the column title.
    percentile : float, default=None
        The masking percentile, for the column title.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the grid.
    ax_ : ndarray of matplotlib Axes, shape (n_faces, 3)
        Columns: face, map, masked face.
    im_ : ndarray of matplotlib AxesImage, shape (n_faces, 3)
        The images drawn.

    See Also
    --------
    saliency_maps : Compute the maps alone.
    SaliencyExplainer : Compile once, explain many batches.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfer.architectures import build_cnn
    >>> from skfer.datasets import make_expressions
    >>> from skfer.inspection import SaliencyDisplay
    >>> X, y = make_expressions(8, random_state=0)
    >>> # usually a fitted FERCNNClassifier; an untrained network keeps it quick
    >>> net = build_cnn(conv_filters=(4,) * 6, dense_units=(8,), seed=0)
    >>> disp = SaliencyDisplay.from_estimator(net, X[:3], target=y[:3])
    >>> disp.ax_.shape
    (3, 3)
    """

    def __init__(
        self,
        images: np.ndarray,
        maps: np.ndarray,
        masked: np.ndarray,
        *,
        targets: np.ndarray | None = None,
        predicted: np.ndarray | None = None,
        method: str | None = None,
        percentile: float | None = None,
    ) -> None:
        self.images = images
        self.maps = maps
        self.masked = masked
        self.targets = targets
        self.predicted = predicted
        self.method = method
        self.percentile = percentile

    def plot(
        self,
        *,
        ax: Any = None,
        cmap: str = "jet",
        overlay: bool = False,
        alpha: float = 0.5,
    ) -> SaliencyDisplay:
        """Draw one row per face: face, saliency map, masked face.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            ``3 * n_faces`` axes (e.g. from ``plt.subplots(n_faces, 3)``),
            used row-major. None: a new figure.
        cmap : str, default="jet"
            Colormap of the saliency maps (each scaled to its own maximum).
        overlay : bool, default=False
            Draw the map over the grey face instead of alone.
        alpha : float, default=0.5
            Opacity of the map when ``overlay=True``.

        Returns
        -------
        display : SaliencyDisplay
            The display, with ``figure_``, ``ax_`` and ``im_`` set.
        """
        images = np.asarray(self.images).reshape(-1, *_SHAPE)
        maps = np.asarray(self.maps).reshape(-1, *_SHAPE)
        masked = np.asarray(self.masked).reshape(-1, *_SHAPE)
        n = images.shape[0]
        if maps.shape[0] != n or masked.shape[0] != n:
            raise ValueError(
                f"images, maps and masked must hold the same number of faces. Got "
                f"{n}, {maps.shape[0]} and {masked.shape[0]}."
            )
        fig, axes = axes_grid(ax, (n, 3), owner="SaliencyDisplay.plot")
        # raw grey levels 0..255, or faces already scaled to [0, 1]
        grey = {"cmap": "gray", "vmin": 0, "vmax": 255 if images.max() > 1 else 1}
        ims = np.empty((n, 3), dtype=object)
        names = {
            key: class_names(values) if values is not None else None
            for key, values in (("target", self.targets), ("pred", self.predicted))
        }
        for i in range(n):
            ims[i, 0] = show_image(axes[i, 0], images[i], **grey)
            top = float(maps[i].max()) or 1.0
            if overlay:
                show_image(axes[i, 1], images[i], **grey)
                ims[i, 1] = axes[i, 1].imshow(
                    maps[i], cmap=cmap, vmin=0, vmax=top, alpha=alpha
                )
            else:
                ims[i, 1] = show_image(axes[i, 1], maps[i], cmap=cmap, vmin=0, vmax=top)
            ims[i, 2] = show_image(axes[i, 2], masked[i], **grey)
            label = []
            if names["pred"] is not None:
                label.append(f"pred. {names['pred'][i]}")
            if names["target"] is not None:
                label.append(f"map of {names['target'][i]}")
            axes[i, 0].set_ylabel("\n".join(label), fontsize="small")
        method = self.method or "saliency"
        kept = "" if self.percentile is None else f" (top {100 - self.percentile:g}%)"
        for col, title in enumerate(("face", method, f"salient part{kept}")):
            axes[0, col].set_title(title, fontsize="small")
        self.figure_, self.ax_, self.im_ = fig, axes, ims
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        target: Any = "predicted",
        method: str = "gradient",
        layer: str | int | None = None,
        percentile: float = 75.0,
        fill: float = 0.0,
        batch_size: int = 128,
        n_samples: int = 25,
        noise: float = 0.15,
        random_state: Any = None,
        ax: Any = None,
        cmap: str = "jet",
        overlay: bool = False,
    ) -> SaliencyDisplay:
        """Compute the saliency maps of some faces and draw them.

        Gradients are taken on the class logit (before the softmax), with
        respect to the raw grey levels of the face.

        Parameters
        ----------
        estimator : estimator or keras.Model
            A fitted skfer classifier (convolutional ones: all methods;
            :class:`~skfer.FERDNNClassifier`: gradient and SmoothGrad), or a
            pipeline ending in one whose other steps are samplers.
        X : array-like of shape (n_faces, 2304) or (n_faces, 48, 48)
            The faces to show (one row each), raw grey levels 0..255.
        target : "predicted", class label, class name or array-like of shape \
(n_faces,), default="predicted"
            Whose class score to explain, e.g. the true labels ``y``.
        method : {"gradient", "smoothgrad", "gradcam"}, default="gradient"
            See :class:`SaliencyExplainer`.
        layer : str, int or None, default=None
            Grad-CAM's layer (None: the last convolution).
        percentile : float, default=75.0
            Pixels below this percentile of a face's map are masked in the
            third column (75: the top quarter is kept).
        fill : float, default=0.0
            Grey level of the masked pixels.
        batch_size : int, default=128
            Network evaluations per call.
        n_samples : int, default=25
            SmoothGrad: noisy copies per face.
        noise : float, default=0.15
            SmoothGrad: noise standard deviation as a fraction of each face's
            range of grey levels.
        random_state : int, RandomState instance or None, default=None
            Seeds SmoothGrad's noise.
        ax : array-like of matplotlib Axes, default=None
            ``3 * n_faces`` axes, or None for a new figure.
        cmap : str, default="jet"
            Colormap of the maps.
        overlay : bool, default=False
            Draw the maps over the faces.

        Returns
        -------
        display : SaliencyDisplay
            The display, drawn.
        """
        check_percentile(percentile)
        faces = check_faces(X)
        check_axes_count(ax, (faces.shape[0], 3), owner="SaliencyDisplay.plot")
        explainer = SaliencyExplainer(
            estimator,
            method=method,
            layer=layer,
            batch_size=batch_size,
            n_samples=n_samples,
            noise=noise,
        )
        maps, targets, predicted = explainer.explain(
            faces, target=target, random_state=random_state
        )
        display = cls(
            faces.reshape(-1, *_SHAPE),
            maps,
            mask_low_saliency(faces, maps, percentile, fill=fill),
            targets=targets,
            predicted=predicted,
            method=method if method != "gradcam" else f"gradcam ({explainer.layer_})",
            percentile=percentile,
        )
        return display.plot(ax=ax, cmap=cmap, overlay=overlay)
