"""Tests of skfer.faces (FaceCropper, predict_photos, `skfer predict`) and skfer.video.

The photos are real: scikit-image's ``astronaut()`` (one face, 512x512 RGB)
and compositions of it (two faces side by side, a face cut by the border,
grey, RGBA, tiny), plus the FER2013 JPEGs of ``images-sample`` for the 48x48
pass-through path.
"""

import argparse
import csv
import io
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

from PIL import Image  # noqa: E402

from skfer.datasets import EMOTIONS  # noqa: E402
from skfer.faces import (  # noqa: E402
    FaceCropper,
    _add_predict_parser,
    _run_predict,
    list_images,
    predict_photos,
)
from skfer.video import iter_video_frames, predict_video  # noqa: E402

#: The astronaut's face as OpenCV's cascade finds it: (x, y, w, h).
FACE = np.array([177, 66, 95, 95])


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def gray(astronaut):
    return cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="module")
def _models():
    return {}


@pytest.fixture
def model(tiny_cnn, expressions, _models):
    """A tiny CNN fitted once per module on the synthetic faces."""
    if "cnn" not in _models:
        X, y = expressions
        _models["cnn"] = tiny_cnn(epochs=1).fit(X, y)
    return _models["cnn"]


@pytest.fixture
def photo_dir(tmp_path, astronaut):
    """astronaut.png, two.jpg (two faces), sub/blank.png, sub/corrupt.jpg."""
    Image.fromarray(astronaut).save(tmp_path / "astronaut.png")
    Image.fromarray(np.hstack([astronaut, astronaut])).save(tmp_path / "two.jpg")
    (tmp_path / "sub").mkdir()
    Image.fromarray(np.full((120, 160), 90, np.uint8)).save(tmp_path / "sub/blank.png")
    (tmp_path / "sub" / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def near(box, expected, tol=12):
    return np.abs(np.asarray(box) - np.asarray(expected)).max() <= tol


# --------------------------------------------------------------------------
# FaceCropper: detection, composition, edges
# --------------------------------------------------------------------------


def test_astronaut_has_one_face(astronaut):
    faces, info = FaceCropper().crop([astronaut])
    assert faces.shape == (1, 2304) and faces.dtype == np.uint8
    assert info.status.tolist() == ["detected"]
    assert near([info.x[0], info.y[0], info.w[0], info.h[0]], FACE)
    assert info.source.tolist() == [0] and info.row.tolist() == [0]


def test_two_faces_all_left_to_right_or_largest(astronaut):
    two = np.hstack([astronaut, astronaut])
    faces, info = FaceCropper(faces="all", detect_max_side=None).crop([two])
    assert len(faces) == 2
    assert info.face.tolist() == [0, 1] and info.n_faces.tolist() == [2, 2]
    assert near(info.x, [FACE[0], FACE[0] + 512])
    assert abs(info.w[0] - info.w[1]) <= 4  # the same face twice
    faces, info = FaceCropper(faces="largest").crop([two, astronaut])
    assert len(faces) == 2 and info.source.tolist() == [0, 1]
    assert info.n_faces.tolist() == [2, 1]


def test_face_cut_by_border_is_padded_not_crashed(gray):
    cut = gray[:, 180:]  # the face touches the left edge
    faces, info = FaceCropper(margin=0.2, pad_mode="constant").crop([cut])
    assert info.status.tolist() == ["detected"] and info.x[0] < 10
    image = faces[0].reshape(48, 48)
    assert (image[:, 0] == 0).all()  # padded black on the left
    faces_edge, _ = FaceCropper(margin=0.2, pad_mode="edge").crop([cut])
    image = faces_edge[0].reshape(48, 48)
    np.testing.assert_array_equal(image[:, 0], image[:, 1])


def test_face_cut_further_needs_detect_border(gray):
    cut = gray[:, 195:]  # 18 pixels of the face are gone
    _, info = FaceCropper(on_missing="skip").crop([cut])
    assert info.status.tolist() == ["no_face"]
    faces, info = FaceCropper(detect_border=0.1).crop([cut])
    assert info.status.tolist() == ["detected"] and info.x[0] < 0
    assert faces.shape == (1, 2304)


def test_grey_rgba_float_and_single_channel_give_the_same_face(astronaut, gray):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    images = [astronaut, gray, rgba, gray[:, :, None], astronaut / 255.0]
    faces, info = FaceCropper().crop(images)
    assert info.status.tolist() == ["detected"] * 5
    for face in faces[1:]:
        assert np.abs(face.astype(int) - faces[0]).max() <= 1


def test_tiny_images_fall_back_to_their_centre():
    images = [np.full((1, 1), 7, np.uint8), np.zeros((10, 30)), np.ones((30, 20), bool)]
    faces, info = FaceCropper().crop(images)
    assert faces.shape == (3, 2304)
    assert info.status.tolist() == ["center"] * 3
    assert (faces[0] == 7).all() and (faces[2] == 255).all()
    assert info.w.tolist() == [1, 10, 20] and info.n_faces.tolist() == [0, 0, 0]


def test_no_face_policies():
    blank = np.full((100, 100), 128, np.uint8)
    faces, info = FaceCropper(on_missing="skip").crop([blank, blank])
    assert faces.shape == (0, 2304)
    assert info.status.tolist() == ["no_face"] * 2 and info.row.tolist() == [-1, -1]
    with pytest.raises(ValueError, match="image 1: no face found"):
        FaceCropper(on_missing="raise").crop([np.zeros((48, 48)), blank])


def test_given_boxes_replace_detection_and_may_leave_the_image(astronaut):
    boxes = [[(-20, -20, 60, 60), (400, 400, 50, 50)], None, []]
    cropper = FaceCropper(faces="all", margin=0.0, pad_mode="constant")
    faces, info = cropper.crop([astronaut] * 3, boxes=boxes)
    assert info.status.tolist() == ["given", "given", "detected", "center"]
    assert info.x.tolist()[:2] == [-20, 400]
    corner = faces[0].reshape(48, 48)
    assert (corner[:15, :15] == 0).all() and corner[20:, 20:].any()
    # a box that misses the image altogether is that image's error
    faces, info = FaceCropper(on_error="skip").crop(
        [astronaut, astronaut], boxes=[[(600, 0, 40, 40)], None]
    )
    assert info.status.tolist() == ["error", "detected"]
    assert "outside the 512x512 image" in info.error[0]
    with pytest.raises(ValueError, match="image 0: the box lies outside"):
        FaceCropper().crop([astronaut], boxes=[[(600, 0, 40, 40)]])


@pytest.mark.parametrize(
    "boxes, match",
    [
        ([[(0, 0, 10)]], r"boxes\[0\] must have shape \(n_faces, 4\)"),
        ([[(0, 0, 0, 10)]], "width and height > 0"),
        ([None, None], "one entry per image"),
    ],
)
def test_malformed_boxes(astronaut, boxes, match):
    with pytest.raises(ValueError, match=match):
        FaceCropper().crop([astronaut], boxes=boxes)


def test_callable_detector_and_no_detector(gray):
    def detector(image):
        assert image.dtype == np.uint8 and image.ndim == 2
        return [(10, 20, 30, 40)]

    _, info = FaceCropper(detector=detector, margin=0).crop([gray])
    assert info.status.tolist() == ["detected"]
    assert [info.x[0], info.y[0], info.w[0], info.h[0]] == [10, 20, 30, 40]
    tall = gray[:, :200]
    faces, info = FaceCropper(detector=None, pad_mode="constant").crop([tall])
    assert info.status.tolist() == ["whole"] and info.w.tolist() == [200]
    # the whole 200x512 image, squared about its centre: black on both sides
    image = faces[0].reshape(48, 48)
    assert (image[:, :5] == 0).all() and (image[:, -5:] == 0).all()


def test_largest_or_best_scored_face(gray):
    def detector(image):  # a big false face with a low score, a true one
        return [(300, 300, 150, 150, 6), (177, 66, 95, 95, 40)]

    _, info = FaceCropper(detector=detector, faces="largest").crop([gray])
    assert info.x.tolist() == [300] and info.score.tolist() == [6.0]
    assert info.n_faces.tolist() == [2]
    _, info = FaceCropper(detector=detector, faces="best").crop([gray])
    assert info.x.tolist() == [177] and info.score.tolist() == [40.0]
    _, info = FaceCropper().crop([gray])  # the cascade's score: its neighbours
    assert info.score[0] >= 20


def test_other_bundled_cascade_by_name(astronaut):
    cropper = FaceCropper(detector="haarcascade_frontalface_alt2.xml")
    _, info = cropper.crop([astronaut])
    assert info.status.tolist() == ["detected"]
    with pytest.raises(ValueError, match="bundled with OpenCV"):
        FaceCropper(detector="no_such_cascade.xml").crop([astronaut])


def test_large_jpeg_is_decoded_smaller_but_boxes_are_in_original_pixels(
    tmp_path, astronaut
):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    _, info = FaceCropper().crop([tmp_path / "big.jpg"])
    assert info.status.tolist() == ["detected"]
    assert near([info.x[0], info.y[0], info.w[0], info.h[0]], FACE * 4, tol=48)


def test_exif_orientation_is_applied(tmp_path, astronaut):
    rotated = np.rot90(astronaut)  # stored sideways, EXIF says "rotate 270"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(rotated)).save(tmp_path / "r.jpg", exif=exif)
    _, info = FaceCropper().crop([str(tmp_path / "r.jpg")])
    assert info.status.tolist() == ["detected"]
    assert near([info.x[0], info.y[0], info.w[0], info.h[0]], FACE)


# --------------------------------------------------------------------------
# FaceCropper: 48x48 pass-through on real FER2013 images
# --------------------------------------------------------------------------


def test_fer2013_jpegs_pass_through_untouched(fer2013_dir):
    from skfer.datasets import load_fer2013

    root = fer2013_dir / "images-sample"
    bunch = load_fer2013(root, cache=False)
    paths = [root / name for name in bunch.filenames]
    faces, info = FaceCropper().crop(paths)
    np.testing.assert_array_equal(faces, bunch.data)
    as_array = np.array([str(p) for p in paths])  # an array of paths works too
    np.testing.assert_array_equal(FaceCropper().transform(as_array), bunch.data)
    assert set(info.status) == {"passthrough"}
    assert info.path.tolist() == [str(p) for p in paths]
    # the array forms: (n, 2304), (n, 48, 48), and a list of flat rows
    for X in (bunch.data, bunch.images, list(bunch.data[:5])):
        out, info = FaceCropper().crop(X)
        np.testing.assert_array_equal(out, bunch.data[: len(out)])
        assert set(info.status) == {"passthrough"}
    assert len(list_images(root)) == len(paths)


def test_colour_48x48_is_converted_and_passthrough_can_be_turned_off(astronaut):
    small = cv2.resize(astronaut, (48, 48), interpolation=cv2.INTER_AREA)
    faces, info = FaceCropper().crop([small])
    np.testing.assert_array_equal(
        faces[0], cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).ravel()
    )
    _, info = FaceCropper(passthrough=False).crop([small])
    assert info.status.tolist() == ["center"]  # too small for the cascade


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


