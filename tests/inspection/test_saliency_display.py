"""SaliencyDisplay."""

import numpy as np
import pytest

from skfer.inspection import SaliencyDisplay, mask_low_saliency, saliency_maps


def test_saliency_display(trained_cnn, faces, pyplot):
    y = trained_cnn.predict(faces)
    disp = SaliencyDisplay.from_estimator(trained_cnn, faces[:3], target=[3, 3, 3])
    assert disp.ax_.shape == (3, 3) and disp.im_.shape == (3, 3)
    assert disp.figure_ is disp.ax_[0, 0].figure
    np.testing.assert_array_equal(disp.images, faces[:3].reshape(3, 48, 48))
    np.testing.assert_allclose(
        disp.maps, saliency_maps(trained_cnn, faces[:3], target=3)
    )
    np.testing.assert_array_equal(
        disp.masked, mask_low_saliency(faces[:3], disp.maps, 75)
    )
    np.testing.assert_array_equal(disp.targets, [3, 3, 3])
    np.testing.assert_array_equal(disp.predicted, y[:3])
    assert [a.get_title() for a in disp.ax_[0]] == [
        "face",
        "gradient",
        "salient part (top 25%)",
    ]
    assert "map of Happy" in disp.ax_[0, 0].get_ylabel()
    assert disp.im_[0, 1].get_cmap().name == "jet"


@pytest.mark.parametrize("method", ["smoothgrad", "gradcam"])
def test_saliency_display_methods_on_user_axes(mirror_pipeline, faces, pyplot, method):
    fig, ax = pyplot.subplots(2, 3)
    disp = SaliencyDisplay.from_estimator(
        mirror_pipeline,
        faces[:2],
        method=method,
        n_samples=3,
        random_state=0,
        percentile=50,
        overlay=True,
        ax=ax,
    )
    assert disp.figure_ is fig
    assert disp.ax_[0, 1].get_title().startswith(method)
    assert len(disp.ax_[0, 1].get_images()) == 2  # the face under the map


def test_saliency_display_of_a_dnn(trained_dnn, faces, pyplot):
    disp = SaliencyDisplay.from_estimator(trained_dnn, faces[0])
    assert disp.ax_.shape == (1, 3)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"percentile": 120}, r"percentile must be in \[0, 100\]"),
        ({"method": "occlusion"}, "method must be one of"),
        ({"X": "narrow"}, r"n_features must be 2304 \(48x48\). Got 100 instead"),
        ({"target": "joy"}, "Unknown expression class name 'joy'"),
        ({"method": "gradcam", "layer": "logits"}, "needs a layer with a spatial map"),
        ({"method": "gradcam", "layer": "conv_9"}, r"No layer named 'conv_9'.*'conv6'"),
        ({"ax": "one-axis"}, r"draws on 6 axes \(2 x 3\)"),
    ],
)
def test_saliency_display_validation(trained_cnn, faces, pyplot, params, match):
    kw = {"X": faces[:2], **params}
    if isinstance(kw["X"], str):  # "narrow"
        kw["X"] = faces[:2, :100]
    if kw.get("ax") == "one-axis":
        kw["ax"] = pyplot.subplots()[1]
    with pytest.raises(ValueError, match=match):
        SaliencyDisplay.from_estimator(trained_cnn, **kw)


def test_plot_checks_lengths(pyplot):
    images = np.zeros((2, 48, 48))
    disp = SaliencyDisplay(images, np.zeros((1, 48, 48)), images)
    with pytest.raises(ValueError, match="same number of faces"):
        disp.plot()
