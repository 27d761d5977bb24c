"""skfer's networks as pure Keras builders: the study's CNN and DNN, and the
VGG-style, residual and densely connected networks.

Every builder takes raw grey levels as a flat ``(2304,)`` vector (FER2013's
``pixels`` column) and does its own preprocessing as its first layers
(``Rescaling`` to [0, 1], then ``Reshape`` to 48x48x1 for the convolutional
networks), so a saved model carries its preprocessing with it. The last
``Dense`` layer, named ``"logits"``, is followed by a separate
``"probabilities"`` softmax layer: the function is the study's ``Dense(7,
activation="softmax")``, with the same parameter count, but gradients can
be taken on the logits without surgery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._tf import keras

__all__ = [
    "CNN_CONV_FILTERS",
    "CNN_DENSE_UNITS",
    "DENSENET_BLOCK_LAYERS",
    "DNN_UNITS",
    "RESNET_STAGE_FILTERS",
    "VGG_BLOCK_FILTERS",
    "VGG_DENSE_UNITS",
    "build_cnn",
    "build_densenet",
    "build_dnn",
    "build_resnet",
    "build_vgg",
]

#: Filters of the study's six convolutions, 64 growing to 128.
CNN_CONV_FILTERS: tuple[int, ...] = (64, 64, 64, 96, 128, 128)
#: Widths of the study's CNN dense head.
CNN_DENSE_UNITS: tuple[int, ...] = (900, 900)
#: Widths of the study's DNN hidden layers.
DNN_UNITS: tuple[int, ...] = (1024, 1024, 768, 768, 512, 512)
#: Filters of the VGG-style network's blocks (each of ``convs_per_block`` convs).
VGG_BLOCK_FILTERS: tuple[int, ...] = (32, 64, 128, 256)
#: Widths of the VGG-style network's dense head.
VGG_DENSE_UNITS: tuple[int, ...] = (256,)
#: Filters of the residual network's stages (each of ``blocks_per_stage`` blocks).
RESNET_STAGE_FILTERS: tuple[int, ...] = (32, 64, 128, 256)
#: Layers of the densely connected network's blocks (one block per side).
DENSENET_BLOCK_LAYERS: tuple[int, ...] = (6, 12, 8)

_layers = keras.layers


def _seed_stream(seed: int | None) -> Callable[[], int | None]:
    """Distinct per-layer seeds drawn from one ``seed`` (None: unseeded)."""
    rng = None if seed is None else np.random.RandomState(seed)
    return lambda: None if rng is None else int(rng.randint(2**31 - 1))


def _init(seeds: Callable[[], int | None]) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=seeds())


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1). Got {value!r} instead.")


def _check_units(name: str, units: Sequence[int], length: int | None = None) -> None:
    units = tuple(units)
    if length is not None and len(units) != length:
        raise ValueError(
            f"{name} must hold exactly {length} integers. Got {len(units)}: {units!r}."
        )
    if any(not isinstance(u, int) or isinstance(u, bool) or u < 1 for u in units):
        raise ValueError(f"{name} must hold positive integers. Got {units!r} instead.")


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1. Got {value!r} instead.")


def _check_depth(name: str, units: Sequence[int], what: str, why: str) -> None:
    """At most 5 halvings of 48x48 faces (48 → 3)."""
    if len(tuple(units)) > 5:
        raise ValueError(
            f"{name} must hold at most 5 {what} for 48x48 faces ({why}). "
            f"Got {len(tuple(units))}."
        )


def _head(
    x: keras.KerasTensor,
    n_classes: int,
    units: Sequence[int],
    dropout: float,
    activation: str,
    seeds: Callable[[], int | None],
) -> keras.KerasTensor:
    for i, width in enumerate(units, start=1):
        x = _layers.Dense(width, kernel_initializer=_init(seeds), name=f"dense{i}")(x)
        x = _layers.Activation(activation, name=f"dense{i}_act")(x)
        x = _layers.Dropout(dropout, seed=seeds(), name=f"dense{i}_dropout")(x)
    return _softmax_output(x, n_classes, seeds)


def _face_input(rescale: float) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The ``"pixels"`` input and its rescaled 48x48x1 image."""
    inputs = keras.Input(shape=(48 * 48,), name="pixels")
    x = _layers.Rescaling(rescale, name="rescale")(inputs)
    return inputs, _layers.Reshape((48, 48, 1), name="to_image")(x)