def test_unreadable_and_missing_files_are_per_image_errors(photo_dir, astronaut):
    bad = photo_dir / "sub" / "corrupt.jpg"
    X = [astronaut, bad, photo_dir / "missing.png"]
    faces, info = FaceCropper(on_error="skip").crop(X)
    assert len(faces) == 1
    assert info.status.tolist() == ["detected", "error", "error"]
    assert "cannot read image" in info.error[1]
    assert "No such file" in info.error[2]
    with pytest.raises(ValueError, match=r"image 1 \('.*corrupt.jpg'\): cannot read"):
        FaceCropper().crop(X)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((512, 512, 3), np.uint8), "looks like one colour image"),
        (np.zeros((5, 100)), r"flat 48x48 faces, shape \(n_samples, 2304\)"),
        ("photo.jpg", "not a single path"),
        ([], "X holds no images"),
        (np.zeros(5), "must be a list of images or paths"),
        (42, "must be a list of images or paths"),
    ],
)
def test_malformed_X(X, match):
    with pytest.raises(ValueError, match=match):
        FaceCropper().transform(X)


@pytest.mark.parametrize(
    "image, match",
    [
        (
            np.zeros((10, 10, 5)),
            r"expected an image of shape .* got shape \(10, 10, 5\)",
        ),
        (np.zeros(100), "a 1-D array of 100 values is not an image"),
        (np.zeros((0, 10)), "the image is empty"),
        (np.full((10, 10), 300), r"integer grey levels must lie in 0..255"),
        (np.full((10, 10), -2.0), r"float grey levels must lie in \[0, 1\] or"),
        (np.full((10, 10), np.nan), "the image holds NaN or infinite"),
        (np.array([["a"]]), "unsupported pixel dtype"),
    ],
)
def test_bad_image_arrays_are_per_image_errors(image, match, gray):
    with pytest.raises(ValueError, match="image 1: " + match):
        FaceCropper().crop([gray, image])
    _, info = FaceCropper(on_error="skip").crop([gray, image])
    assert info.status.tolist() == ["detected", "error"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"faces": "largets"}, "faces must be one of .* Did you mean 'largest'"),
        ({"on_missing": "centre"}, "Did you mean 'center'"),
        ({"on_error": "ignore"}, "on_error must be one of"),
        ({"pad_mode": "wrap"}, "pad_mode must be one of"),
        ({"margin": -0.1}, r"margin must be in \[0, 2\]"),
        ({"scale_factor": 1.0}, "scale_factor must be > 1"),
        ({"min_neighbors": 2.5}, "min_neighbors must be an int >= 0"),
        ({"min_face_size": 0}, "min_face_size must be an int >= 1"),
        ({"detect_max_side": 10}, "detect_max_side must be None or an int >= 24"),
        ({"detect_border": 0.6}, r"detect_border must be in \[0, 0.5\]"),
        ({"detector": 3}, "detector must be 'haar'"),
    ],
)
def test_parameter_validation(params, match, gray):
    with pytest.raises(ValueError, match=match):
        FaceCropper(**params).fit()
    with pytest.raises(ValueError, match=match):
        FaceCropper(**params).transform([gray])


