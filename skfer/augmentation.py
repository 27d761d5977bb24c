"""Train-time augmentation: horizontal mirroring as an imbalanced-learn sampler.

A scikit-learn transformer cannot add samples (``y`` would not follow), so the
mirror step is a *sampler*: it implements ``fit_resample`` and no
``transform``. imbalanced-learn's :class:`~imblearn.pipeline.Pipeline` calls
it during ``fit`` only and skips it at ``predict``/``score`` time, which is
exactly train-time augmentation, and is why the step cannot leak mirrored
faces into cross-validation test folds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_consistent_length

from .datasets._labels import IMAGE_SIDE, N_PIXELS

__all__ = ["MirrorSampler", "flip_horizontal", "mirror_groups"]


def _check_faces(X, *, name: str = "X") -> np.ndarray:
    X = check_array(X, dtype=None, ensure_all_finite=True, input_name=name)
    if X.shape[1] != N_PIXELS:
        raise ValueError(
            f"{name} must hold 48x48 faces: n_features must be {N_PIXELS}. "
            f"Got {X.shape[1]} instead."
        )
    return X


def flip_horizontal(X: np.ndarray) -> np.ndarray:
    """Mirror flat 48x48 faces left to right.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2304)
        Faces in FER2013's flat row-major layout, any dtype.

    Returns
    -------
    X_flipped : ndarray of shape (n_samples, 2304)
        A new array of the same dtype holding the mirrored faces.

    Examples
    --------
    >>> import numpy as np
    >>> from skfer import flip_horizontal
    >>> X = np.arange(2304).reshape(1, 2304)
    >>> int(flip_horizontal(X)[0, 0])  # the first row's last pixel
    47
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(
            f"X must have shape (n_samples, {N_PIXELS}). Got {X.shape} instead."
        )
    n = X.shape[0]
    images = X.reshape(n, IMAGE_SIDE, IMAGE_SIDE)
    return np.ascontiguousarray(images[:, :, ::-1]).reshape(n, N_PIXELS)


def _row_hashes(X: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """64-bit content hash of each row (wrap-around polynomial, vectorised)."""
    X = np.ascontiguousarray(X)
    row_bytes = X.shape[1] * X.itemsize
    pad = (-row_bytes) % 8
    raw = X.view(np.uint8).reshape(X.shape[0], row_bytes)
    if pad:
        raw = np.concatenate([raw, np.zeros((raw.shape[0], pad), np.uint8)], axis=1)
    words = raw.view(np.uint64)
    mult = np.random.default_rng(0x5EED).integers(
        1, 2**63, size=words.shape[1], dtype=np.uint64, endpoint=False
    ) | np.uint64(1)
    out = np.empty(X.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, X.shape[0], chunk):
            block = words[start : start + chunk]
            out[start : start + chunk] = (block * mult).sum(axis=1, dtype=np.uint64)
    return out


def mirror_groups(X: np.ndarray) -> np.ndarray:
    """Group faces that are identical up to a horizontal mirror.

    A face, its exact mirror image and its exact duplicates get the same group
    id. Used to split validation data so that no validation face is (a mirror
    of) a training face, whatever augmentation ran before the split.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Faces. With ``n_features == 2304`` mirrors are grouped; with any other
        width only exact duplicates are.

    Returns
    -------
    groups : ndarray of shape (n_samples,) of int
        Group ids in ``0..n_groups-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfer.augmentation import flip_horizontal, mirror_groups
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(3, 2304), dtype=np.uint8)
    >>> mirror_groups(np.vstack([X, flip_horizontal(X)])).tolist()
    [0, 1, 2, 0, 1, 2]
    """
    X = np.asarray(X)
    keys = _row_hashes(X)
    if X.shape[1] == N_PIXELS:
        keys = np.minimum(keys, _row_hashes(flip_horizontal(X)))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # number groups by first appearance, for readable, order-stable ids
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inverse].astype(np.intp)


