"""Shared machinery of the skfer classifiers (a scikeras ``KerasClassifier``).

Subclasses list their hyper-parameters in an explicit ``__init__`` and
implement ``_build_network(meta, seed)``; everything else (validation, the
mirror-aware early-stopping split, the ``tf.data`` input pipeline, seeding,
persistence hygiene) lives here once.
"""

from __future__ import annotations

import difflib
import numbers
import pickle
import warnings
import weakref
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_consistent_length,
    column_or_1d,
)

from ._compat import classifier_tags
from ._recipe import (
    LR_SCHEDULES,
    PRECISIONS,
    CosineSchedule,
    SmoothedSparseCrossentropy,
    check_tta,
    mixup_fn,
    precision_scope,
    random_affine_fn,
    random_erasing_fn,
    random_shift_fn,
    tta_views,
    view_indices,
    warn_if_bfloat16_is_emulated,
)
from ._tf import BaseWrapper, KerasClassifier, keras, tf, without_global_tf_seed
from .augmentation import mirror_groups
from .datasets._labels import IMAGE_SIDE, N_PIXELS

_FIT_KWARGS = ("validation_data", "soft_targets")

#: Faces per call of the compiled forward pass at predict time (at least
#: ``batch_size``); see ``FERClassifierBase._forward`` and benchmarks/README.md.
_PREDICT_BATCH = 256

#: compiled forward passes, one per live network (see ``_forward``)
_FORWARD_FNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _as_flat_pixels(X: Any, *, name: str = "X") -> np.ndarray:
    """Validate X and bring images ``(n, 48, 48[, 1])`` to ``(n, 2304)``."""
    X = check_array(
        X,
        dtype=None,
        allow_nd=True,
        ensure_all_finite=True,
        accept_sparse=False,
        input_name=name,
    )
    if X.dtype.kind not in "uif":
        if X.dtype.kind == "b":
            X = X.astype(np.float32)
        else:
            X = check_array(X, dtype=np.float32, input_name=name)
    if X.ndim == 2:
        return X
    side = (IMAGE_SIDE, IMAGE_SIDE)
    if X.shape[1:] in (side, (*side, 1)):
        return X.reshape(X.shape[0], N_PIXELS)
    raise ValueError(
        f"{name} must be 2-D of shape (n_samples, {N_PIXELS}) or images of shape "
        f"(n_samples, 48, 48) or (n_samples, 48, 48, 1). Got shape {X.shape}."
    )


def _network_input(X: np.ndarray) -> np.ndarray:
    """uint8 and float32 go to TensorFlow as they are; anything else as float32."""
    return X if X.dtype in (np.uint8, np.float32) else X.astype(np.float32)


def _tf_flip_flat(x, mask):
    """Mirror the rows of a flat ``(b, 2304)`` batch where ``mask`` is True."""
    images = tf.reshape(x, (-1, IMAGE_SIDE, IMAGE_SIDE))
    flipped = tf.reshape(tf.reverse(images, axis=[2]), tf.shape(x))
    return tf.where(mask[:, None], flipped, x)


def _make_dataset(
    X,
    y,
    w,
    *,
    batch_size,
    shuffle,
    flip,
    seed,
    shift=0,
    erase=0.0,
    rotation=0.0,
    zoom=0.0,
    mixup=0.0,
):
    """A ``tf.data`` pipeline from uint8/float32 arrays: shuffle, batch, flip,
    shift (or warp), erase, cast, mix.

    Faces stay uint8 in memory; the cast to float32 (and the optional random
    mirror and translation by up to ``shift`` pixels) happens per batch inside
    the graph. With ``rotation`` or ``zoom``, the translation, rotation and
    zoom are one affine warp (:func:`random_affine_fn`) instead. With
    ``mixup``, each batch is then mixed with itself reversed
    (:func:`mixup_fn`; ``y`` must be class distributions). The random
    streams depend on ``seed`` alone, not on TensorFlow's global seed (see
    ``without_global_tf_seed``).
    """
    with without_global_tf_seed():
        return _build_dataset(
            X,
            y,
            w,
            batch_size,
            shuffle,
            flip,
            seed,
            shift,
            erase,
            rotation,
            zoom,
            mixup,
        )