# --------------------------------------------------------------------------
# scikit-learn integration
# --------------------------------------------------------------------------


def test_is_a_stateless_sklearn_transformer(gray):
    cropper = FaceCropper(margin=0.2, faces="all")
    check_is_fitted(cropper)  # needs no fit
    assert clone(cropper).get_params() == cropper.get_params()
    out = cropper.fit_transform([gray])
    assert out.shape == (1, 2304) and cropper.crop_info_.status[0] == "detected"
    again = pickle.loads(pickle.dumps(cropper))
    np.testing.assert_array_equal(again.transform([gray]), out)
    assert cropper.get_feature_names_out()[[0, -1]].tolist() == ["pixel0", "pixel2303"]


def test_pipeline_predicts_one_label_per_photo(model, photo_dir, astronaut):
    pipe = make_pipeline(FaceCropper(), model)
    photos = [photo_dir / "astronaut.png", astronaut, np.full((60, 80), 50, np.uint8)]
    labels = pipe.predict(photos)
    assert labels.shape == (3,)
    assert pipe[0].crop_info_.status.tolist() == ["detected", "detected", "center"]
    face = FaceCropper().transform([astronaut])
    assert labels[1] == model.predict(face)[0]
    assert pipe.predict_proba(photos).shape == (3, 7)


