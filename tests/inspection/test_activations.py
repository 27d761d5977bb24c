"""Layer outputs and ActivationDisplay."""

import numpy as np
import pytest

from skfer.inspection import ActivationDisplay, layer_activations


def test_layer_activations(trained_cnn, trained_dnn, faces):
    conv = layer_activations(trained_cnn, faces, "conv1_act")
    assert conv.shape == (8, 44, 44, 16)
    dense = layer_activations(trained_cnn, faces, "dense1")
    assert dense.shape == (8, 64)
    # the last layer is the classifier's own output
    proba = layer_activations(trained_cnn, faces, -1)
    np.testing.assert_allclose(proba, trained_cnn.predict_proba(faces), atol=1e-5)
    assert layer_activations(trained_dnn, faces[0], "dense1_act").shape == (1, 32)


def test_activation_display(trained_cnn, faces, pyplot):
    disp = ActivationDisplay.from_estimator(trained_cnn, faces[0])
    assert disp.layer == "conv1_act"  # default: the first convolution
    assert disp.activations.shape == (44, 44, 16)
    np.testing.assert_array_equal(disp.face, faces[0].reshape(48, 48))
    assert disp.ax_.shape == (4, 4)
    image = disp.ax_[0, 0].get_images()[0]
    assert image.get_cmap().name == "gray_r"  # as in the study
    np.testing.assert_allclose(image.get_array(), disp.activations[:, :, 0])
    assert disp.figure_._suptitle.get_text() == "conv1_act: 16 feature maps of 44x44"


def test_activation_display_options(trained_cnn, mirror_pipeline, faces, pyplot):
    fig, ax = pyplot.subplots(2, 3)
    index = [layer.name for layer in trained_cnn.model_.layers].index("conv4_act")
    disp = ActivationDisplay.from_estimator(
        trained_cnn, faces[:1], layer=index, ax=ax, ncols=3, max_maps=5
    )
    assert disp.layer == "conv4_act" and disp.figure_ is fig
    assert disp.ax_.shape == (2, 3) and not disp.ax_[1, 2].axison
    # a pipeline: the sampler is skipped, the maps are those of its classifier
    piped = ActivationDisplay.from_estimator(mirror_pipeline, faces[0].reshape(48, 48))
    direct = layer_activations(mirror_pipeline[-1], faces[0], "conv1_act")[0]
    np.testing.assert_allclose(piped.activations, direct)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"X": "two faces"}, "feature maps of one face; X holds 2"),
        ({"layer": "dense1"}, "needs a layer with a spatial map"),
        ({"layer": "conv7"}, r"No layer named 'conv7'.*'conv1_act'"),
        ({"X": "narrow"}, r"n_features must be 2304 \(48x48\)"),
        ({"ax": "one-axis"}, r"draws on 16 axes \(4 x 4\)"),
        ({"max_maps": 0}, "max_maps must be an int >= 1"),
    ],
)
def test_activation_display_validation(trained_cnn, faces, pyplot, params, match):
    inputs = {"two faces": faces[:2], "narrow": faces[:1, :100]}
    kw = {**params, "X": inputs.get(params.get("X"), faces[0])}
    if kw.get("ax") == "one-axis":
        kw["ax"] = pyplot.subplots()[1]
    with pytest.raises(ValueError, match=match):
        ActivationDisplay.from_estimator(trained_cnn, **kw)


def test_dnn_has_no_feature_maps(trained_dnn, faces, pyplot):
    with pytest.raises(ValueError, match="has no convolution, hence no feature maps"):
        ActivationDisplay.from_estimator(trained_dnn, faces[0])
    with pytest.raises(ValueError, match=r"shape \(height, width, channels\)"):
        ActivationDisplay(np.zeros((2, 3))).plot()
