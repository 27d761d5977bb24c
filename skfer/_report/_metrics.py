"""Scores of a fitted classifier, and the provenance recorded next to them."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

import numpy as np

__all__ = ["library_versions", "score_model"]

#: distributions whose versions metrics.json records
_DISTRIBUTIONS = (
    "skfer",
    "numpy",
    "scikit-learn",
    "imbalanced-learn",
    "tensorflow",
    "keras",
    "scikeras",
    "matplotlib",
    "joblib",
)


def score_model(estimator: Any, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro-F1 and per-class recall on ``(X, y)``.

    Parameters
    ----------
    estimator : estimator
        A fitted classifier.
    X : ndarray of shape (n_samples, 2304)
        Faces.
    y : ndarray of shape (n_samples,)
        True labels 0..6.

    Returns
    -------
    scores : dict
        ``n_samples``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``,
        ``recall`` (emotion name to recall, null for a class absent from
        ``y``), and ``recall_disgust`` / ``recall_fear`` repeated at the top
        level because they are the hard, rare classes of FER2013.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        recall_score,
    )

    from ..datasets import EMOTIONS

    y = np.asarray(y)
    pred = np.asarray(estimator.predict(X))
    labels = np.arange(len(EMOTIONS))
    present = np.isin(labels, y)
    recalls = recall_score(y, pred, labels=labels, average=None, zero_division=0)
    recall = {
        name: (float(r) if ok else None)
        for name, r, ok in zip(EMOTIONS, recalls, present, strict=True)
    }
    return {
        "n_samples": int(y.size),
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(
            f1_score(y, pred, labels=labels[present], average="macro", zero_division=0)
        ),
        "recall_disgust": recall["Disgust"],
        "recall_fear": recall["Fear"],
        "recall": recall,
    }


def library_versions() -> dict[str, str | None]:
    """Python and library versions (None for one that is not installed).

    Returns
    -------
    versions : dict of str to str or None
        ``python`` and each distribution skfer's results depend on.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