def _he_conv(
    seeds: Callable[[], int | None], filters: int, size: int, name: str, strides=1
) -> keras.layers.Conv2D:
    """A bias-free "same" convolution, He-initialised, for batch normalisation."""
    return _layers.Conv2D(
        filters,
        size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=seeds()),
        name=name,
    )


def _softmax_output(
    x: keras.KerasTensor, n_classes: int, seeds: Callable[[], int | None]
) -> keras.KerasTensor:
    """The ``"logits"`` layer and the float32 ``"probabilities"`` softmax."""
    x = _layers.Dense(n_classes, kernel_initializer=_init(seeds), name="logits")(x)
    return _layers.Activation("softmax", name="probabilities", dtype="float32")(x)


def _pooled_output(
    x: keras.KerasTensor,
    n_classes: int,
    dropout: float,
    seeds: Callable[[], int | None],
) -> keras.KerasTensor:
    """Global average pooling, dropout, then :func:`_softmax_output`."""
    x = _layers.GlobalAveragePooling2D(name="pool")(x)
    x = _layers.Dropout(dropout, seed=seeds(), name="dropout")(x)
    return _softmax_output(x, n_classes, seeds)


def build_cnn(
    n_classes: int = 7,
    *,
    conv_filters: Sequence[int] = CNN_CONV_FILTERS,
    dense_units: Sequence[int] = CNN_DENSE_UNITS,
    conv_dropout: float = 0.25,
    dense_dropout: float = 0.5,
    activation: str = "relu",
    rescale: float = 1.0 / 255.0,
    seed: int | None = None,
) -> keras.Model:
    """Build the study's convolutional network (uncompiled).

    Layer by layer (default arguments; output shapes for one 48x48 face):
    Conv2D 64 5x5 valid (44x44) → ZeroPadding 2 → MaxPooling 5x5/2 (22x22)
    → ZeroPadding 1 → Conv2D 64 3x3 → ZeroPadding 1 → Conv2D 64 3x3 (22x22)
    → AveragePooling 3x3/2 (10x10) → ZeroPadding 1 → Dropout → Conv2D 96 3x3
    → ZeroPadding 1 → Conv2D 128 3x3 → ZeroPadding 1 → Dropout → Conv2D 128 3x3
    → ZeroPadding 1 → AveragePooling 3x3/2 (5x5x128) → Dropout → Flatten (3,200)
    → Dense 900 → Dense 900 → Dense ``n_classes`` → softmax: 4,087,323
    parameters for 7 classes.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output classes.
    conv_filters : sequence of 6 int, default=(64, 64, 64, 96, 128, 128)
        Filters of the six convolutions, in order.
    dense_units : sequence of int, default=(900, 900)
        Widths of the hidden dense layers; each is followed by its activation
        and dropout.
    conv_dropout : float, default=0.25
        Dropout rate of the three dropout layers between convolutions.
    dense_dropout : float, default=0.5
        Dropout rate after each hidden dense layer.
    activation : str, default="relu"
        Activation of every convolution and hidden dense layer (any Keras
        activation name).
    rescale : float, default=1/255
        Factor applied to the raw grey levels by the first layer.
    seed : int or None, default=None
        Seeds every weight initialiser and dropout layer (each its own seed
        drawn from this one), so the same seed builds the same network.

    Returns
    -------
    model : keras.Model
        Input ``"pixels"`` of shape ``(None, 2304)``; output
        ``"probabilities"`` of shape ``(None, n_classes)``.

    Examples
    --------
    >>> from skfer.architectures import build_cnn
    >>> build_cnn().count_params()
    4087323
    """
    _check_units("conv_filters", conv_filters, length=6)
    _check_units("dense_units", dense_units)
    _check_rate("conv_dropout", conv_dropout)
    _check_rate("dense_dropout", dense_dropout)
    f1, f2, f3, f4, f5, f6 = conv_filters

    seeds = _seed_stream(seed)

    def conv(x, filters, size, name):
        x = _layers.Conv2D(filters, size, kernel_initializer=_init(seeds), name=name)(x)
        return _layers.Activation(activation, name=f"{name}_act")(x)

    inputs, x = _face_input(rescale)
    x = conv(x, f1, 5, "conv1")
    x = _layers.ZeroPadding2D(2, name="pad1")(x)
    x = _layers.MaxPooling2D(5, strides=2, name="maxpool1")(x)
    x = _layers.ZeroPadding2D(1, name="pad2")(x)
    x = conv(x, f2, 3, "conv2")
    x = _layers.ZeroPadding2D(1, name="pad3")(x)
    x = conv(x, f3, 3, "conv3")
    x = _layers.AveragePooling2D(3, strides=2, name="avgpool1")(x)
    x = _layers.ZeroPadding2D(1, name="pad4")(x)
    x = _layers.Dropout(conv_dropout, seed=seeds(), name="dropout1")(x)
    x = conv(x, f4, 3, "conv4")
    x = _layers.ZeroPadding2D(1, name="pad5")(x)
    x = conv(x, f5, 3, "conv5")
    x = _layers.ZeroPadding2D(1, name="pad6")(x)
    x = _layers.Dropout(conv_dropout, seed=seeds(), name="dropout2")(x)
    x = conv(x, f6, 3, "conv6")
    x = _layers.ZeroPadding2D(1, name="pad7")(x)
    x = _layers.AveragePooling2D(3, strides=2, name="avgpool2")(x)
    x = _layers.Dropout(conv_dropout, seed=seeds(), name="dropout3")(x)
    x = _layers.Flatten(name="flatten")(x)
    outputs = _head(x, n_classes, dense_units, dense_dropout, activation, seeds)
    return keras.Model(inputs, outputs, name="fer_cnn")