def test_pipeline_routes_boxes_with_metadata_routing(model, astronaut):
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        cropper = FaceCropper().set_transform_request(boxes=True)
        pipe = make_pipeline(cropper, model)
        pipe.predict([astronaut, astronaut], boxes=[[(0, 0, 64, 64)], None])
    assert pipe[0].crop_info_.status.tolist() == ["given", "detected"]


# --------------------------------------------------------------------------
# predict_photos
# --------------------------------------------------------------------------


class CountingClassifier:
    """Wraps a classifier and counts its predict_proba calls and rows."""

    def __init__(self, clf):
        self.clf, self.calls = clf, []
        self.classes_ = clf.classes_

    def predict_proba(self, X):
        self.calls.append(len(X))
        return self.clf.predict_proba(X)


def test_predict_photos_reports_every_face_and_every_problem(model, photo_dir):
    table = predict_photos(model, photo_dir)
    names = [p.rsplit("/", 1)[-1] for p in table.path]
    assert names == ["astronaut.png", "blank.png", "corrupt.jpg", "two.jpg", "two.jpg"]
    statuses = ["detected", "no_face", "error", "detected", "detected"]
    assert table.status.tolist() == statuses
    assert table.face.tolist() == [0, -1, -1, 0, 1]
    assert table.source.tolist() == [0, 1, 2, 3, 3]
    has_face = table.label >= 0
    assert has_face.tolist() == [True, False, False, True, True]
    proba = np.column_stack([table[k] for k in table if k.startswith("proba_")])
    assert proba.shape[1] == 7 and "proba_happy" in table
    np.testing.assert_allclose(proba[has_face].sum(axis=1), 1.0, rtol=1e-5)
    assert np.isnan(proba[~has_face]).all()
    assert table.expression[0] in EMOTIONS
    assert table.expression[1] == "" and "cannot read image" in table.error[2]


