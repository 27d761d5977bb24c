"""Training curves: accuracy and loss per epoch, training vs validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._model import _final_estimator
from ._plotting import axes_grid

__all__ = ["TrainingCurvesDisplay"]

_METRICS = ("accuracy", "loss")


def _as_list(obj: Any) -> list:
    if isinstance(obj, (list, tuple)):
        return list(obj)
    return [obj]


def _check_histories(histories: Any, names: Any) -> tuple[list[dict], list[str]]:
    if (
        isinstance(histories, Mapping)
        and histories
        and all(isinstance(v, Mapping) for v in histories.values())
    ):
        if names is None:
            names = list(histories)
        histories = list(histories.values())
    histories = _as_list(histories)
    if not histories:
        raise ValueError("Expected at least one history; got none.")
    for i, history in enumerate(histories):
        if not isinstance(history, Mapping):
            raise TypeError(
                "Each history must be a dict of per-epoch lists such as a fitted "
                f"classifier's history_. Got {type(history).__name__} at position {i}."
            )
        missing = [m for m in _METRICS if m not in history]
        if missing:
            raise ValueError(
                f"History {i} has no {missing} entries; expected 'accuracy' and "
                f"'loss' (and 'val_accuracy', 'val_loss'). Got keys "
                f"{sorted(history)}."
            )
    if names is None:
        names = [f"model {i}" for i in range(len(histories))]
    names = [str(n) for n in _as_list(names)]
    if len(names) != len(histories):
        raise ValueError(
            f"names must have one entry per history: got {len(names)} names for "
            f"{len(histories)} histories."
        )
    clean = [
        {k: np.asarray(v, dtype=float) for k, v in history.items()}
        for history in histories
    ]
    return clean, names


class TrainingCurvesDisplay:
    """Accuracy and loss per epoch, training vs validation, for one or more models.

    One column per model (e.g. CNN and DNN side by side), rows accuracy and
    loss; the y axes of a row are shared so the models compare at a glance.
    Create it with :meth:`from_estimator` (fitted classifiers) or
    :meth:`from_history` (their ``history_`` dicts).

    Parameters
    ----------
    histories : list of dict of str to ndarray
        Per-epoch ``"accuracy"``, ``"loss"`` and optionally
        ``"val_accuracy"``, ``"val_loss"`` of each model.
    names : list of str
        One column title per model.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the curves.
    ax_ : ndarray of matplotlib Axes, shape (2, n_models)
        Row 0 accuracy, row 1 loss.
    lines_ : dict of (int, str) to matplotlib Line2D
        The curves, by ``(model index, history key)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfer.inspection import TrainingCurvesDisplay
    >>> history = {"accuracy": [0.3, 0.5], "loss": [1.8, 1.2],
    ...            "val_accuracy": [0.35, 0.45], "val_loss": [1.7, 1.4]}
    >>> disp = TrainingCurvesDisplay.from_history(history, names="CNN")
    >>> disp.ax_.shape
    (2, 1)
    """

    def __init__(self, histories: list[dict], names: list[str]) -> None:
        self.histories = histories
        self.names = names

    def plot(self, *, ax: Any = None) -> TrainingCurvesDisplay:
        """Draw accuracy (top) and loss (bottom) per epoch for each model.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            ``2 * n_models`` axes (e.g. ``plt.subplots(2, n_models)``), row 0
            for accuracy, row 1 for loss. None: a new figure.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, with ``figure_``, ``ax_`` and ``lines_`` set.
        """
        n = len(self.histories)
        fig, axes = axes_grid(ax, (2, n), owner="TrainingCurvesDisplay.plot", cell=3.2)
        lines = {}
        for j, (history, name) in enumerate(
            zip(self.histories, self.names, strict=True)
        ):
            for i, metric in enumerate(_METRICS):
                axis = axes[i, j]
                for key, label, style in (
                    (metric, "training", "-"),
                    (f"val_{metric}", "validation", "--"),
                ):
                    if key in history:
                        values = history[key]
                        epochs = np.arange(1, len(values) + 1)
                        (lines[j, key],) = axis.plot(
                            epochs, values, style, marker=".", label=label
                        )
                axis.set_xlabel("epoch")
                axis.set_ylabel(metric)
                axis.grid(True, alpha=0.3)
                axis.legend(fontsize="small")
            axes[0, j].set_title(name)
        for i in range(2):  # share each row's y range
            lows, highs = zip(*(axis.get_ylim() for axis in axes[i]), strict=True)
            for axis in axes[i]:
                axis.set_ylim(min(lows), max(highs))
        self.figure_, self.ax_, self.lines_ = fig, axes, lines
        return self

    @classmethod
    def from_history(
        cls,
        histories: Mapping | Sequence[Mapping],
        *,
        names: str | Sequence[str] | None = None,
        ax: Any = None,
    ) -> TrainingCurvesDisplay:
        """Draw curves from ``history_`` dicts.

        Parameters
        ----------
        histories : dict or list of dict
            One ``history_`` (dict of metric name to per-epoch values), a list
            of them, or a dict ``{name: history_}``.
        names : str or list of str, default=None
            Column titles (default: the dict keys, else "model 0", ...).
        ax : array-like of matplotlib Axes, default=None
            ``2 * n_models`` axes, or None for a new figure.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, drawn.
        """
        histories, names = _check_histories(histories, names)
        return cls(histories, names).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimators: Any,
        *,
        names: str | Sequence[str] | None = None,
        ax: Any = None,
    ) -> TrainingCurvesDisplay:
        """Draw the training curves of fitted classifiers.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of name to estimator
            Fitted skfer classifiers (:class:`~skfer.FERCNNClassifier`,
            :class:`~skfer.FERVGGClassifier`, ...; or pipelines ending in one):
            their ``history_`` is drawn. Validation curves need a validation
            set during fit (``validation_fraction > 0`` or
            ``validation_data``).
        names : str or list of str, default=None
            Column titles (default: the dict keys, else the class names).
        ax : array-like of matplotlib Axes, default=None
            ``2 * n_models`` axes, or None for a new figure.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, drawn.
        """
        if isinstance(estimators, Mapping):
            if names is None:
                names = list(estimators)
            estimators = list(estimators.values())
        estimators = _as_list(estimators)
        histories = []
        for est in estimators:
            final = _final_estimator(est, strict=False)
            history = getattr(final, "history_", None)
            if history is None:
                raise ValueError(
                    f"{type(final).__name__} has no history_: expected a fitted "
                    "skfer classifier (or a pipeline ending in one). Call fit "
                    "first, or use from_history with a dict of per-epoch lists."
                )
            histories.append(history)
        if names is None:
            names = [
                type(_final_estimator(e, strict=False)).__name__ for e in estimators
            ]
            if len(set(names)) < len(names):
                names = [f"{n} ({i})" for i, n in enumerate(names)]
        return cls.from_history(histories, names=names, ax=ax)