def build_dnn(
    n_classes: int = 7,
    *,
    n_features: int = 48 * 48,
    hidden_units: Sequence[int] = DNN_UNITS,
    dropout: float = 0.5,
    activation: str = "relu",
    rescale: float = 1.0 / 255.0,
    seed: int | None = None,
) -> keras.Model:
    """Build the study's fully connected network (uncompiled).

    Dense 1024 → 1024 → 768 → 768 → 512 → 512 → ``n_classes``, each hidden
    layer followed by its activation and dropout: 5,447,687 parameters for
    2,304 inputs and 7 classes.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output classes.
    n_features : int, default=2304
        Length of the flat input vector.
    hidden_units : sequence of int, default=(1024, 1024, 768, 768, 512, 512)
        Widths of the hidden layers.
    dropout : float, default=0.5
        Dropout rate after each hidden layer.
    activation : str, default="relu"
        Activation of the hidden layers.
    rescale : float, default=1/255
        Factor applied to the raw grey levels by the first layer.
    seed : int or None, default=None
        Seeds every weight initialiser and dropout layer (each its own seed
        drawn from this one), so the same seed builds the same network.

    Returns
    -------
    model : keras.Model
        Input ``"pixels"`` of shape ``(None, n_features)``; output
        ``"probabilities"`` of shape ``(None, n_classes)``.

    Examples
    --------
    >>> from skfer.architectures import build_dnn
    >>> build_dnn().count_params()
    5447687
    """
    _check_units("hidden_units", hidden_units)
    _check_rate("dropout", dropout)
    inputs = keras.Input(shape=(int(n_features),), name="pixels")
    x = _layers.Rescaling(rescale, name="rescale")(inputs)
    outputs = _head(x, n_classes, hidden_units, dropout, activation, _seed_stream(seed))
    return keras.Model(inputs, outputs, name="fer_dnn")


