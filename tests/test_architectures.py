import numpy as np
import pytest

from skfer.architectures import build_cnn, build_dnn

CNN_LAYERS = [
    # (layer name, output shape without batch, parameters)
    ("to_image", (48, 48, 1), 0),
    ("conv1", (44, 44, 64), 1_664),
    ("pad1", (48, 48, 64), 0),
    ("maxpool1", (22, 22, 64), 0),
    ("pad2", (24, 24, 64), 0),
    ("conv2", (22, 22, 64), 36_928),
    ("conv3", (22, 22, 64), 36_928),
    ("avgpool1", (10, 10, 64), 0),
    ("pad4", (12, 12, 64), 0),
    ("conv4", (10, 10, 96), 55_392),
    ("conv5", (10, 10, 128), 110_720),
    ("conv6", (10, 10, 128), 147_584),
    ("pad7", (12, 12, 128), 0),
    ("avgpool2", (5, 5, 128), 0),
    ("flatten", (3_200,), 0),
    ("dense1", (900,), 2_880_900),
    ("dense2", (900,), 810_900),
    ("logits", (7,), 6_307),
    ("probabilities", (7,), 0),
]

DNN_LAYERS = [
    ("dense1", (1024,), 2_360_320),
    ("dense2", (1024,), 1_049_600),
    ("dense3", (768,), 787_200),
    ("dense4", (768,), 590_592),
    ("dense5", (512,), 393_728),
    ("dense6", (512,), 262_656),
    ("logits", (7,), 3_591),
]


@pytest.mark.parametrize(
    "build, layers, total",
    [(build_cnn, CNN_LAYERS, 4_087_323), (build_dnn, DNN_LAYERS, 5_447_687)],
    ids=["cnn", "dnn"],
)
def test_study_architectures_exact(build, layers, total):
    model = build()
    assert model.count_params() == total
    assert tuple(model.input.shape) == (None, 2304)
    for name, shape, params in layers:
        layer = model.get_layer(name)
        assert tuple(layer.output.shape[1:]) == shape, name
        assert layer.count_params() == params, name


def test_cnn_has_dropout_between_convolutions_and_after_dense():
    names = [layer.name for layer in build_cnn().layers]
    order = ["conv3", "dropout1", "conv4", "conv5", "dropout2", "conv6", "dropout3"]
    assert [n for n in names if n in order] == order
    assert "dense1_dropout" in names and "dense2_dropout" in names


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = build_dnn(seed=1), build_dnn(seed=1), build_dnn(seed=2)
    wa, wb, wc = (m.get_layer("dense1").get_weights()[0] for m in (a, b, c))
    assert (wa == wb).all()
    assert not (wa == wc).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"conv_filters": (8, 8)}, "exactly 6"),
        ({"conv_filters": (8, 8, 8, 8, 8, 0)}, "positive integers"),
        ({"conv_dropout": 1.0}, r"conv_dropout must be in \[0, 1\)"),
        ({"dense_units": (16, -1)}, "positive integers"),
    ],
)
def test_build_cnn_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


def test_vgg_architecture():
    from skfer.architectures import build_vgg

    model = build_vgg()
    assert model.count_params() == 1_767_207
    assert tuple(model.input.shape) == (None, 2304)
    for name, shape in [
        ("block1_conv2", (48, 48, 32)),
        ("block1_pool", (24, 24, 32)),
        ("block2_pool", (12, 12, 64)),
        ("block3_pool", (6, 6, 128)),
        ("block4_conv2_act", (6, 6, 256)),
        ("block4_pool", (3, 3, 256)),
        ("flatten", (2304,)),
        ("dense1", (256,)),
        ("logits", (7,)),
    ]:
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    assert model.get_layer("block1_conv1_bn").__class__.__name__ == "BatchNormalization"
    small = build_vgg(5, block_filters=(4, 8, 16), convs_per_block=1, dense_units=())
    assert tuple(small.get_layer("flatten").output.shape[1:]) == (6 * 6 * 16,)
    assert tuple(small.output.shape) == (None, 5)


