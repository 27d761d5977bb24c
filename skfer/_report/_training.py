"""Data, models and training for the ``skfer`` report, train and evaluate commands.

Everything here composes the library; the only logic of its own is the
choice of the quick settings used on the synthetic faces, and keeping the
best weights when training is interrupted with Ctrl-C.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

__all__ = [
    "MODEL_NAMES",
    "NETWORK_NAMES",
    "FitResult",
    "fit_with_progress",
    "load_splits",
    "make_ensemble",
    "make_estimator",
    "parse_models",
]

#: the model names the commands accept, in report order
MODEL_NAMES: tuple[str, ...] = ("cnn", "dnn", "vgg", "resnet", "densenet", "ensemble")
#: the single networks among them, in report order
NETWORK_NAMES: tuple[str, ...] = ("cnn", "dnn", "vgg", "resnet", "densenet")

#: the held-out splits of FER2013, in report order
TEST_SPLITS: tuple[str, ...] = ("PublicTest", "PrivateTest")
#: every split name a test set can have (synthetic test faces are "Test")
_ALL_TEST_SPLITS: tuple[str, ...] = (*TEST_SPLITS, "Test")


def parse_models(text: str | list[str]) -> list[str]:
    """Turn ``"cnn,dnn"`` into ``["cnn", "dnn"]``, checking every name.

    Parameters
    ----------
    text : str or list of str
        Comma-separated model names (any case, spaces allowed).

    Returns
    -------
    names : list of str
        Unique names, in :data:`MODEL_NAMES` order.

    Raises
    ------
    ValueError
        If a name is unknown or none is given.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [item.strip().lower() for item in items if item.strip()]
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown:
        raise ValueError(
            f"unknown model name(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(MODEL_NAMES)} (comma-separated)."
        )
    if not names:
        raise ValueError(f"no model given; choose from {', '.join(MODEL_NAMES)}.")
    return [name for name in MODEL_NAMES if name in names]