def build_vgg(
    n_classes: int = 7,
    *,
    block_filters: Sequence[int] = VGG_BLOCK_FILTERS,
    convs_per_block: int = 2,
    dense_units: Sequence[int] = VGG_DENSE_UNITS,
    block_dropout: float = 0.2,
    dense_dropout: float = 0.5,
    activation: str = "relu",
    rescale: float = 1.0 / 255.0,
    seed: int | None = None,
) -> keras.Model:
    """Build a VGG-style network with batch normalisation (uncompiled).

    A compact member of the family of Khaireddin & Chen (2021), "Facial
    Emotion Recognition: State of the Art Performance on FER2013": blocks of
    ``convs_per_block`` 3x3 convolutions ("same" padding, no bias), each
    followed by batch normalisation and the activation, then 2x2 max pooling
    and dropout; then a dense head with batch normalisation and dropout. With
    the defaults (blocks of 32, 64, 128 and 256 filters, two convolutions
    each, one dense layer of 256): 48x48 → 24x24 → 12x12 → 6x6 → 3x3x256,
    1,767,207 parameters for 7 classes and about 118 million
    multiply-adds per face (the study's CNN: 74 million).

    Parameters
    ----------
    n_classes : int, default=7
        Number of output classes.
    block_filters : sequence of int, default=(32, 64, 128, 256)
        Filters of the convolutions of each block; one 2x2 pooling per block,
        so at most 5 blocks for 48x48 faces.
    convs_per_block : int, default=2
        Convolutions per block.
    dense_units : sequence of int, default=(256,)
        Widths of the hidden dense layers.
    block_dropout : float, default=0.2
        Dropout rate after each block's pooling.
    dense_dropout : float, default=0.5
        Dropout rate after each hidden dense layer.
    activation : str, default="relu"
        Activation of every convolution and hidden dense layer.
    rescale : float, default=1/255
        Factor applied to the raw grey levels by the first layer.
    seed : int or None, default=None
        Seeds every weight initialiser and dropout layer.

    Returns
    -------
    model : keras.Model
        Input ``"pixels"`` of shape ``(None, 2304)``; output
        ``"probabilities"`` of shape ``(None, n_classes)``, preceded by the
        ``"logits"`` dense layer.

    Examples
    --------
    >>> from skfer.architectures import build_vgg
    >>> build_vgg().count_params()
    1767207
    """
    _check_units("block_filters", block_filters)
    _check_units("dense_units", dense_units)
    _check_rate("block_dropout", block_dropout)
    _check_rate("dense_dropout", dense_dropout)
    _check_depth("block_filters", block_filters, "blocks", "each halves the side")
    _check_count("convs_per_block", convs_per_block)
    seeds = _seed_stream(seed)
    inputs, x = _face_input(rescale)
    for b, filters in enumerate(block_filters, start=1):
        for c in range(1, int(convs_per_block) + 1):
            name = f"block{b}_conv{c}"
            x = _he_conv(seeds, filters, 3, name)(x)
            x = _layers.BatchNormalization(name=f"{name}_bn")(x)
            x = _layers.Activation(activation, name=f"{name}_act")(x)
        x = _layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = _layers.Dropout(block_dropout, seed=seeds(), name=f"block{b}_dropout")(x)
    x = _layers.Flatten(name="flatten")(x)
    for i, width in enumerate(dense_units, start=1):
        x = _layers.Dense(
            width,
            use_bias=False,
            kernel_initializer=keras.initializers.HeNormal(seed=seeds()),
            name=f"dense{i}",
        )(x)
        x = _layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = _layers.Activation(activation, name=f"dense{i}_act")(x)
        x = _layers.Dropout(dense_dropout, seed=seeds(), name=f"dense{i}_dropout")(x)
    outputs = _softmax_output(x, n_classes, seeds)
    return keras.Model(inputs, outputs, name="fer_vgg")


