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