class MirrorSampler(BaseEstimator):
    """Mirror faces horizontally during ``fit`` only (an imbalanced-learn sampler).

    Put it in an :class:`imblearn.pipeline.Pipeline` in front of a classifier:
    ``make_pipeline(MirrorSampler(), FERCNNClassifier())``. During ``fit`` the
    pipeline calls :meth:`fit_resample`; at ``predict``/``score`` time the step
    is skipped, so test faces are never augmented.

    Parameters
    ----------
    mode : {"add", "random"}, default="add"
        ``"add"`` appends a mirrored copy of every face (the study's doubling):
        the originals come first, in their order, then their mirrors in the
        same order. ``"random"`` mirrors each face in place with probability
        ``p``, keeping the number of samples.
    p : float, default=0.5
        Probability of mirroring a face when ``mode="random"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of faces to mirror when ``mode="random"``.

    Notes
    -----
    ``"random"`` draws once per ``fit``; for a fresh draw every epoch use the
    classifiers' ``random_flip=True`` instead, which flips inside the input
    pipeline after the early-stopping split.

    The classifiers split their early-stopping validation data by
    :func:`mirror_groups`, so a face and its mirror added by this step always
    land on the same side, and only the first (original) one is kept for
    validation. Mirroring *before* splitting off validation data is what made
    the original study's validation accuracy ~5% too optimistic.

    Examples
    --------
    >>> import numpy as np
    >>> from skfer import MirrorSampler
    >>> X = np.zeros((4, 2304), dtype=np.uint8); y = np.array([0, 1, 2, 3])
    >>> X_res, y_res = MirrorSampler().fit_resample(X, y)
    >>> X_res.shape, y_res.tolist()
    ((8, 2304), [0, 1, 2, 3, 0, 1, 2, 3])
    """

    def __init__(
        self,
        mode: str = "add",
        p: float = 0.5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.mode = mode
        self.p = p
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MirrorSampler:
        """Validate the parameters and the data; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304)
            Faces.
        y : array-like of shape (n_samples,), default=None
            Labels.

        Returns
        -------
        self : MirrorSampler
            The sampler.
        """
        self._check_params()
        X = _check_faces(X)
        if y is not None:
            check_consistent_length(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def fit_resample(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> tuple[np.ndarray, ...]:
        """Return the faces with mirrored copies (or random mirrors) and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304)
            Faces in FER2013's flat layout (any numeric dtype; kept).
        y : array-like of shape (n_samples,)
            Labels, repeated for the added mirrors.
        sample_weight : array-like of shape (n_samples,), default=None
            If given, it is resampled like ``y`` and returned third.

        Returns
        -------
        X_resampled : ndarray of shape (n_samples_new, 2304)
            ``2 * n_samples`` rows for ``mode="add"``, else ``n_samples``.
        y_resampled : ndarray of shape (n_samples_new,)
            Labels of the returned faces.
        sample_weight_resampled : ndarray of shape (n_samples_new,)
            Only when ``sample_weight`` was given.
        """
        self.fit(X, y)
        X = _check_faces(X)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D. Got an array of shape {y.shape}.")
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            check_consistent_length(X, sample_weight)
        return self._fit_resample(X, y, sample_weight)

    def _check_params(self) -> None:
        if self.mode not in ("add", "random"):
            raise ValueError(
                f"mode must be 'add' or 'random'. Got {self.mode!r} instead."
            )
        if not 0.0 <= float(self.p) <= 1.0:
            raise ValueError(f"p must be in [0, 1]. Got {self.p!r} instead.")

    def _fit_resample(self, X, y, sample_weight):
        if self.mode == "add":
            out = (np.concatenate([X, flip_horizontal(X)]), np.concatenate([y, y]))
            if sample_weight is not None:
                out += (np.concatenate([sample_weight, sample_weight]),)
            return out
        rng = check_random_state(self.random_state)
        chosen = rng.random_sample(X.shape[0]) < self.p
        X = X.copy()
        X[chosen] = flip_horizontal(X[chosen])
        out = (X, y.copy())
        if sample_weight is not None:
            out += (sample_weight.copy(),)
        return out
