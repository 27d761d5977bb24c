"""Saving and loading fitted skfer models safely.

``joblib.dump``/``joblib.load`` work on every skfer estimator (the Keras
network is stored inside the pickle in Keras's own format). These helpers add
what a bare ``joblib.dump`` lacks: the file is written to a temporary file in
the same folder and renamed into place, so an interrupted save never leaves a
half-written model, and loading checks that the file really holds a fitted
skfer model.

.. warning:: Like any pickle, a model file can run code when loaded: load
   only files you trust.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import joblib
from sklearn.base import BaseEstimator

__all__ = ["load_model", "save_model"]


def _fer_estimators(obj: Any, _depth: int = 0):
    """Yield the skfer classifiers inside an estimator (pipelines, ensembles...)."""
    from ._base import FERClassifierBase

    if _depth > 20:
        return
    if isinstance(obj, FERClassifierBase):
        yield obj
        return
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _fer_estimators(item, _depth + 1)
        return
    if not isinstance(obj, BaseEstimator):
        return
    for name, value in vars(obj).items():
        if name.endswith("_") or name in ("steps", "estimators", "estimator"):
            yield from _fer_estimators(value, _depth + 1)


def save_model(
    estimator: BaseEstimator, path: str | os.PathLike, **kwargs: Any
) -> Path:
    """Save a fitted estimator atomically with joblib.

    Parameters
    ----------
    estimator : estimator
        A fitted skfer classifier, or a fitted scikit-learn object holding one
        (pipeline, ``VotingClassifier``, ``GridSearchCV``...).
    path : str or path-like
        Destination file; its folder must exist.
    **kwargs : dict
        Passed to :func:`joblib.dump` (e.g. ``compress=3``).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If ``estimator`` holds no fitted skfer classifier.

    Examples
    --------
    >>> from skfer import save_model, load_model  # doctest: +SKIP
    >>> save_model(fitted_clf, "cnn.joblib")  # doctest: +SKIP
    >>> clf = load_model("cnn.joblib")  # doctest: +SKIP
    """
    path = Path(path)
    _check_fitted_fer(estimator, source=f"estimator {type(estimator).__name__}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Folder {str(path.parent)!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        joblib.dump(estimator, tmp, **kwargs)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_model(path: str | os.PathLike) -> BaseEstimator:
    """Load a model saved by :func:`save_model` (or ``joblib.dump``).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model` or ``joblib.dump``.

    Returns
    -------
    estimator : estimator
        The fitted estimator.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a joblib/pickle file, or holds no fitted skfer
        classifier.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfer import FERDNNClassifier, load_model, save_model
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(70, random_state=0)
    >>> clf = FERDNNClassifier(hidden_units=(8,), epochs=1, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model(clf, os.path.join(tmp, "dnn.joblib"))
    ...     loaded = load_model(path)
    >>> bool((loaded.predict(X) == clf.predict(X)).all())
    True
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {str(path)!r} does not exist.")
    try:
        obj = joblib.load(path)
    except Exception as exc:
        raise ValueError(
            f"{str(path)!r} is not a skfer model file (joblib could not read it: "
            f"{type(exc).__name__}: {exc})."
        ) from exc
    _check_fitted_fer(obj, source=repr(str(path)))
    return obj


def _check_fitted_fer(obj: Any, *, source: str) -> None:
    found = list(_fer_estimators(obj))
    if not found:
        raise ValueError(
            f"{source} holds no skfer classifier (got {type(obj).__name__}); "
            "expected a fitted skfer classifier (FERCNNClassifier, FERVGGClassifier, "
            "...) or a fitted "
            "pipeline, ensemble or search holding one."
        )
    if not any(est.__sklearn_is_fitted__() for est in found):
        raise ValueError(f"{source} holds a skfer classifier that is not fitted.")