def test_resnet_architecture():
    from skfer.architectures import build_resnet
    from skfer.inspection._model import conv_layer

    model = build_resnet()
    assert model.count_params() == 1_230_503
    assert tuple(model.input.shape) == (None, 2304)
    for name, shape in [
        ("stem_conv_act", (48, 48, 32)),
        ("stage1_block1_conv2_act", (48, 48, 32)),
        ("stage2_block1_conv1", (24, 24, 64)),
        ("stage2_block1_shortcut", (24, 24, 64)),
        ("stage3_block1_conv2_act", (12, 12, 128)),
        ("stage4_block1_conv2_act", (6, 6, 256)),
        ("pool", (256,)),
        ("logits", (7,)),
    ]:
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    names = [layer.name for layer in model.layers]
    # the first stage keeps its width and side: an identity shortcut
    assert "stage1_block1_shortcut" not in names
    assert model.get_layer("stage2_block1_add").__class__.__name__ == "Add"
    assert not any("dense" in n or "flatten" in n for n in names)
    # inspection's default layer is the last block's output, not a shortcut
    assert conv_layer(model) == "stage4_block1_conv2_act"
    deep = build_resnet(5, stage_filters=(4, 8), blocks_per_stage=2)
    assert "stage2_block2_add" in [layer.name for layer in deep.layers]
    assert "stage2_block2_shortcut" not in [layer.name for layer in deep.layers]
    assert tuple(deep.get_layer("stage2_block2_conv2_act").output.shape[1:]) == (
        24,
        24,
        8,
    )
    assert tuple(deep.output.shape) == (None, 5)


def test_resnet_blocks_add_their_input():
    """A block's output is act(conv2 path + shortcut), checked numerically."""
    import keras

    from skfer.architectures import build_resnet

    model = build_resnet(stage_filters=(4, 6), seed=0)
    X = np.random.RandomState(0).randint(0, 256, (3, 2304)).astype("float32")
    names = [
        "stage1_block1_conv2_bn",
        "stem_conv_act",
        "stage1_block1_conv2_act",
        "stage2_block1_conv2_bn",
        "stage2_block1_shortcut_bn",
        "stage2_block1_conv2_act",
    ]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    c1, x0, out1, c2, s2, out2 = (np.asarray(a) for a in probe(X))
    np.testing.assert_allclose(out1, np.maximum(c1 + x0, 0), atol=1e-5)
    np.testing.assert_allclose(out2, np.maximum(c2 + s2, 0), atol=1e-5)


