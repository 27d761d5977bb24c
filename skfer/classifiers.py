"""The study's CNN and DNN, and stronger networks, as scikit-learn classifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._base import FERClassifierBase
from .architectures import (
    CNN_CONV_FILTERS,
    CNN_DENSE_UNITS,
    DENSENET_BLOCK_LAYERS,
    DNN_UNITS,
    RESNET_STAGE_FILTERS,
    VGG_BLOCK_FILTERS,
    VGG_DENSE_UNITS,
)
from .architectures import build_cnn as _build_cnn
from .architectures import build_densenet as _build_densenet
from .architectures import build_dnn as _build_dnn
from .architectures import build_resnet as _build_resnet
from .architectures import build_vgg as _build_vgg

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FERCNNClassifier",
    "FERDNNClassifier",
    "FERDenseNetClassifier",
    "FERResNetClassifier",
    "FERVGGClassifier",
]

_COMMON_PARAMS = """
    optimizer : str, keras.optimizers.Optimizer class or instance, default="{opt}"
        The optimiser; a fresh one is made for every fit. Its other
        arguments can be routed, e.g. ``optimizer__beta_1=0.8``.
    learning_rate : float, default={lr}
        Learning rate of the optimiser.
    batch_size : int, default=128
        Faces per gradient step.
    epochs : int, default={epochs}
        Maximum number of passes over the training faces.
    patience : int or None, default={patience}
        Early stopping: stop after this many epochs without improvement of
        the validation loss, and restore the best weights. ``None`` trains
        for ``epochs`` epochs.
    validation_fraction : float, default={vf}
        Fraction of the training faces held out for early stopping (0: none).
        The split is stratified by class and made by mirror group (see
        :func:`~skfer.augmentation.mirror_groups`) before any in-estimator
        augmentation, so no validation face is a training face's mirror.
        Ignored when ``fit`` gets ``validation_data=(X_val, y_val)``.
    random_flip : bool, default={flip}
        Mirror each training face at random (p=0.5), afresh every epoch,
        inside the input pipeline (never the validation faces).
    random_shift : int, default={shift}
        Translate each training face by a random offset of up to this many
        pixels along each axis, afresh every epoch, inside the input
        pipeline (edge pixels fill the border; never the validation faces).
    random_erasing : float, default=0.0
        Probability that a training face gets one random rectangle erased
        to its mean grey level, afresh every epoch, inside the input
        pipeline (random erasing, Zhong et al. 2020: 2-33% of the face's
        area, aspect ratio 0.3-3.3; never the validation faces).
    random_rotation : float, default=0.0
        Rotate each training face about its centre by a random angle of up
        to this many degrees either way, afresh every epoch, inside the
        input pipeline (never the validation faces). With ``random_zoom``
        and ``random_shift``, one bilinear warp does all three (edge pixels
        fill the border).
    random_zoom : float, default=0.0
        Scale each training face by a random factor in
        ``[1 - random_zoom, 1 + random_zoom]`` about its centre, afresh
        every epoch, inside the input pipeline (never the validation faces).
    mixup : float, default=0.0
        Mixup (Zhang et al. 2018): with ``mixup > 0``, each training batch
        is mixed with itself in reverse order, faces and one-hot targets
        alike, by a weight drawn from Beta(mixup, mixup) afresh for every
        batch, inside the input pipeline after the other augmentations
        (never the validation faces). Values of 0.1-0.4 are usual; 0 turns
        it off. The targets become class distributions, so the loss is the
        categorical cross-entropy (with ``label_smoothing``) and ``fit``'s
        ``soft_targets`` are mixed alike.
    label_smoothing : float, default={smoothing}
        Label smoothing of the cross-entropy loss, in [0, 1).
    lr_schedule : {{None, "cosine"}}, default={schedule}
        ``None`` keeps ``learning_rate`` constant; ``"cosine"`` warms up
        linearly for ``warmup_epochs`` epochs, then decays it along a cosine
        to 0 at the last of ``epochs`` epochs (early stopping may end sooner).
        Each ``fit`` runs one whole curve (with ``warm_start``, a new one
        from the current weights); ``partial_fit`` keeps the rate constant.
        The rate follows the optimiser's step count, so a network whose
        optimiser state is restored during a fit (see
        ``benchmarks/accuracy.py``) resumes on the curve where it stopped.
    warmup_epochs : int, default={warmup}
        Epochs of linear warm-up of the ``"cosine"`` schedule.
    precision : {{"float32", "mixed_bfloat16"}}, default="float32"
        Keras dtype policy of the network's layers: ``"mixed_bfloat16"``
        computes in bfloat16 with float32 weights (faster on CPUs with
        AVX512-BF16 or AMX, see benchmarks/README.md; the softmax stays
        float32). Where neither is present and no GPU is visible, bfloat16
        is emulated, several times slower, and ``fit`` warns.
    tta : bool, {{"flip", "flip+shift"}} or sequence of views, default={tta}
        Test-time augmentation: ``predict_proba`` averages the probabilities
        of several views of each face. ``True`` or ``"flip"``: the face and
        its mirror; ``"flip+shift"``: those two and both moved 2 pixels up,
        down, left and right (10 views, 5x the prediction cost; edge pixels
        fill the border, as in training's ``random_shift``). Or the views
        themselves, ``(mirrored, row move, column move)`` each, e.g.
        ``[(False, 0, 0), (True, 0, 0), (False, 1, 1)]`` (moves of at most
        23 pixels, positive down and right). Read at predict time, so it can
        be changed on a fitted model with ``set_params``.
    rescale : float, default=1/255
        Scale applied to X by the network's first layer. The default expects
        raw grey levels 0..255 (uint8 or float); use 1.0 for X in [0, 1].
    class_weight : "balanced", dict or None, default=None
        Weights per class, multiplied into ``sample_weight``. ``"balanced"``
        weights classes inversely to their frequency (FER2013's Disgust is
        1.5% of the faces).
    random_state : int, RandomState instance or None, default=None
        Seeds everything random in a fit: weight initialisation, dropout,
        shuffling, random flips and the validation split. The same int gives
        the same predictions on CPU.
    verbose : int, default=0
        Keras progress output during fit (0 silent, 1 progress bar, 2 a line
        per epoch).
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks for fit. Callbacks that cannot be pickled are
        left out (with a warning) when the estimator is saved.
    warm_start : bool, default=False
        If True, ``fit`` continues training the existing network.
    **kwargs : dict
        Routed parameters for power users, e.g. ``optimizer__beta_1``."""

_STUDY_DEFAULTS = dict(
    opt="adam",
    lr="1e-3",
    epochs=30,
    patience=5,
    vf=0.1,
    flip=False,
    shift=0,
    smoothing=0.0,
    schedule=None,
    warmup=0,
    tta=False,
)

_COMMON_ATTRS = """
    Attributes
    ----------
    model_ : keras.Model
        The trained network (input ``"pixels"``, last layers ``"logits"`` and
        ``"probabilities"``). Save it natively with ``model_.save("x.keras")``.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during fit.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during fit.
    history_ : dict of str to list of float
        Per-epoch ``"loss"``, ``"accuracy"`` and, with a validation set,
        ``"val_loss"``, ``"val_accuracy"``.
    n_iter_ : int
        Number of epochs run.
    validation_indices_ : ndarray of int or None
        Rows of the ``X`` given to ``fit`` held out for early stopping."""


class FERCNNClassifier(FERClassifierBase):
    __doc__ = (
        """The study's convolutional network as a scikit-learn classifier.

    By default exactly the study's CNN (4,087,323 parameters): six
    convolutions with filters growing 64 → 128, zero padding, max and average
    pooling, dropout and a dense 900-900-7 head; see
    :func:`~skfer.architectures.build_cnn`. It takes FER2013's raw pixels,
    ``(n_samples, 2304)`` uint8 from :func:`~skfer.datasets.load_fer2013`,
    or images ``(n_samples, 48, 48[, 1])``, and does its own scaling.

    Parameters
    ----------
    conv_filters : tuple of 6 int, default=(64, 64, 64, 96, 128, 128)
        Filters of the six convolutions.
    dense_units : tuple of int, default=(900, 900)
        Widths of the hidden dense layers.
    conv_dropout : float, default=0.25
        Dropout rate between convolutions.
    dense_dropout : float, default=0.5
        Dropout rate after each hidden dense layer.
    activation : str, default="relu"
        Activation of the convolutions and hidden dense layers."""
        + _COMMON_PARAMS.format(**_STUDY_DEFAULTS)
        + "\n"
        + _COMMON_ATTRS
        + """

    See Also
    --------
    FERDNNClassifier : The study's fully connected network.
    skfer.MirrorSampler : Mirror augmentation as a pipeline step.

    Examples
    --------
    >>> from skfer import FERCNNClassifier
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(140, random_state=0)
    >>> clf = FERCNNClassifier(conv_filters=(8, 8, 8, 8, 8, 8), dense_units=(16,),
    ...                        epochs=1, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 7)
    """
    )

    def __init__(
        self,
        *,
        conv_filters: Sequence[int] = CNN_CONV_FILTERS,
        dense_units: Sequence[int] = CNN_DENSE_UNITS,
        conv_dropout: float = 0.25,
        dense_dropout: float = 0.5,
        activation: str = "relu",
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        epochs: int = 30,
        patience: int | None = 5,
        validation_fraction: float = 0.1,
        random_flip: bool = False,
        random_shift: int = 0,
        random_erasing: float = 0.0,
        random_rotation: float = 0.0,
        random_zoom: float = 0.0,
        mixup: float = 0.0,
        label_smoothing: float = 0.0,
        lr_schedule: str | None = None,
        warmup_epochs: int = 0,
        precision: str = "float32",
        tta: bool | str | Sequence[tuple[bool, int, int]] = False,
        rescale: float = 1.0 / 255.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: Sequence[Any] | None = None,
        warm_start: bool = False,
        **kwargs: Any,
    ) -> None:
        self.conv_filters = conv_filters
        self.dense_units = dense_units
        self.conv_dropout = conv_dropout
        self.dense_dropout = dense_dropout
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_flip = random_flip
        self.random_shift = random_shift
        self.random_erasing = random_erasing
        self.random_rotation = random_rotation
        self.random_zoom = random_zoom
        self.mixup = mixup
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.precision = precision
        self.tta = tta
        self.rescale = rescale
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        vars(self).update(kwargs)  # routed parameters, e.g. optimizer__beta_1
        if kwargs:
            self._user_params = set(kwargs)

    def _build_network(self, meta: dict, seed: int | None):
        return _build_cnn(
            meta["n_classes_"],
            conv_filters=tuple(self.conv_filters),
            dense_units=tuple(self.dense_units),
            conv_dropout=self.conv_dropout,
            dense_dropout=self.dense_dropout,
            activation=self.activation,
            rescale=self.rescale,
            seed=seed,
        )


class FERDNNClassifier(FERClassifierBase):
    __doc__ = (
        """The study's fully connected network as a scikit-learn classifier.

    By default exactly the study's DNN (5,447,687 parameters): dense
    1024-1024-768-768-512-512-7, each hidden layer followed by its activation
    and dropout; see :func:`~skfer.architectures.build_dnn`. It takes
    FER2013's raw pixels ``(n_samples, 2304)`` (or images) and does its own
    scaling; unlike the CNN it also accepts any other number of features.

    Parameters
    ----------
    hidden_units : tuple of int, default=(1024, 1024, 768, 768, 512, 512)
        Widths of the hidden layers.
    dropout : float, default=0.5
        Dropout rate after each hidden layer.
    activation : str, default="relu"
        Activation of the hidden layers."""
        + _COMMON_PARAMS.format(**_STUDY_DEFAULTS)
        + "\n"
        + _COMMON_ATTRS
        + """

    See Also
    --------
    FERCNNClassifier : The study's convolutional network.

    Examples
    --------
    >>> from skfer import FERDNNClassifier
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(140, random_state=0)
    >>> clf = FERDNNClassifier(hidden_units=(32,), epochs=1, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """
    )

    _needs_faces = False

    def __init__(
        self,
        *,
        hidden_units: Sequence[int] = DNN_UNITS,
        dropout: float = 0.5,
        activation: str = "relu",
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        epochs: int = 30,
        patience: int | None = 5,
        validation_fraction: float = 0.1,
        random_flip: bool = False,
        random_shift: int = 0,
        random_erasing: float = 0.0,
        random_rotation: float = 0.0,
        random_zoom: float = 0.0,
        mixup: float = 0.0,
        label_smoothing: float = 0.0,
        lr_schedule: str | None = None,
        warmup_epochs: int = 0,
        precision: str = "float32",
        tta: bool | str | Sequence[tuple[bool, int, int]] = False,
        rescale: float = 1.0 / 255.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: Sequence[Any] | None = None,
        warm_start: bool = False,
        **kwargs: Any,
    ) -> None:
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_flip = random_flip
        self.random_shift = random_shift
        self.random_erasing = random_erasing
        self.random_rotation = random_rotation
        self.random_zoom = random_zoom
        self.mixup = mixup
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.precision = precision
        self.tta = tta
        self.rescale = rescale
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        vars(self).update(kwargs)  # routed parameters, e.g. optimizer__beta_1
        if kwargs:
            self._user_params = set(kwargs)

    def _build_network(self, meta: dict, seed: int | None):
        return _build_dnn(
            meta["n_classes_"],
            n_features=meta["n_features_in_"],
            hidden_units=tuple(self.hidden_units),
            dropout=self.dropout,
            activation=self.activation,
            rescale=self.rescale,
            seed=seed,
        )


_VGG_DEFAULTS = dict(
    opt="adamw",
    lr="2e-3",
    epochs=60,
    patience=None,
    vf=0.0,
    flip=True,
    shift=4,
    smoothing=0.1,
    schedule='"cosine"',
    warmup=2,
    tta=True,
)


class FERVGGClassifier(FERClassifierBase):
    __doc__ = (
        """A VGG-style network with batch normalisation, trained with a modern recipe.

    skfer's stronger option beside the study's networks: blocks of 3x3
    convolutions with batch normalisation (by default 32, 64, 128 and 256
    filters, two convolutions per block, 1,767,207 parameters; see
    :func:`~skfer.architectures.build_vgg`), and defaults that are a training
    recipe rather than the study's: AdamW with weight decay, linear warm-up
    then cosine decay of the learning rate over a fixed number of epochs,
    random mirrors and shifts of up to 4 pixels every epoch, label smoothing
    0.1 and mirror test-time augmentation. With these defaults it trains on
    all the faces it is given (``validation_fraction=0``, no early
    stopping); set ``validation_fraction`` and ``patience`` to hold faces out
    instead. ``benchmarks/accuracy.py`` records what it scores on FER2013.

    Parameters
    ----------
    block_filters : tuple of int, default=(32, 64, 128, 256)
        Filters of the convolutions of each block (at most 5 blocks).
        ``(64, 128, 256, 512)`` trained for 60 epochs is the most accurate
        single network of the README's results table, for about three
        times the training time.
    convs_per_block : int, default=2
        Convolutions per block.
    dense_units : tuple of int, default=(256,)
        Widths of the hidden dense layers.
    block_dropout : float, default=0.2
        Dropout rate after each block.
    dense_dropout : float, default=0.5
        Dropout rate after each hidden dense layer.
    activation : str, default="relu"
        Activation of the convolutions and hidden dense layers."""
        + _COMMON_PARAMS.format(**_VGG_DEFAULTS)
        + "\n"
        + _COMMON_ATTRS
        + """

    See Also
    --------
    FERCNNClassifier : The study's convolutional network.
    skfer.load_pretrained : A FERVGGClassifier trained on FER2013.

    Examples
    --------
    >>> from skfer import FERVGGClassifier
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(140, random_state=0)
    >>> clf = FERVGGClassifier(block_filters=(8, 8), dense_units=(16,),
    ...                        epochs=1, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 7)
    """
    )

    def __init__(
        self,
        *,
        block_filters: Sequence[int] = VGG_BLOCK_FILTERS,
        convs_per_block: int = 2,
        dense_units: Sequence[int] = VGG_DENSE_UNITS,
        block_dropout: float = 0.2,
        dense_dropout: float = 0.5,
        activation: str = "relu",
        optimizer: Any = "adamw",
        learning_rate: float = 2e-3,
        batch_size: int = 128,
        epochs: int = 60,
        patience: int | None = None,
        validation_fraction: float = 0.0,
        random_flip: bool = True,
        random_shift: int = 4,
        random_erasing: float = 0.0,
        random_rotation: float = 0.0,
        random_zoom: float = 0.0,
        mixup: float = 0.0,
        label_smoothing: float = 0.1,
        lr_schedule: str | None = "cosine",
        warmup_epochs: int = 2,
        precision: str = "float32",
        tta: bool | str = True,
        rescale: float = 1.0 / 255.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: Sequence[Any] | None = None,
        warm_start: bool = False,
        **kwargs: Any,
    ) -> None:
        self.block_filters = block_filters
        self.convs_per_block = convs_per_block
        self.dense_units = dense_units
        self.block_dropout = block_dropout
        self.dense_dropout = dense_dropout
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_flip = random_flip
        self.random_shift = random_shift
        self.random_erasing = random_erasing
        self.random_rotation = random_rotation
        self.random_zoom = random_zoom
        self.mixup = mixup
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.precision = precision
        self.tta = tta
        self.rescale = rescale
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        vars(self).update(kwargs)  # routed parameters, e.g. optimizer__weight_decay
        if kwargs:
            self._user_params = set(kwargs)

    def _build_network(self, meta: dict, seed: int | None):
        return _build_vgg(
            meta["n_classes_"],
            block_filters=tuple(self.block_filters),
            convs_per_block=self.convs_per_block,
            dense_units=tuple(self.dense_units),
            block_dropout=self.block_dropout,
            dense_dropout=self.dense_dropout,
            activation=self.activation,
            rescale=self.rescale,
            seed=seed,
        )


class FERResNetClassifier(FERClassifierBase):
    __doc__ = (
        """A residual network with batch normalisation, trained with the VGG's recipe.

    A second architecture family beside :class:`FERVGGClassifier`, for
    ensembles whose members should err differently: a 3x3 stem, then stages
    of basic residual blocks (by default 32, 64, 128 and 256 filters, one
    block each, stride-2 convolutions instead of pooling, 1x1 shortcuts),
    global average pooling and dropout before the logits; 1,230,503
    parameters, see :func:`~skfer.architectures.build_resnet`. Its other
    defaults are :class:`FERVGGClassifier`'s recipe: AdamW with weight
    decay, linear warm-up then cosine decay of the learning rate, random
    mirrors and shifts of up to 4 pixels every epoch, label smoothing 0.1
    and mirror test-time augmentation, training on all the faces it is given.
    ``benchmarks/accuracy.py --recipe resnet`` records what it scores on
    FER2013.

    Parameters
    ----------
    stage_filters : tuple of int, default=(32, 64, 128, 256)
        Filters of the convolutions of each stage (at most 5 stages; each
        after the first halves the side).
    blocks_per_stage : int, default=1
        Residual blocks (two convolutions each) per stage.
    dropout : float, default=0.3
        Dropout rate before the logits.
    activation : str, default="relu"
        Activation of the stem and of every residual block."""
        + _COMMON_PARAMS.format(**_VGG_DEFAULTS)
        + "\n"
        + _COMMON_ATTRS
        + """

    See Also
    --------
    FERVGGClassifier : The VGG-style network with the same recipe.
    sklearn.ensemble.VotingClassifier : Soft-vote it with a VGG.

    Examples
    --------
    >>> from skfer import FERResNetClassifier
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(140, random_state=0)
    >>> clf = FERResNetClassifier(stage_filters=(8, 8), epochs=1,
    ...                           random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 7)
    """
    )

    def __init__(
        self,
        *,
        stage_filters: Sequence[int] = RESNET_STAGE_FILTERS,
        blocks_per_stage: int = 1,
        dropout: float = 0.3,
        activation: str = "relu",
        optimizer: Any = "adamw",
        learning_rate: float = 2e-3,
        batch_size: int = 128,
        epochs: int = 60,
        patience: int | None = None,
        validation_fraction: float = 0.0,
        random_flip: bool = True,
        random_shift: int = 4,
        random_erasing: float = 0.0,
        random_rotation: float = 0.0,
        random_zoom: float = 0.0,
        mixup: float = 0.0,
        label_smoothing: float = 0.1,
        lr_schedule: str | None = "cosine",
        warmup_epochs: int = 2,
        precision: str = "float32",
        tta: bool | str = True,
        rescale: float = 1.0 / 255.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: Sequence[Any] | None = None,
        warm_start: bool = False,
        **kwargs: Any,
    ) -> None:
        self.stage_filters = stage_filters
        self.blocks_per_stage = blocks_per_stage
        self.dropout = dropout
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_flip = random_flip
        self.random_shift = random_shift
        self.random_erasing = random_erasing
        self.random_rotation = random_rotation
        self.random_zoom = random_zoom
        self.mixup = mixup
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.precision = precision
        self.tta = tta
        self.rescale = rescale
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        vars(self).update(kwargs)  # routed parameters, e.g. optimizer__weight_decay
        if kwargs:
            self._user_params = set(kwargs)

    def _build_network(self, meta: dict, seed: int | None):
        return _build_resnet(
            meta["n_classes_"],
            stage_filters=tuple(self.stage_filters),
            blocks_per_stage=self.blocks_per_stage,
            dropout=self.dropout,
            activation=self.activation,
            rescale=self.rescale,
            seed=seed,
        )


class FERDenseNetClassifier(FERClassifierBase):
    __doc__ = (
        """A densely connected network (DenseNet-BC), trained with the VGG's recipe.

    A third architecture family beside :class:`FERVGGClassifier` and
    :class:`FERResNetClassifier`, for ensembles whose members should err
    differently: a stem of two 3x3 convolutions and a pooling to 24x24, then
    dense blocks (by default of 6, 12 and 8 layers at 24x24, 12x12 and 6x6)
    in which every layer sees the concatenation of all earlier layers'
    outputs and adds ``growth_rate`` channels, 1x1 transitions with average
    pooling between them, global average pooling and dropout before the
    logits; 1,188,251 parameters, see
    :func:`~skfer.architectures.build_densenet`. Its other
    defaults are :class:`FERVGGClassifier`'s recipe: AdamW with weight
    decay, linear warm-up then cosine decay of the learning rate, random
    mirrors and shifts of up to 4 pixels every epoch, label smoothing 0.1
    and mirror test-time augmentation, training on all the faces it is given.
    ``benchmarks/accuracy.py --recipe densenet`` records what it scores on
    FER2013.

    Parameters
    ----------
    stem_filters : int, default=32
        Filters of the two stem convolutions.
    block_layers : tuple of int, default=(6, 12, 8)
        Layers of each dense block (at most 4 blocks; the stem and each
        transition halve the side).
    growth_rate : int, default=24
        Channels each layer adds to its block.
    compression : float, default=0.5
        Fraction of the channels each transition keeps, in (0, 1].
    dropout : float, default=0.3
        Dropout rate before the logits.
    activation : str, default="relu"
        Activation of the stem, of every layer and of every transition."""
        + _COMMON_PARAMS.format(**_VGG_DEFAULTS)
        + "\n"
        + _COMMON_ATTRS
        + """

    See Also
    --------
    FERVGGClassifier : The VGG-style network with the same recipe.
    FERResNetClassifier : The residual network with the same recipe.
    sklearn.ensemble.VotingClassifier : Soft-vote it with a VGG and a ResNet.

    Examples
    --------
    >>> from skfer import FERDenseNetClassifier
    >>> from skfer.datasets import make_expressions
    >>> X, y = make_expressions(140, random_state=0)
    >>> clf = FERDenseNetClassifier(stem_filters=8, block_layers=(2, 2),
    ...                             growth_rate=4, epochs=1,
    ...                             random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 7)
    """
    )

    def __init__(
        self,
        *,
        stem_filters: int = 32,
        block_layers: Sequence[int] = DENSENET_BLOCK_LAYERS,
        growth_rate: int = 24,
        compression: float = 0.5,
        dropout: float = 0.3,
        activation: str = "relu",
        optimizer: Any = "adamw",
        learning_rate: float = 2e-3,
        batch_size: int = 128,
        epochs: int = 60,
        patience: int | None = None,
        validation_fraction: float = 0.0,
        random_flip: bool = True,
        random_shift: int = 4,
        random_erasing: float = 0.0,
        random_rotation: float = 0.0,
        random_zoom: float = 0.0,
        mixup: float = 0.0,
        label_smoothing: float = 0.1,
        lr_schedule: str | None = "cosine",
        warmup_epochs: int = 2,
        precision: str = "float32",
        tta: bool | str = True,
        rescale: float = 1.0 / 255.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: Sequence[Any] | None = None,
        warm_start: bool = False,
        **kwargs: Any,
    ) -> None:
        self.stem_filters = stem_filters
        self.block_layers = block_layers
        self.growth_rate = growth_rate
        self.compression = compression
        self.dropout = dropout
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_flip = random_flip
        self.random_shift = random_shift
        self.random_erasing = random_erasing
        self.random_rotation = random_rotation
        self.random_zoom = random_zoom
        self.mixup = mixup
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.precision = precision
        self.tta = tta
        self.rescale = rescale
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        vars(self).update(kwargs)  # routed parameters, e.g. optimizer__weight_decay
        if kwargs:
            self._user_params = set(kwargs)

    def _build_network(self, meta: dict, seed: int | None):
        return _build_densenet(
            meta["n_classes_"],
            stem_filters=self.stem_filters,
            block_layers=tuple(self.block_layers),
            growth_rate=self.growth_rate,
            compression=self.compression,
            dropout=self.dropout,
            activation=self.activation,
            rescale=self.rescale,
            seed=seed,
        )