def build_resnet(
    n_classes: int = 7,
    *,
    stage_filters: Sequence[int] = RESNET_STAGE_FILTERS,
    blocks_per_stage: int = 1,
    dropout: float = 0.3,
    activation: str = "relu",
    rescale: float = 1.0 / 255.0,
    seed: int | None = None,
) -> keras.Model:
    """Build a residual network with batch normalisation (uncompiled).

    A compact member of the family of He et al. (2016), "Deep Residual
    Learning for Image Recognition", sized for 48x48 faces: a 3x3 stem
    convolution, then stages of ``blocks_per_stage`` basic blocks (two 3x3
    convolutions with batch normalisation, "same" padding, no bias, whose
    output is added to the block's input before the activation); the first
    block of every stage but the first halves the side with a stride-2
    convolution and takes a 1x1 stride-2 convolution as its shortcut
    (computed as a 2x2 subsampling, ``"..._shortcut_subsample"``, then a
    1x1 convolution: the same function). No
    pooling between stages and no hidden dense layer: global average pooling,
    dropout, then the ``"logits"`` layer. With the defaults (stages of 32,
    64, 128 and 256 filters, one block each): 48x48 → 24x24 → 12x12 → 6x6x256,
    1,230,503 parameters for 7 classes and about 142 million multiply-adds
    per face, a different family beside :func:`build_vgg` (1,767,207, 118
    million) for ensembles.

    Layer names: ``"stem_conv"`` (with ``_bn`` and ``_act``), then
    ``"stage{s}_block{b}_conv1"``, ``"..._conv2"`` (each with ``_bn``),
    ``"..._shortcut"`` (with ``_bn``) where the block downsamples or
    widens, ``"..._add"`` and ``"..._conv2_act"``, the block's output (the
    activation of the sum), then ``"pool"``, ``"dropout"``, ``"logits"``
    and ``"probabilities"``.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output classes.
    stage_filters : sequence of int, default=(32, 64, 128, 256)
        Filters of the convolutions of each stage; every stage after the
        first halves the side, so at most 5 stages for 48x48 faces.
    blocks_per_stage : int, default=1
        Residual blocks per stage.
    dropout : float, default=0.3
        Dropout rate before the ``"logits"`` layer.
    activation : str, default="relu"
        Activation of the stem and of every block.
    rescale : float, default=1/255
        Factor applied to the raw grey levels by the first layer.
    seed : int or None, default=None
        Seeds every weight initialiser and the dropout layer.

    Returns
    -------
    model : keras.Model
        Input ``"pixels"`` of shape ``(None, 2304)``; output
        ``"probabilities"`` of shape ``(None, n_classes)``, preceded by the
        ``"logits"`` dense layer.

    Examples
    --------
    >>> from skfer.architectures import build_resnet
    >>> build_resnet().count_params()
    1230503
    """
    _check_units("stage_filters", stage_filters)
    _check_rate("dropout", dropout)
    stage_filters = tuple(stage_filters)
    _check_depth(
        "stage_filters", stage_filters, "stages", "each after the first halves the side"
    )
    _check_count("blocks_per_stage", blocks_per_stage)
    seeds = _seed_stream(seed)

    def conv_bn(x, filters, size, strides, name):
        x = _he_conv(seeds, filters, size, name, strides)(x)
        return _layers.BatchNormalization(name=f"{name}_bn")(x)

    inputs, x = _face_input(rescale)
    x = conv_bn(x, stage_filters[0], 3, 1, "stem_conv")
    x = _layers.Activation(activation, name="stem_conv_act")(x)
    width = stage_filters[0]
    for s, filters in enumerate(stage_filters, start=1):
        for b in range(1, int(blocks_per_stage) + 1):
            name = f"stage{s}_block{b}"
            strides = 2 if s > 1 and b == 1 else 1
            shortcut = x
            if strides != 1:
                # the 1x1 stride-2 convolution as a 2x2 subsampling, then a
                # 1x1 convolution: the same function and weights, but oneDNN's
                # backward pass of a strided 1x1 convolution with 2-8 input
                # channels crashes (segfault) on AVX-512 CPUs without AMX
                # (AMD Zen 4), which small networks hit
                shortcut = _layers.MaxPooling2D(
                    1, strides=2, name=f"{name}_shortcut_subsample"
                )(shortcut)
            if strides != 1 or filters != width:
                shortcut = conv_bn(shortcut, filters, 1, 1, f"{name}_shortcut")
            y = conv_bn(x, filters, 3, strides, f"{name}_conv1")
            y = _layers.Activation(activation, name=f"{name}_conv1_act")(y)
            y = conv_bn(y, filters, 3, 1, f"{name}_conv2")
            y = _layers.Add(name=f"{name}_add")([y, shortcut])
            x = _layers.Activation(activation, name=f"{name}_conv2_act")(y)
            width = filters
    outputs = _pooled_output(x, n_classes, dropout, seeds)
    return keras.Model(inputs, outputs, name="fer_resnet")