def test_resnet_shortcut_is_a_strided_1x1_convolution():
    """The subsample-then-1x1 shortcut computes a 1x1 stride-2 convolution."""
    import keras

    from skfer.architectures import build_resnet

    model = build_resnet(stage_filters=(4, 8), seed=0)
    X = np.random.RandomState(0).randint(0, 256, (3, 2304)).astype("float32")
    names = ["stage1_block1_conv2_act", "stage2_block1_shortcut"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    x, short = (np.asarray(a) for a in probe(X))
    kernel = np.asarray(model.get_layer("stage2_block1_shortcut").kernel)
    strided = keras.ops.conv(x, kernel, strides=2, padding="same")
    assert short.shape == (3, 24, 24, 8)
    np.testing.assert_allclose(short, np.asarray(strided), atol=1e-5)


def test_same_seed_same_resnet():
    from skfer.architectures import build_resnet

    a, b, c = (build_resnet(stage_filters=(4, 8), seed=s) for s in (1, 1, 2))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"stage_filters": (4,) * 6}, "at most 5 stages"),
        ({"stage_filters": (4, 0)}, "stage_filters must hold positive integers"),
        ({"blocks_per_stage": 0}, "blocks_per_stage must be an int >= 1"),
        ({"blocks_per_stage": 1.5}, "blocks_per_stage must be an int >= 1"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_build_resnet_rejects_bad_settings(kwargs, match):
    from skfer.architectures import build_resnet

    with pytest.raises(ValueError, match=match):
        build_resnet(**kwargs)


def test_densenet_architecture():
    from skfer.architectures import build_densenet
    from skfer.inspection._model import conv_layer

    model = build_densenet()
    assert model.count_params() == 1_188_251
    assert tuple(model.input.shape) == (None, 2304)
    for name, shape in [
        ("stem_conv2_act", (48, 48, 32)),
        ("stem_pool", (24, 24, 32)),
        ("block1_layer1_conv1", (24, 24, 96)),  # the bottleneck: 4 x growth
        ("block1_layer1_conv2", (24, 24, 24)),  # the growth rate
        ("block1_layer1_concat", (24, 24, 32 + 24)),
        ("block1_layer6_concat", (24, 24, 32 + 6 * 24)),
        ("transition1_conv", (24, 24, 88)),  # compression 0.5 of 176
        ("transition1_pool", (12, 12, 88)),
        ("block2_layer12_concat", (12, 12, 88 + 12 * 24)),
        ("transition2_pool", (6, 6, 188)),
        ("final_act", (6, 6, 188 + 8 * 24)),
        ("pool", (380,)),
        ("logits", (7,)),
    ]:
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    names = [layer.name for layer in model.layers]
    assert model.get_layer("block2_layer3_concat").__class__.__name__ == "Concatenate"
    assert "transition3_conv" not in names  # none after the last block
    assert not any("dense" in n or "flatten" in n for n in names)
    # inspection's default layer is the last block's output, the first
    # (stem) convolution's output the first; never a pre-activation
    assert conv_layer(model) == "final_act"
    assert conv_layer(model, 0) == "stem_conv1_act"
    small = build_densenet(
        5, stem_filters=4, block_layers=(2, 1, 1, 1), growth_rate=4, compression=1.0
    )
    assert tuple(small.get_layer("final_act").output.shape[1:]) == (3, 3, 4 + 5 * 4)
    assert tuple(small.output.shape) == (None, 5)


def test_densenet_layers_see_every_earlier_output():
    """A layer's input is the concatenation of the block input and all outputs."""
    import keras

    from skfer.architectures import build_densenet

    model = build_densenet(stem_filters=4, block_layers=(3,), growth_rate=2, seed=0)
    X = np.random.RandomState(0).randint(0, 256, (3, 2304)).astype("float32")
    names = [
        "stem_pool",
        "block1_layer1_conv2",
        "block1_layer2_conv2",
        "block1_layer3_conv2",
        "block1_layer3_concat",
        "block1_layer3_bn1",
    ]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    stem, y1, y2, y3, out, bn_in = (np.asarray(a) for a in probe(X))
    np.testing.assert_array_equal(out, np.concatenate([stem, y1, y2, y3], axis=-1))
    # the third layer normalises the block input and both earlier outputs
    assert bn_in.shape[-1] == 4 + 2 * 2
    bn = model.get_layer("block1_layer3_bn1")
    gamma, beta, mean, var = (np.asarray(w) for w in bn.weights)
    seen = np.concatenate([stem, y1, y2], axis=-1)
    np.testing.assert_allclose(
        bn_in, gamma * (seen - mean) / np.sqrt(var + bn.epsilon) + beta, atol=1e-4
    )


def test_same_seed_same_densenet():
    from skfer.architectures import build_densenet

    a, b, c = (
        build_densenet(stem_filters=4, block_layers=(1, 1), growth_rate=4, seed=s)
        for s in (1, 1, 2)
    )
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"block_layers": (1,) * 5}, "at most 4 blocks"),
        ({"block_layers": (2, 0)}, "block_layers must hold positive integers"),
        ({"growth_rate": 0}, "growth_rate must be an int >= 1"),
        ({"stem_filters": 2.5}, "stem_filters must be an int >= 1"),
        ({"compression": 0.0}, r"compression must be in \(0, 1\]"),
        ({"compression": 1.5}, r"compression must be in \(0, 1\]"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_build_densenet_rejects_bad_settings(kwargs, match):
    from skfer.architectures import build_densenet

    with pytest.raises(ValueError, match=match):
        build_densenet(**kwargs)