def _seeded_keys(seed, offset: int):
    """A seeded stream of int64 keys, one per element (per batch once zipped)."""
    return tf.data.Dataset.random(
        seed=None if seed is None else (int(seed) + offset) % 2**31,
        rerandomize_each_iteration=True,
    )


def _build_dataset(
    X, y, w, batch_size, shuffle, flip, seed, shift, erase, rotation, zoom, mixup
):
    tensors = (X, y) if w is None else (X, y, w)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if flip:
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, coins.batch(batch_size)))

        def flip_batch(batch, bits):
            x = batch[0]
            mask = tf.equal(bits[: tf.shape(x)[0]] % 2, 1)
            return (_tf_flip_flat(x, mask), *batch[1:])

        ds = ds.map(flip_batch, num_parallel_calls=1, deterministic=True)
    if rotation or zoom:
        warp = random_affine_fn(int(shift), float(rotation), float(zoom))
        ds = tf.data.Dataset.zip((ds, _seeded_keys(seed, 4211)))

        def warp_batch(batch, key):
            return (warp(batch[0], key), *batch[1:])

        ds = ds.map(warp_batch, num_parallel_calls=1, deterministic=True)
    elif shift:
        move = random_shift_fn(int(shift), seed)

        def shift_batch(x, *rest):
            return (move(x), *rest)

        ds = ds.map(shift_batch, num_parallel_calls=1, deterministic=True)
    if erase:
        wipe = random_erasing_fn(erase)
        ds = tf.data.Dataset.zip((ds, _seeded_keys(seed, 7919)))

        def erase_batch(batch, key):
            return (wipe(batch[0], key), *batch[1:])

        ds = ds.map(erase_batch, num_parallel_calls=1, deterministic=True)

    def cast(x, *rest):
        return (tf.cast(x, tf.float32), *rest)

    ds = ds.map(cast, num_parallel_calls=1, deterministic=True)
    if mixup:
        mix = mixup_fn(mixup)
        ds = tf.data.Dataset.zip((ds, _seeded_keys(seed, 104729)))

        def mix_batch(batch, key):
            return mix(*batch, key)

        ds = ds.map(mix_batch, num_parallel_calls=1, deterministic=True)
    return ds.prefetch(2)