def load_splits(
    data: str | os.PathLike[str] | None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    splits: tuple[str, ...] = ("Training", *TEST_SPLITS),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load the training and test splits, from FER2013 or synthetic faces.

    Parameters
    ----------
    data : str, path-like or None
        A FER2013 file or folder (any layout :func:`~skfer.datasets.load_fer2013`
        reads), or None for :func:`~skfer.datasets.make_expressions` faces.
    n_train : int, default=None
        Training faces: a random subset of FER2013's Training split (None:
        all of it), or the number of synthetic faces (None: 2000).
    n_test : int, default=None
        The same for each test split (synthetic default: 700).
    seed : int, default=0
        Seeds the synthetic faces (test faces use ``seed + 1``) and the
        subsets.
    splits : tuple of str, default=("Training", "PublicTest", "PrivateTest")
        The splits wanted; those the data lacks are left out.

    Returns
    -------
    splits : dict of str to (X, y)
        ``X`` of shape (n_samples, 2304) uint8 and ``y`` of shape (n_samples,),
        keyed by FER2013 Usage name.

    Raises
    ------
    ValueError
        If the data cannot be read, or holds no labelled faces of a split
        that is needed.
    """
    if data is None:
        from ..datasets import make_expressions

        out = {}
        if "Training" in splits:
            out["Training"] = make_expressions(n_train or 2000, random_state=seed)
        if set(splits) & set(TEST_SPLITS):
            # held-out synthetic faces: named "Test", never a FER2013 split name
            out["Test"] = make_expressions(n_test or 700, random_state=seed + 1)
        return out

    from ..datasets import load_fer2013

    try:
        bunch = load_fer2013(data)
    except (ValueError, OSError) as exc:
        raise ValueError(f"cannot read FER2013 data from {str(data)!r}: {exc}") from exc
    except Exception as exc:  # any parser failure is still "unreadable data"
        raise ValueError(
            f"cannot read FER2013 data from {str(data)!r}: {type(exc).__name__}: {exc}"
        ) from exc
    rng = np.random.RandomState(seed)
    out = {}
    for split in splits:
        keep = (bunch.usage == split) & (np.asarray(bunch.target) >= 0)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            continue
        limit = n_train if split == "Training" else n_test
        if limit is not None and limit < idx.size:
            idx = np.sort(rng.choice(idx, limit, replace=False))
        out[split] = (bunch.data[idx], np.asarray(bunch.target)[idx])
    if "Training" in splits and "Training" not in out:
        raise ValueError(
            f"{str(data)!r} holds no labelled Training faces "
            f"(found splits: {sorted(set(bunch.usage.tolist()))})."
        )
    if not set(out) & set(_ALL_TEST_SPLITS) and set(splits) & set(TEST_SPLITS):
        raise ValueError(
            f"{str(data)!r} holds no labelled PublicTest or PrivateTest faces "
            f"(found splits: {sorted(set(bunch.usage.tolist()))})."
        )
    return out


def make_estimator(
    name: str, *, synthetic: bool, epochs: int | None = None, seed: int = 0
) -> Any:
    """The unfitted estimator of one of :data:`NETWORK_NAMES`.

    Parameters
    ----------
    name : {"cnn", "dnn", "vgg", "resnet", "densenet"}
        Which network.
    synthetic : bool
        True: small, quick networks that learn :func:`make_expressions`
        faces in seconds. False: the study's networks with their defaults,
        after a :class:`~skfer.MirrorSampler` in an imbalanced-learn pipeline,
        or :class:`~skfer.FERVGGClassifier`,
        :class:`~skfer.FERResNetClassifier` or
        :class:`~skfer.FERDenseNetClassifier` with its defaults (their recipe
        mirrors faces in its own input pipeline).
    epochs : int, default=None
        Maximum epochs (None: 10 on synthetic faces, the classifier's
        default on FER2013: 30 for the study's, 60 for the VGG, the ResNet
        and the DenseNet).
    seed : int, default=0
        ``random_state`` of the network.

    Returns
    -------
    estimator : estimator
        A classifier (synthetic) or an ``imblearn`` pipeline (FER2013).
    """
    from .. import (
        FERCNNClassifier,
        FERDenseNetClassifier,
        FERDNNClassifier,
        FERResNetClassifier,
        FERVGGClassifier,
    )

    if name not in NETWORK_NAMES:
        raise ValueError(
            f"make_estimator builds {', '.join(map(repr, NETWORK_NAMES))}. "
            f"Got {name!r}."
        )
    if name in ("vgg", "resnet", "densenet"):
        params: dict[str, Any] = {"random_state": seed}
        if synthetic:
            params.update(batch_size=32, warmup_epochs=1, epochs=epochs or 10)
            if name == "vgg":
                params.update(block_filters=(8, 16, 32), dense_units=(32,))
            elif name == "resnet":
                params.update(stage_filters=(8, 16, 32))
            else:
                params.update(stem_filters=8, block_layers=(2, 2, 2), growth_rate=8)
        elif epochs is not None:
            params["epochs"] = epochs
        if name == "vgg":
            return FERVGGClassifier(**params)
        if name == "resnet":
            return FERResNetClassifier(**params)
        return FERDenseNetClassifier(**params)
    if synthetic:
        common = dict(
            batch_size=32, epochs=epochs or 10, patience=None, random_state=seed
        )
        if name == "cnn":
            return FERCNNClassifier(
                conv_filters=(16,) * 6,
                dense_units=(64,),
                conv_dropout=0.0,
                dense_dropout=0.2,
                activation="elu",
                **common,
            )
        return FERDNNClassifier(
            hidden_units=(256, 128), dropout=0.2, activation="elu", **common
        )
    from imblearn.pipeline import make_pipeline

    from ..augmentation import MirrorSampler

    cls = FERCNNClassifier if name == "cnn" else FERDNNClassifier
    params = {"random_state": seed}
    if epochs is not None:
        params["epochs"] = epochs
    return make_pipeline(MirrorSampler(), cls(**params))


def make_ensemble(members: dict[str, Any], X: np.ndarray, y: np.ndarray) -> Any:
    """A soft-voting ensemble of already fitted members (not refitted).

    Parameters
    ----------
    members : dict of str to estimator
        Fitted classifiers or pipelines.
    X : ndarray of shape (n_samples, 2304)
        Training faces (only ``y``'s classes are used: members stay frozen).
    y : ndarray of shape (n_samples,)
        Training labels.

    Returns
    -------
    ensemble : sklearn.ensemble.VotingClassifier
        Fitted, averaging the members' ``predict_proba``.
    """
    from sklearn.ensemble import VotingClassifier
    from sklearn.frozen import FrozenEstimator

    voting = VotingClassifier(
        [(name, FrozenEstimator(est)) for name, est in members.items()],
        voting="soft",
    )
    return voting.fit(X, y)


def final_classifier(estimator: Any) -> Any:
    """The skfer classifier at the end of a pipeline (or the estimator)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


@dataclass
class FitResult:
    """What :func:`fit_with_progress` reports about one training run.

    Attributes
    ----------
    seconds : float
        Wall-clock training time.
    epochs : int
        Epochs completed.
    interrupted : bool
        True if Ctrl-C stopped training (the best weights so far are kept).
    best_epoch : int or None
        1-based epoch whose weights the model holds when interrupted.
    """

    seconds: float
    epochs: int
    interrupted: bool = False
    best_epoch: int | None = None
    extra: dict = field(default_factory=dict)


def _progress_callback(label: str, epochs: int, quiet: bool, stream: TextIO) -> Any:
    from .._tf import keras

    class _Progress(keras.callbacks.Callback):
        """Prints epoch/ETA lines and keeps the best weights and the history."""

        def __init__(self) -> None:
            super().__init__()
            self.history: dict[str, list[float]] = {}
            self.best_value = math.inf
            self.best_weights: list | None = None
            self.best_epoch: int | None = None
            self.start = time.perf_counter()

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            for key, value in logs.items():
                self.history.setdefault(key, []).append(float(value))
            value = logs.get("val_loss", logs.get("loss"))
            if value is not None and float(value) < self.best_value:
                self.best_value = float(value)
                self.best_weights = self.model.get_weights()
                self.best_epoch = epoch + 1
            if quiet:
                return
            done = epoch + 1
            elapsed = time.perf_counter() - self.start
            eta = elapsed / done * max(epochs - done, 0)
            scores = "  ".join(
                f"{key} {logs[key]:.3f}"
                for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                if key in logs
            )
            print(
                f"{label}: epoch {done}/{epochs}  {scores}  "
                f"{elapsed:.0f} s, ETA {eta:.0f} s",
                file=stream,
                flush=True,
            )

    return _Progress()


def fit_with_progress(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    label: str = "model",
    quiet: bool = False,
    stream: TextIO | None = None,
    callbacks: list | None = None,
) -> FitResult:
    """Fit ``estimator``, printing one line per epoch; Ctrl-C keeps the best.

    A :class:`KeyboardInterrupt` during training stops it; the network keeps
    the weights of its best epoch so far (lowest validation loss, or
    training loss without a validation set), ``history_`` and ``n_iter_``
    are set, and the result says ``interrupted=True``. If not one epoch was
    completed, the interrupt is raised again.

    Parameters
    ----------
    estimator : estimator
        An unfitted skfer classifier or a pipeline ending in one.
    X : ndarray of shape (n_samples, 2304)
        Training faces.
    y : ndarray of shape (n_samples,)
        Training labels.
    label : str, default="model"
        Prefix of the progress lines.
    quiet : bool, default=False
        Print nothing.
    stream : file-like, default=None
        Where progress goes (default: ``sys.stdout``).
    callbacks : list of keras.callbacks.Callback, default=None
        Extra callbacks for this fit only (tests use one to interrupt).

    Returns
    -------
    result : FitResult
        Training time, epochs, and whether training was interrupted.
    """
    stream = sys.stdout if stream is None else stream
    clf = final_classifier(estimator)
    progress = _progress_callback(label, int(clf.epochs), quiet, stream)
    clf.set_params(callbacks=[progress, *(callbacks or [])])
    start = time.perf_counter()
    try:
        estimator.fit(X, y)
    except KeyboardInterrupt:
        if not hasattr(clf, "model_") or progress.best_weights is None:
            raise
        clf.model_.set_weights(progress.best_weights)
        clf.history_ = progress.history
        clf.n_iter_ = len(progress.history.get("loss", []))
        return FitResult(
            time.perf_counter() - start,
            clf.n_iter_,
            interrupted=True,
            best_epoch=progress.best_epoch,
        )
    finally:
        # the progress callback holds the network: never pickle it
        clf.set_params(callbacks=None)
        if hasattr(clf, "_fit_callbacks"):
            del clf._fit_callbacks
            clf._initialize_callbacks()
    return FitResult(time.perf_counter() - start, int(clf.n_iter_))