def test_predict_photos_calls_the_model_once_per_batch(model, astronaut):
    counting = CountingClassifier(model)
    photos = [astronaut] * 5
    table = predict_photos(counting, photos, batch_size=2)
    assert counting.calls == [2, 2, 1]
    assert table.source.tolist() == [0, 1, 2, 3, 4]
    counting.calls.clear()
    predict_photos(counting, photos, batch_size=64)
    assert counting.calls == [5]


def test_predict_photos_as_frame_boxes_and_pipeline_cropper(model, astronaut):
    pd = pytest.importorskip("pandas")
    two = np.hstack([astronaut, astronaut])
    frame = predict_photos(model, [two, astronaut], as_frame=True)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    pipe = make_pipeline(FaceCropper(faces="largest"), model)
    table = predict_photos(pipe, [two, astronaut])
    assert table.n_faces.tolist() == [2, 1] and len(table.status) == 2
    table = predict_photos(model, [astronaut], boxes=[[(0, 0, 50, 50)]])
    assert table.status.tolist() == ["given"]
    with pytest.raises(ValueError, match="one entry per photo"):
        predict_photos(model, [astronaut], boxes=[None, None])
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        predict_photos(model, [astronaut], batch_size=0)


# --------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------


def write_video(path, astronaut, n_frames=10, fps=5.0):
    """An MJPG .avi: the astronaut (256x256), frames 4 and 5 blank."""
    frame = cv2.cvtColor(
        cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA),
        cv2.COLOR_RGB2BGR,
    )
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (256, 256)
    )
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.zeros_like(frame) if i in (4, 5) else frame)
    writer.release()
    return path


def test_iter_video_frames_samples_with_a_step(tmp_path, astronaut):
    path = write_video(tmp_path / "clip.avi", astronaut)
    frames = list(iter_video_frames(path, step=3))
    assert [f[0] for f in frames] == [0, 3, 6, 9]
    np.testing.assert_allclose([f[1] for f in frames], [0.0, 0.6, 1.2, 1.8])
    assert frames[0][2].shape == (256, 256) and frames[0][2].dtype == np.uint8
    assert [f[0] for f in iter_video_frames(path, start=2, stop=7, step=2)] == [2, 4, 6]


def test_predict_video_batches_frames(tmp_path, astronaut, model):
    path = write_video(tmp_path / "clip.avi", astronaut)
    counting = CountingClassifier(model)
    table = predict_video(counting, path, step=2, batch_size=2)
    assert table.frame.tolist() == [0, 2, 4, 6, 8]
    statuses = ["detected", "detected", "no_face", "detected", "detected"]
    assert table.status.tolist() == statuses
    np.testing.assert_allclose(table.time, [0.0, 0.4, 0.8, 1.2, 1.6])
    assert counting.calls == [2, 1, 1]  # faces of frames (0, 2), (4, 6), (8,)
    assert (table.label[table.status == "detected"] >= 0).all()


def test_video_errors(tmp_path, model):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict_video(model, tmp_path / "missing.mp4")
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(ValueError, match=r"fake\.mp4"):
        predict_video(model, tmp_path / "fake.mp4")
    with pytest.raises(ValueError, match="step must be an int >= 1"):
        list(iter_video_frames(tmp_path / "fake.mp4", step=0))


# --------------------------------------------------------------------------
# `skfer predict`
# --------------------------------------------------------------------------