def mirror_aware_split(
    X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into training and validation indices, by mirror group.

    Faces that are equal up to a horizontal mirror (see
    :func:`~skfer.augmentation.mirror_groups`) fall on the same side; the
    split is stratified by class over groups; of each validation group only
    its first row is kept, so validation faces are neither mirrors of
    training faces nor augmented copies.
    """
    groups = mirror_groups(X)
    n_groups = groups.max() + 1
    first_row = np.full(n_groups, len(groups), dtype=np.intp)
    np.minimum.at(first_row, groups, np.arange(len(groups)))
    group_label = y[first_row]
    val_group = np.zeros(n_groups, dtype=bool)
    for label in np.unique(group_label):
        members = np.flatnonzero(group_label == label)
        k = int(np.floor(fraction * len(members)))
        if k:
            val_group[rng.choice(members, size=k, replace=False)] = True
    train_idx = np.flatnonzero(~val_group[groups])
    val_idx = np.sort(first_row[val_group])
    return train_idx, val_idx


def _check_soft_targets(soft, X, y) -> np.ndarray:
    """``fit``'s ``soft_targets`` as float32, checked against ``X`` and ``y``.

    Raises ValueError naming the expected shape, or the first row that is
    not a distribution (negative, not finite or not summing to 1).
    """
    try:
        n_samples = _num_samples(X)
        classes = np.unique(np.asarray(y)).tolist()
    except (TypeError, ValueError):
        return soft  # the regular checks of X and y raise
    n_classes = len(classes)
    try:
        soft = np.asarray(soft, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "soft_targets must be a numeric array of shape (n_samples, "
            f"n_classes) = ({n_samples}, {n_classes})."
        ) from None
    if soft.shape != (n_samples, n_classes):
        raise ValueError(
            f"soft_targets has shape {soft.shape}; expected (n_samples, "
            f"n_classes) = ({n_samples}, {n_classes}), one distribution over "
            f"the classes {classes} per face."
        )
    bad = ~np.isfinite(soft).all(axis=1) | (soft < 0).any(axis=1)
    bad |= ~(np.abs(soft.sum(axis=1) - 1.0) <= 1e-3)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"soft_targets row {row} is {soft[row].round(4).tolist()}: each row "
            f"must be non-negative, finite and sum to 1 ({int(bad.sum())} "
            "row(s) are not)."
        )
    return soft.astype(np.float32)


class FERClassifierBase(KerasClassifier):
    """Base class of the skfer classifiers; not meant to be used directly.

    It keeps scikeras's machinery (routed parameters such as
    ``optimizer__beta_1``, target encoding, pickling of the Keras model) and
    replaces what FER2013 needs done differently: input validation and
    reshaping, the early-stopping split, the input pipeline and seeding.
    """

    # scikeras reads these; they are fixed by design, not hyper-parameters
    model = None
    build_fn = None
    loss = "sparse_categorical_crossentropy"
    metrics = None

    #: whether the network needs 48x48 faces (n_features == 2304)
    _needs_faces = True

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    # ------------------------------------------------------------ building
    def _seed(self) -> int | None:
        """The integer seed of the current fit (None: unseeded)."""
        return getattr(self, "_fit_seed", None)

    def _build_network(self, meta: dict, seed: int | None):  # pragma: no cover
        raise NotImplementedError

    def _make_optimizer(self):
        routed = {
            key.split("__", 1)[1]: value
            for key, value in self.get_params().items()
            if key.startswith("optimizer__")
        }
        routed.setdefault("learning_rate", self.learning_rate)
        opt = self.optimizer
        if isinstance(opt, keras.optimizers.Optimizer):
            return opt.__class__.from_config({**opt.get_config(), **routed})
        if isinstance(opt, type) and issubclass(opt, keras.optimizers.Optimizer):
            return opt(**routed)
        if isinstance(opt, str):
            try:
                cls = type(keras.optimizers.get(opt))
            except ValueError:
                raise ValueError(
                    f"Unknown optimizer {opt!r}; use a Keras optimizer name such "
                    "as 'adam', 'sgd' or 'rmsprop', or a keras.optimizers class."
                ) from None
            return cls(**routed)
        raise TypeError(
            "optimizer must be a Keras optimizer name, class or instance. "
            f"Got {opt!r} instead."
        )

    def _keras_build_fn(self, meta: dict) -> keras.Model:
        if not float(self.learning_rate) > 0:
            raise ValueError(
                f"learning_rate must be > 0. Got {self.learning_rate!r} instead."
            )
        with precision_scope(self.precision):
            model = self._build_network(meta, self._seed())
        self._compile(model, self._make_optimizer(), soft=False)
        return model

    def _compile(self, model, optimizer, *, soft: bool) -> None:
        """Compile ``model`` for integer labels or (``soft``) class distributions.

        The loss and the accuracy metric depend on the kind of target, so a
        fit whose kind differs from the previous one recompiles (keeping the
        optimiser and its state).
        """
        smoothing = float(self.label_smoothing)
        model.compile(
            optimizer=optimizer,
            loss=(
                keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
                if soft
                else SmoothedSparseCrossentropy(smoothing)
                if smoothing
                else "sparse_categorical_crossentropy"
            ),
            metrics=["accuracy"],
            jit_compile=False,  # measured slower for these networks on CPU
        )
        model._skfer_soft_targets = soft

    def _initialize(self, X, y=None):
        # Release the previous network before building a new one, so repeated
        # fits (grid search, ensembles) do not accumulate Keras state.
        if hasattr(self, "model_"):
            del self.model_
        keras.backend.clear_session(free_memory=False)
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            rs = int(rs.randint(2**31 - 1))
        elif rs is not None and not isinstance(rs, (int, np.integer)):
            raise ValueError(
                "random_state must be None, an int or a numpy RandomState. "
                f"Got {rs!r} instead."
            )
        self._fit_seed = None if rs is None else int(rs)
        return super()._initialize(X, y)

    # ---------------------------------------------------------- validation
    def _check_params(self) -> None:
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1. Got {value!r} instead.")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(
                "validation_fraction must be in [0, 1). "
                f"Got {self.validation_fraction!r} instead."
            )
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ValueError(
                "label_smoothing must be in [0, 1). "
                f"Got {self.label_smoothing!r} instead."
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}. "
                f"Got {self.lr_schedule!r} instead."
            )
        for name in ("warmup_epochs", "random_shift"):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, np.integer))
                or isinstance(value, bool)
                or value < 0
            ):
                raise ValueError(f"{name} must be an int >= 0. Got {value!r} instead.")
        if self.random_shift >= IMAGE_SIDE // 2:
            raise ValueError(
                f"random_shift must be < {IMAGE_SIDE // 2} pixels. "
                f"Got {self.random_shift!r} instead."
            )
        erasing = self.random_erasing
        if (
            not isinstance(erasing, (numbers.Real, np.floating))
            or isinstance(erasing, bool)
            or not 0.0 <= erasing <= 1.0
        ):
            raise ValueError(
                "random_erasing must be a probability in [0, 1]. "
                f"Got {erasing!r} instead."
            )
        mixup = self.mixup
        if (
            not isinstance(mixup, (numbers.Real, np.floating))
            or isinstance(mixup, bool)
            or not 0.0 <= mixup < float("inf")
        ):
            raise ValueError(
                "mixup must be a finite number >= 0 (the Beta distribution's "
                f"alpha; 0 turns mixup off). Got {mixup!r} instead."
            )
        for name, top in (("random_rotation", 180.0), ("random_zoom", 1.0)):
            value = getattr(self, name)
            if (
                not isinstance(value, (numbers.Real, np.floating))
                or isinstance(value, bool)
                or not 0.0 <= value < top
            ):
                raise ValueError(
                    f"{name} must be a number in [0, {top:g}). Got {value!r} instead."
                )
        check_tta(self.tta)
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {PRECISIONS}. "
                f"Got {self.precision!r} instead."
            )
        if self.patience is not None and (
            not isinstance(self.patience, (int, np.integer)) or self.patience < 0
        ):
            raise ValueError(
                f"patience must be None or an int >= 0. Got {self.patience!r} instead."
            )

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        name = type(self).__name__
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            if y.ndim != 1:
                raise ValueError(
                    f"y must be 1-D class labels. Got an array of shape {y.shape}."
                )
        if X is not None:
            X = _as_flat_pixels(X)
            if reset and self._needs_faces and X.shape[1] != N_PIXELS:
                raise ValueError(
                    f"{name} needs 48x48 faces: n_features must be {N_PIXELS}. "
                    f"Got {X.shape[1]} instead."
                )
            if not reset and X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {name} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}).")
        if y is not None:
            if X is not None:
                check_consistent_length(X, y)
            if reset:
                check_classification_targets(y)
                classes = np.unique(y)
                if len(classes) < 2:
                    raise ValueError(
                        f"{name} needs at least 2 classes in y to learn; got only "
                        f"one class: {classes[0]!r}."
                    )
            _, y = super()._validate_data(X=None, y=y, reset=reset)
        if X is not None and reset:
            self.n_features_in_ = X.shape[1]
            self.X_dtype_ = X.dtype
            self.X_shape_ = X.shape
        return X, y

    def _type_of_target(self, y: np.ndarray) -> str:
        target_type = type_of_target(y)
        return "multiclass" if target_type == "binary" else target_type

    # ------------------------------------------------------------- fitting
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        **fit_params: Any,
    ) -> FERClassifierBase:
        """Build a new network and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48[, 1])
            Faces as raw grey levels 0..255 (uint8 or float); the network
            scales them itself.
        y : array-like of shape (n_samples,)
            Class labels (FER2013: 0..6).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, multiplied by ``class_weight`` weights.
        **fit_params : dict
            ``validation_data=(X_val, y_val)``: a fixed early-stopping set
            used instead of splitting ``validation_fraction`` off ``X``.

            ``soft_targets``: array of shape (n_samples, n_classes), one class
            distribution per face (columns in the order of ``classes_``,
            i.e. of ``np.unique(y)``; non-negative, rows summing to 1). The
            network is trained towards these distributions instead of the
            one-hot labels (``label_smoothing`` still applies): knowledge
            distillation, e.g. ``0.5 * teacher.predict_proba(X) + 0.5 *
            np.eye(7)[y]`` to compress a fitted ensemble ``teacher`` into
            one network. ``y`` still defines the classes, the class weights
            and the early-stopping split, and validation faces are scored
            against their labels.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        unknown = sorted(set(fit_params) - set(_FIT_KWARGS))
        if unknown:
            hints = [
                f"{u!r} (did you mean {m[0]!r}?)"
                if (m := difflib.get_close_matches(u, _FIT_KWARGS, n=1))
                else repr(u)
                for u in unknown
            ]
            raise TypeError(
                f"{type(self).__name__}.fit() got unexpected keyword argument(s) "
                f"{', '.join(hints)}. Hyper-parameters such as epochs or "
                "batch_size go to the constructor or set_params()."
            )
        self._check_params()
        warn_if_bfloat16_is_emulated(self.precision, stacklevel=2)
        if fit_params.get("soft_targets") is not None:
            # checked before the current network is released: a bad array
            # loses nothing
            fit_params["soft_targets"] = _check_soft_targets(
                fit_params["soft_targets"], X, y
            )
        self.classes_ = None
        BaseWrapper.fit(self, X, y, sample_weight=sample_weight, **fit_params)
        return self

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> FERClassifierBase:
        """Train the current network for one more epoch (no early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304)
            Faces.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like, default=None
            All classes, required on the first call if ``y`` lacks some.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The classifier.
        """
        self._check_params()
        warn_if_bfloat16_is_emulated(self.precision, stacklevel=2)
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def _sample_weights(self, y_enc, sample_weight):
        weight = None if sample_weight is None else np.asarray(sample_weight)
        if self.class_weight is not None:
            cw = self.class_weight
            if isinstance(cw, dict):
                missing = set(cw) - set(self.classes_.tolist())
                if missing:
                    raise ValueError(
                        f"class_weight has keys {sorted(missing)} that are not "
                        f"classes seen in y ({self.classes_.tolist()})."
                    )
                cw = {i: cw.get(c, 1.0) for i, c in enumerate(self.classes_.tolist())}
            elif cw != "balanced":
                raise ValueError(
                    "class_weight must be None, 'balanced' or a dict "
                    f"{{class: weight}}. Got {cw!r} instead."
                )
            by_class = compute_sample_weight(cw, y_enc)
            weight = by_class if weight is None else weight * by_class
        return None if weight is None else weight.astype(np.float32)

    def _validation_set(self, X, y_enc, validation_data, rng):
        """Return (train_idx, X_val, y_val, val_idx) for early stopping."""
        n = X.shape[0]
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError(
                    "validation_data must be a tuple (X_val, y_val)."
                ) from None
            X_val, y_val = self._validate_data(X_val, y_val, reset=False)
            unseen = np.setdiff1d(np.unique(y_val), self.classes_)
            if unseen.size:
                raise ValueError(
                    f"validation_data has labels {unseen.tolist()} that were not "
                    f"seen in y during fit ({self.classes_.tolist()})."
                )
            y_val = self.target_encoder_.transform(y_val)
            return np.arange(n), _network_input(X_val), y_val, None
        if self.validation_fraction > 0:
            train_idx, val_idx = mirror_aware_split(
                X, y_enc, float(self.validation_fraction), rng
            )
            if val_idx.size:
                return train_idx, X[val_idx], y_enc[val_idx], val_idx
            warnings.warn(
                f"validation_fraction={self.validation_fraction} of {n} samples "
                "leaves no validation face; training without early stopping.",
                UserWarning,
                stacklevel=4,
            )
        return np.arange(n), None, None, None

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        validation_data = kwargs.pop("validation_data", None)
        soft = kwargs.pop("soft_targets", None)
        seed = self._seed()
        rng = check_random_state(seed)
        # one independent stream per random consumer of this fit
        split_rng = np.random.RandomState(rng.randint(2**31 - 1))
        data_seed = int(rng.randint(2**31 - 1)) if seed is not None else None

        X = _network_input(X)
        y = np.asarray(y).astype(np.int32).ravel()
        w = self._sample_weights(y, sample_weight)
        mixup = float(self.mixup)
        if mixup and soft is None:  # mixup mixes targets: one-hot rows
            soft = np.eye(len(self.classes_), dtype=np.float32)[y]
        if getattr(self.model_, "_skfer_soft_targets", False) != (soft is not None):
            self._compile(self.model_, self.model_.optimizer, soft=soft is not None)
        train_idx, X_val, y_val, val_idx = self._validation_set(
            X, y, validation_data, split_rng
        )
        self.validation_indices_ = val_idx
        if train_idx.size != X.shape[0]:
            X, y = X[train_idx], y[train_idx]
            w = None if w is None else w[train_idx]
            soft = None if soft is None else soft[train_idx]
        if soft is not None:
            y = soft  # the network learns the distributions
            if y_val is not None:  # scored against its labels, as one-hot rows
                y_val = np.eye(soft.shape[1], dtype=np.float32)[y_val]

        flip = bool(self.random_flip)
        if flip and X.shape[1] != N_PIXELS:
            raise ValueError("random_flip=True needs 48x48 faces (2304 features).")
        if self.random_shift and X.shape[1] != N_PIXELS:
            raise ValueError("random_shift > 0 needs 48x48 faces (2304 features).")
        if self.random_erasing and X.shape[1] != N_PIXELS:
            raise ValueError("random_erasing > 0 needs 48x48 faces (2304 features).")
        for name in ("random_rotation", "random_zoom"):
            if getattr(self, name) and X.shape[1] != N_PIXELS:
                raise ValueError(f"{name} > 0 needs 48x48 faces (2304 features).")
        batch_size = int(self.batch_size)
        train_ds = _make_dataset(
            X,
            y,
            w,
            batch_size=batch_size,
            shuffle=True,
            flip=flip,
            seed=data_seed,
            shift=int(self.random_shift),
            erase=float(self.random_erasing),
            rotation=float(self.random_rotation),
            zoom=float(self.random_zoom),
            mixup=mixup,
        )
        val_ds = None
        callbacks = list(self._fit_callbacks)
        if self.lr_schedule == "cosine" and initial_epoch == 0:
            # one whole curve per fit (a warm-started fit runs a new one);
            # partial_fit (initial_epoch > 0) keeps the rate where it is
            steps_per_epoch = -(-X.shape[0] // batch_size)
            callbacks.insert(
                0,
                CosineSchedule(
                    float(self.learning_rate),
                    total_steps=epochs * steps_per_epoch,
                    warmup_steps=int(self.warmup_epochs) * steps_per_epoch,
                    origin=int(self.model_.optimizer.iterations),
                ),
            )
        if X_val is not None:
            val_ds = _make_dataset(
                X_val,
                y_val,
                None,
                batch_size=batch_size,
                shuffle=False,
                flip=False,
                seed=None,
            )
            if self.patience is not None:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss",
                        patience=int(self.patience),
                        restore_best_weights=True,
                    )
                )
        hist = self.model_.fit(
            train_ds,
            validation_data=val_ds,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=self.verbose,
            shuffle=False,  # the input pipeline shuffles, seeded
        )
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = {}
        for key, values in hist.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ = len(self.history_.get("loss", []))

    # ---------------------------------------------------------- prediction
    def _predict_raw(self, X, **kwargs):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )
        if kwargs:
            raise TypeError(
                f"Unexpected keyword argument(s) {sorted(kwargs)} at predict time."
            )
        X, _ = self._validate_data(X)
        X = _network_input(X)
        views = tta_views(self.tta)
        if views == ((False, 0, 0),):
            return self._forward(X)
        if X.shape[1] != N_PIXELS:
            raise ValueError(
                f"tta={self.tta!r} needs 48x48 faces ({N_PIXELS} features). "
                f"Got {X.shape[1]} features."
            )
        images = X.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
        total = None
        for view in views:
            if view == (False, 0, 0):
                face = X  # the face itself: no copy
            else:
                rows, cols = view_indices(*view)
                face = images[:, rows[:, None], cols].reshape(len(X), N_PIXELS)
            proba = self._forward(face)
            total = proba if total is None else total + proba
        return total / len(views)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict the expression class of faces.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48[, 1])
            Faces as raw grey levels.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class of each face, from ``classes_``.
        """
        return super().predict(X)

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Accuracy of the predictions on faces with known labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48[, 1])
            Faces as raw grey levels.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        score : float
            The (weighted) fraction of faces whose predicted class is ``y``.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities of faces.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48[, 1])
            Faces as raw grey levels.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (2-D even for one face,
            which scikeras would squeeze).
        """
        proba = super().predict_proba(X)
        return np.asarray(proba).reshape(-1, self.n_classes_)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Probabilities from the network, through a compiled forward pass.

        ``model(x, training=False)`` in a ``tf.function`` (same float32
        arithmetic as ``model.predict``, without its per-batch callback and
        data-adapter overhead), on batches of ``_PREDICT_BATCH`` faces, cast
        to float32 inside the graph. Traced once per network and input dtype,
        and kept outside the estimator (keyed weakly by the network), so
        predicting changes no estimator attribute and nothing extra is pickled.
        """
        model = self.model_
        forward = _FORWARD_FNS.get(model)
        if forward is None:
            network = weakref.ref(model)  # the cache must not keep it alive
            forward = tf.function(
                lambda x: network()(tf.cast(x, tf.float32), training=False),
                reduce_retracing=True,
            )
            _FORWARD_FNS[model] = forward
        batch = max(int(self.batch_size), _PREDICT_BATCH)
        return np.concatenate(
            [forward(X[i : i + batch]).numpy() for i in range(0, X.shape[0], batch)]
        )

    # --------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        # derived from the `callbacks` parameter and holding references to
        # the network (EarlyStopping keeps a whole copy of the best weights)
        state.pop("_fit_callbacks", None)
        state.pop("_predict_callbacks", None)
        callbacks = state.get("callbacks")
        if callbacks:
            state["callbacks"] = _picklable_callbacks(callbacks)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state:
            self._initialize_callbacks()


def _picklable_callbacks(callbacks):
    """Keep the callbacks that pickle; warn about (and drop) the others."""
    items = callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]
    kept = []
    for cb in items:
        try:
            pickle.dumps(cb)
        except Exception as exc:
            warnings.warn(
                f"Callback {cb!r} cannot be pickled ({type(exc).__name__}: {exc}); "
                "it is left out of the saved estimator.",
                UserWarning,
                stacklevel=3,
            )
        else:
            kept.append(cb)
    return kept if isinstance(callbacks, (list, tuple)) else (kept or None)