def build_densenet(
    n_classes: int = 7,
    *,
    stem_filters: int = 32,
    block_layers: Sequence[int] = DENSENET_BLOCK_LAYERS,
    growth_rate: int = 24,
    compression: float = 0.5,
    dropout: float = 0.3,
    activation: str = "relu",
    rescale: float = 1.0 / 255.0,
    seed: int | None = None,
) -> keras.Model:
    """Build a densely connected network with batch normalisation (uncompiled).

    A compact member of the family of Huang et al. (2017), "Densely
    Connected Convolutional Networks" (DenseNet-BC), sized for 48x48 faces:
    a stem of two 3x3 convolutions of ``stem_filters`` filters at full
    resolution and a 2x2 max pooling (48 → 24), then dense blocks in which
    every layer (batch normalisation, activation, a 1x1 bottleneck
    convolution of ``4 * growth_rate`` filters, batch normalisation,
    activation, a 3x3 convolution of ``growth_rate`` filters) sees the
    concatenation of the block's input and of *all* earlier layers' outputs
    and adds ``growth_rate`` channels to it. Between blocks a transition
    (batch normalisation, activation, a 1x1 convolution keeping
    ``compression`` of the channels, 2x2 average pooling) halves the side;
    after the last block, batch normalisation, the activation, global
    average pooling, dropout and the logits. Feature reuse by concatenation
    rather than by addition (:func:`build_resnet`) or by stacking
    (:func:`build_vgg`) makes it a third family for ensembles. With the
    defaults (blocks of 6, 12 and 8 layers at 24x24, 12x12 and 6x6, growth
    rate 24): 48x48 → 24x24 → 12x12 → 6x6x380, 1,188,251 parameters for 7
    classes.

    Layer names: ``"stem_conv1"`` and ``"stem_conv2"`` (each followed by
    its ``_bn`` and ``_act``), ``"stem_pool"``, then in each layer of each
    block ``"block{b}_layer{l}_bn1"``, ``"..._act1"``, ``"..._conv1"``
    (the bottleneck), ``"..._bn2"``, ``"..._act2"``, ``"..._conv2"`` and
    ``"..._concat"`` (the block so far); ``"transition{b}_bn"``,
    ``"..._act"``, ``"..._conv"`` and ``"..._pool"``; then ``"final_bn"``,
    ``"final_act"`` (the last block's output, the inspection helpers'
    default layer), ``"pool"``, ``"dropout"``, ``"logits"`` and
    ``"probabilities"``.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output classes.
    stem_filters : int, default=32
        Filters of the two stem convolutions.
    block_layers : sequence of int, default=(6, 12, 8)
        Layers of each dense block; the stem and every transition halve the
        side, so at most 4 blocks for 48x48 faces.
    growth_rate : int, default=24
        Channels each layer adds to its block.
    compression : float, default=0.5
        Fraction of the channels a transition keeps, in (0, 1].
    dropout : float, default=0.3
        Dropout rate before the ``"logits"`` layer.
    activation : str, default="relu"
        Activation of the stem and of every layer and transition.
    rescale : float, default=1/255
        Factor applied to the raw grey levels by the first layer.
    seed : int or None, default=None
        Seeds every weight initialiser and the dropout layer.

    Returns
    -------
    model : keras.Model
        Input ``"pixels"`` of shape ``(None, 2304)``; output
        ``"probabilities"`` of shape ``(None, n_classes)``, preceded by the
        ``"logits"`` dense layer.

    Examples
    --------
    >>> from skfer.architectures import build_densenet
    >>> build_densenet().count_params()
    1188251
    """
    _check_count("stem_filters", stem_filters)
    _check_units("block_layers", block_layers)
    block_layers = tuple(block_layers)
    if len(block_layers) > 4:
        raise ValueError(
            "block_layers must hold at most 4 blocks for 48x48 faces (the stem "
            f"and each transition halve the side). Got {len(block_layers)}."
        )
    _check_count("growth_rate", growth_rate)
    if not 0.0 < float(compression) <= 1.0:
        raise ValueError(f"compression must be in (0, 1]. Got {compression!r} instead.")
    _check_rate("dropout", dropout)
    seeds = _seed_stream(seed)

    def bn_act_conv(x, filters, size, prefix, suffix=""):
        x = _layers.BatchNormalization(name=f"{prefix}_bn{suffix}")(x)
        x = _layers.Activation(activation, name=f"{prefix}_act{suffix}")(x)
        return _he_conv(seeds, filters, size, f"{prefix}_conv{suffix}")(x)

    inputs, x = _face_input(rescale)
    for c in (1, 2):
        x = _he_conv(seeds, int(stem_filters), 3, f"stem_conv{c}")(x)
        x = _layers.BatchNormalization(name=f"stem_conv{c}_bn")(x)
        x = _layers.Activation(activation, name=f"stem_conv{c}_act")(x)
    x = _layers.MaxPooling2D(2, name="stem_pool")(x)
    channels = int(stem_filters)
    for b, n_layers in enumerate(block_layers, start=1):
        if b > 1:
            channels = max(1, int(channels * float(compression)))
            x = bn_act_conv(x, channels, 1, f"transition{b - 1}")
            x = _layers.AveragePooling2D(2, name=f"transition{b - 1}_pool")(x)
        for i in range(1, n_layers + 1):
            name = f"block{b}_layer{i}"
            y = bn_act_conv(x, 4 * int(growth_rate), 1, name, "1")
            y = bn_act_conv(y, int(growth_rate), 3, name, "2")
            x = _layers.Concatenate(name=f"{name}_concat")([x, y])
            channels += int(growth_rate)
    x = _layers.BatchNormalization(name="final_bn")(x)
    x = _layers.Activation(activation, name="final_act")(x)
    outputs = _pooled_output(x, n_classes, dropout, seeds)
    return keras.Model(inputs, outputs, name="fer_densenet")