def cli(argv):
    """Parse like `skfer` does (_add_predict_parser), then _run_predict."""
    parser = argparse.ArgumentParser(prog="skfer")
    _add_predict_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.func is _run_predict
    return args.func(args)


@pytest.fixture
def model_file(tmp_path, model):
    from skfer import save_model

    return save_model(model, tmp_path / "model.joblib")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_photos_folders_and_videos(
    tmp_path, photo_dir, model_file, astronaut, capsys
):
    video = write_video(tmp_path / "clip.avi", astronaut)
    out = tmp_path / "out.csv"
    argv = ["predict", str(model_file), str(photo_dir), str(video), "--step", "3"]
    assert cli([*argv, "-o", str(out)]) == 0
    rows = read_csv(out)
    header = list(rows[0])
    assert header[:5] == ["path", "frame", "time", "face", "n_faces"]
    assert "proba_neutral" in header and "source" not in header
    photos = [r for r in rows if r["frame"] == ""]
    frames = [r for r in rows if r["frame"] != ""]
    statuses = ["detected", "no_face", "error", "detected", "detected"]
    assert [r["status"] for r in photos] == statuses
    assert [r["frame"] for r in frames] == ["0", "3", "6", "9"]
    assert frames[1]["time"] == "0.600"
    blank = photos[1]
    assert blank["label"] == "" and blank["proba_happy"] == "" and blank["x"] == ""
    assert 0 <= int(photos[0]["label"]) <= 6
    err = capsys.readouterr().err
    assert (
        "4 photos, 1 videos (4 frames): 7 faces, 0 centre guesses, 1 without a face"
        in err
    )


def test_cli_largest_face_with_centre_fallback_to_stdout(photo_dir, model_file, capsys):
    argv = ["predict", str(model_file), str(photo_dir / "two.jpg")]
    argv += [str(photo_dir / "sub" / "blank.png"), "--faces", "largest"]
    assert cli([*argv, "--on-missing", "center"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["status"] for r in rows] == ["detected", "center"]
    assert list(rows[0])[:2] == ["path", "face"]  # no frame/time without videos
    assert rows[0]["n_faces"] == "2" and rows[1]["label"] != ""


def test_cli_fer2013_csv_writes_an_id_label_submission(tmp_path, model_file, capsys):
    from skfer.datasets import make_expressions

    X, y = make_expressions(20, random_state=3)
    test_csv = tmp_path / "test.csv"
    lines = ["id,feature"] + [
        f"{100 + i}," + " ".join(map(str, row)) for i, row in enumerate(X)
    ]
    test_csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "submission.csv"
    assert cli(["predict", str(model_file), str(test_csv), "-o", str(out)]) == 0
    rows = read_csv(out)
    assert list(rows[0]) == ["id", "label"]
    assert [int(r["id"]) for r in rows] == list(range(100, 120))
    assert {int(r["label"]) for r in rows} <= set(range(7))
    # a labelled Kaggle-layout CSV: accuracy is reported, ids are row numbers
    kaggle = tmp_path / "fer2013.csv"
    lines = ["emotion,pixels,Usage"] + [
        f"{label}," + " ".join(map(str, row)) + ",PublicTest"
        for label, row in zip(y, X, strict=True)
    ]
    kaggle.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    argv = ["predict", str(model_file), str(kaggle), "--usage", "PublicTest"]
    assert cli([*argv, "-o", str(out)]) == 0
    assert [int(r["id"]) for r in read_csv(out)] == list(range(20))
    assert "accuracy on 20 labelled faces" in capsys.readouterr().err


def test_cli_errors(tmp_path, model_file, photo_dir):
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        cli(["predict", str(model_file), str(tmp_path / "missing.jpg")])
    (tmp_path / "a.csv").write_text("id,feature\n")
    with pytest.raises(ValueError, match="must be the only INPUT"):
        cli(["predict", str(model_file), str(tmp_path / "a.csv"), str(photo_dir)])
    with pytest.raises(ValueError, match="--step and --batch-size must be >= 1"):
        cli(["predict", str(model_file), str(photo_dir), "--step", "0"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No photos or videos"):
        cli(["predict", str(model_file), str(tmp_path / "empty")])
