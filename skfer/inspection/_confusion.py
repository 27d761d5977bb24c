"""The confusion matrix, normalised by true class, with FER2013 class names.

A thin subclass of scikit-learn's :class:`~sklearn.metrics.ConfusionMatrixDisplay`:
it changes the defaults (``normalize="true"``, the seven class names, all
classes of the classifier) and adds only what scikit-learn lacks, the
per-class recall and the most-confused pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from sklearn.utils.multiclass import unique_labels

from ._model import class_names
from ._plotting import check_matplotlib_support

__all__ = ["FERConfusionMatrixDisplay"]


class FERConfusionMatrixDisplay(ConfusionMatrixDisplay):
    """Confusion matrix of a FER classifier, with recall and confused pairs.

    Everything of :class:`~sklearn.metrics.ConfusionMatrixDisplay` still
    holds; the differences are the defaults of :meth:`from_estimator` and
    :meth:`from_predictions` (rows normalised by true class, FER2013 names
    on the axes), :attr:`recall` and :meth:`most_confused`, and two plot
    options: the recall next to each true class and frames around the most
    confused cells.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        The (normalised) confusion matrix; rows are true classes.
    display_labels : ndarray of shape (n_classes,), default=None
        Class names for the axes.
    counts : ndarray of shape (n_classes, n_classes), default=None
        The same matrix in (weighted) counts, when known; recall and the
        confused pairs are then computed from it.

    Attributes
    ----------
    im_, text_, ax_, figure_
        As in :class:`~sklearn.metrics.ConfusionMatrixDisplay`.
    highlights_ : list of matplotlib Rectangle
        Frames drawn around the most confused cells.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfer.inspection import FERConfusionMatrixDisplay
    >>> y_true = [3, 3, 3, 4, 4, 6, 6, 6]
    >>> y_pred = [3, 3, 4, 6, 4, 6, 6, 4]
    >>> disp = FERConfusionMatrixDisplay.from_predictions(y_true, y_pred)
    >>> disp.display_labels
    ['Happy', 'Sad', 'Neutral']
    >>> disp.recall.round(2).tolist()
    [0.67, 0.5, 0.67]
    >>> disp.most_confused(1)
    [('Sad', 'Neutral', 0.5)]
    """

    def __init__(
        self,
        confusion_matrix: np.ndarray,
        *,
        display_labels: Any = None,
        counts: np.ndarray | None = None,
    ) -> None:
        super().__init__(confusion_matrix, display_labels=display_labels)
        self.counts = counts

    # ----------------------------------------------------------- additions
    def _by_true_class(self) -> np.ndarray:
        """Rows normalised to sum to 1 (from counts when known)."""
        cm = np.asarray(
            self.counts if self.counts is not None else self.confusion_matrix
        )
        cm = cm.astype(float)
        totals = cm.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, cm / np.where(totals > 0, totals, 1), np.nan)

    def _labels(self) -> list:
        n = np.asarray(self.confusion_matrix).shape[0]
        return (
            list(range(n)) if self.display_labels is None else list(self.display_labels)
        )

    @property
    def recall(self) -> np.ndarray:
        """Per-class recall (the diagonal of the row-normalised matrix).

        Computed from ``counts`` when known, else from ``confusion_matrix``
        (exact for ``normalize`` in {None, "true", "all"}; a matrix normalised
        by predicted class does not determine recall). NaN for a class with
        no true samples.
        """
        return np.diagonal(self._by_true_class()).copy()

    def most_confused(self, n: int = 3) -> list[tuple[Any, Any, float]]:
        """The ``n`` largest off-diagonal rates, as (true, predicted, rate).

        Parameters
        ----------
        n : int, default=3
            Number of pairs.

        Returns
        -------
        pairs : list of (true label, predicted label, float)
            The fraction of the true class's samples predicted as the other
            class, largest first (pairs with a zero rate are left out).
        """
        rates = np.nan_to_num(self._by_true_class())
        np.fill_diagonal(rates, 0.0)
        order = np.argsort(-rates, axis=None, kind="stable")[: max(int(n), 0)]
        labels = self._labels()
        pairs = []
        for flat in order:
            i, j = np.unravel_index(flat, rates.shape)
            if rates[i, j] > 0:
                pairs.append((labels[i], labels[j], round(float(rates[i, j]), 6)))
        return pairs

    # ------------------------------------------------------------ drawing
    def plot(
        self,
        *,
        include_values: bool = True,
        cmap: Any = "Blues",
        xticks_rotation: Any = "horizontal",
        values_format: str | None = None,
        ax: Any = None,
        colorbar: bool = True,
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        show_recall: bool = True,
        highlight: int = 3,
    ) -> FERConfusionMatrixDisplay:
        """Plot the matrix; see :meth:`ConfusionMatrixDisplay.plot`.

        Parameters
        ----------
        include_values, cmap, xticks_rotation, ax, colorbar, im_kw, text_kw
            As in :meth:`sklearn.metrics.ConfusionMatrixDisplay.plot`
            (``cmap`` defaults to ``"Blues"``).
        values_format : str, default=None
            Format of the cell values; default ``".2f"`` for a normalised
            matrix, ``"d"`` for counts.
        show_recall : bool, default=True
            Append each true class's recall to its tick label.
        highlight : int, default=3
            Frame the ``highlight`` most confused cells (0: none).

        Returns
        -------
        display : FERConfusionMatrixDisplay
            The display, with ``figure_``, ``ax_``, ``im_``, ``text_`` and
            ``highlights_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.patches import Rectangle

        cm = np.asarray(self.confusion_matrix)
        if values_format is None:
            values_format = "d" if cm.dtype.kind in "iu" else ".2f"
        super().plot(
            include_values=include_values,
            cmap=cmap,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            ax=ax,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
        )
        labels = self._labels()
        if show_recall:
            ticks = [
                f"{lab}\n(recall {r:.0%})"
                for lab, r in zip(labels, self.recall, strict=True)
            ]
            self.ax_.set_yticks(np.arange(len(labels)), labels=ticks)
        position = {lab: k for k, lab in enumerate(labels)}
        self.highlights_ = []
        for true, pred, _ in self.most_confused(highlight):
            frame = Rectangle(
                (position[pred] - 0.5, position[true] - 0.5),
                1,
                1,
                fill=False,
                edgecolor="crimson",
                linewidth=2,
            )
            self.ax_.add_patch(frame)
            self.highlights_.append(frame)
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        normalize: str | None = "true",
        display_labels: Any = None,
        include_values: bool = True,
        xticks_rotation: Any = "horizontal",
        values_format: str | None = None,
        cmap: Any = "Blues",
        ax: Any = None,
        colorbar: bool = True,
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        show_recall: bool = True,
        highlight: int = 3,
    ) -> FERConfusionMatrixDisplay:
        """Plot the confusion matrix of true and predicted labels.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Predicted labels.
        labels : array-like of shape (n_classes,), default=None
            Classes (rows/columns) in order; default: those in ``y_true`` or
            ``y_pred``, sorted.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        normalize : {"true", "pred", "all"} or None, default="true"
            Normalise rows (true class, the study's choice), columns, all,
            or show counts.
        display_labels : array-like of shape (n_classes,), default=None
            Axis names; default: the FER2013 names of labels 0..6
            (``"Angry"`` ... ``"Neutral"``), other labels as they are.
        include_values, xticks_rotation, values_format, cmap, ax, colorbar, \
im_kw, text_kw, show_recall, highlight
            See :meth:`plot`.

        Returns
        -------
        display : FERConfusionMatrixDisplay
            The display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        if normalize not in ("true", "pred", "all", None):
            raise ValueError(
                "normalize must be one of {'true', 'pred', 'all', None}. "
                f"Got {normalize!r} instead."
            )
        if labels is None:
            labels = unique_labels(y_true, y_pred)
        if display_labels is None:
            display_labels = class_names(np.asarray(labels).tolist())
        kwargs = {"labels": labels, "sample_weight": sample_weight}
        counts = confusion_matrix(y_true, y_pred, **kwargs)
        cm = (
            counts
            if normalize is None
            else confusion_matrix(y_true, y_pred, normalize=normalize, **kwargs)
        )
        display = cls(cm, display_labels=display_labels, counts=counts)
        return display.plot(
            include_values=include_values,
            cmap=cmap,
            ax=ax,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
            show_recall=show_recall,
            highlight=highlight,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        normalize: str | None = "true",
        display_labels: Any = None,
        include_values: bool = True,
        xticks_rotation: Any = "horizontal",
        values_format: str | None = None,
        cmap: Any = "Blues",
        ax: Any = None,
        colorbar: bool = True,
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        show_recall: bool = True,
        highlight: int = 3,
    ) -> FERConfusionMatrixDisplay:
        """Predict ``X`` with a fitted classifier and plot the confusion matrix.

        Parameters
        ----------
        estimator : estimator
            A fitted classifier (e.g. :class:`~skfer.FERCNNClassifier`), a
            pipeline ending in one, or any scikit-learn classifier.
        X : array-like of shape (n_samples, 2304)
            Faces.
        y : array-like of shape (n_samples,)
            True labels.
        labels : array-like of shape (n_classes,), default=None
            Classes in order; default: the classifier's ``classes_`` (all
            seven, even one absent from ``y``).
        sample_weight, normalize, display_labels, include_values, \
xticks_rotation, values_format, cmap, ax, colorbar, im_kw, text_kw, \
show_recall, highlight
            See :meth:`from_predictions`.

        Returns
        -------
        display : FERConfusionMatrixDisplay
            The display, drawn.
        """
        method_name = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(method_name)
        if not is_classifier(estimator):
            raise ValueError(
                f"{method_name} only supports classifiers; got "
                f"{type(estimator).__name__}."
            )
        if labels is None:
            labels = getattr(estimator, "classes_", None)
        y_pred = estimator.predict(X)
        return cls.from_predictions(
            y,
            y_pred,
            labels=labels,
            sample_weight=sample_weight,
            normalize=normalize,
            display_labels=display_labels,
            include_values=include_values,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            cmap=cmap,
            ax=ax,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
            show_recall=show_recall,
            highlight=highlight,
        )
