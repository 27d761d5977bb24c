"""Tests of the FER2013 loaders: real data, every layout, every bad input."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import re
import tempfile
import threading
import zlib
from functools import partial
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from skfer.datasets import (
    EMOTIONS,
    _csv,
    fetch_fer2013,
    get_data_home,
    load_fer2013,
)
from skfer.datasets import _fer2013 as fer

TRAIN_COUNTS = [3995, 436, 4097, 7215, 4830, 3171, 4965]
PUBLIC_TEST_COUNTS = [467, 56, 496, 895, 653, 261, 607]


@pytest.fixture(autouse=True)
def _private_data_home(tmp_path, monkeypatch):
    """Never let a test write to the real ~/skfer_data."""
    monkeypatch.setenv("SKFER_DATA", str(tmp_path / "default_data_home"))
    monkeypatch.delenv("SKFER_FER2013_URL", raising=False)


# --------------------------------------------------------------------------
# Helpers that write small files in each layout
# --------------------------------------------------------------------------


def _faces(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 2304), dtype=np.uint8)
    X[:, :10] = [0, 5, 9, 10, 55, 99, 100, 199, 250, 255]  # every digit count
    y = rng.integers(0, 7, size=n)
    return X, y


def _pixels(row, sep=" "):
    return sep.join(map(str, row.tolist()))


def _kaggle_text(X, y, usage, *, newline="\n", trailing=True):
    lines = ["emotion,pixels,Usage"]
    lines += [f"{t},{_pixels(x)},{u}" for x, t, u in zip(X, y, usage, strict=True)]
    return newline.join(lines) + (newline if trailing else "")


def _write(path, text, *, compress=False):
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


@pytest.fixture
def kaggle(tmp_path):
    """A 9-row Kaggle CSV: (path, X, y, usage)."""
    X, y = _faces(9)
    usage = ["Training"] * 5 + ["PublicTest"] * 3 + ["PrivateTest"]
    path = _write(tmp_path / "fer2013.csv", _kaggle_text(X, y, usage))
    return path, X, y, np.array(usage)


def _homework(folder, X, y, X_test, ids):
    folder.mkdir(parents=True, exist_ok=True)
    train = ["label,feature"] + [f"{t},{_pixels(x)}" for x, t in zip(X, y, strict=True)]
    test = ["id,feature"] + [
        f"{i},{_pixels(x)}" for x, i in zip(X_test, ids, strict=True)
    ]
    _write(folder / "train.csv", "\n".join(train) + "\n")
    _write(folder / "test.csv", "\n".join(test) + "\n")
    return folder


def _png_tree(root, layout, seed=0):
    """Write 48x48 PNGs; layout maps split -> {class folder name: count}."""
    rng = np.random.default_rng(seed)
    expected = {}
    for split, classes in layout.items():
        for cls, count in classes.items():
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, size=(48, 48), dtype=np.uint8)
                Image.fromarray(pixels, mode="L").save(folder / f"img_{i}.png")
                expected[folder / f"img_{i}.png"] = pixels
    return expected


def _load(path, **kwargs):
    kwargs.setdefault("cache", False)
    return load_fer2013(path, **kwargs)


# --------------------------------------------------------------------------
# Real data from ../shared
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_home(tmp_path_factory):
    """One cache folder for the real-data tests, so the file is parsed rarely."""
    return tmp_path_factory.mktemp("real_data_home")


@pytest.fixture(scope="session")
def real_fer2013(fer2013_dir, real_home):
    """The full shared file, parsed once (this also writes the cache)."""
    return load_fer2013(fer2013_dir / "fer2013.csv.gz", data_home=real_home)


@pytest.mark.slow
def test_real_file_has_the_documented_splits_and_counts(real_fer2013, fer2013_dir):
    faces = real_fer2013
    assert faces.data.shape == (32144, 2304)
    assert faces.data.dtype == np.uint8
    assert faces.target.dtype == np.int64
    assert faces.images.shape == (32144, 48, 48)
    assert np.shares_memory(faces.images, faces.data)
    assert faces.target_names == list(EMOTIONS)
    assert faces.filename == str(fer2013_dir / "fer2013.csv.gz")
    assert "FER2013" in faces.DESCR
    usage, counts = np.unique(faces.usage, return_counts=True)
    assert dict(zip(usage.tolist(), counts.tolist(), strict=True)) == {
        "Training": 28709,
        "PublicTest": 3435,
    }
    train = faces.target[faces.usage == "Training"]
    public = faces.target[faces.usage == "PublicTest"]
    assert np.bincount(train, minlength=7).tolist() == TRAIN_COUNTS
    assert np.bincount(public, minlength=7).tolist() == PUBLIC_TEST_COUNTS


@pytest.mark.slow
def test_real_file_first_row_matches_the_text(real_fer2013, fer2013_dir):
    with gzip.open(fer2013_dir / "fer2013.csv.gz", "rt") as f:
        f.readline()
        label, pixels, usage = f.readline().rstrip("\n").split(",")
    assert real_fer2013.target[0] == int(label)
    assert real_fer2013.usage[0] == usage
    assert real_fer2013.data[0].tolist() == [int(p) for p in pixels.split()]


@pytest.mark.slow
def test_real_cache_round_trip_and_usage_filter(real_fer2013, fer2013_dir, real_home):
    entries = list((real_home / "fer2013_cache").glob("*.npz"))
    assert len(entries) == 1
    with mock.patch.object(fer, "_read_source", side_effect=AssertionError):
        cached = load_fer2013(fer2013_dir, data_home=real_home)  # the folder
        public = load_fer2013(fer2013_dir, usage="PublicTest", data_home=real_home)
        X, y = load_fer2013(
            fer2013_dir,
            usage=["Training", "PublicTest"],
            return_X_y=True,
            data_home=real_home,
        )
    # np.array_equal: assert_array_equal takes seconds on 74M pixels
    assert np.array_equal(cached.data, real_fer2013.data)
    assert np.array_equal(cached.target, real_fer2013.target)
    assert np.array_equal(cached.usage, real_fer2013.usage)
    assert public.data.shape == (3435, 2304)
    assert set(public.usage) == {"PublicTest"}
    assert np.bincount(public.target).tolist() == PUBLIC_TEST_COUNTS
    assert X.shape == (32144, 2304) and y.shape == (32144,)


@pytest.mark.slow
def test_real_path_from_environment(real_fer2013, fer2013_dir, real_home, monkeypatch):
    monkeypatch.setenv("SKFER_FER2013", str(fer2013_dir))
    X, _ = load_fer2013(return_X_y=True, data_home=real_home)
    assert X.shape == real_fer2013.data.shape


def test_real_image_sample(fer2013_dir):
    root = fer2013_dir / "images-sample"
    faces = _load(root)
    assert faces.data.shape == (70, 2304)
    assert faces.images.shape == (70, 48, 48)
    assert faces.target is not None
    assert "ids" not in faces
    for split, usage in (("train", "Training"), ("test", "PublicTest")):
        rows = faces.usage == usage
        assert np.bincount(faces.target[rows]).tolist() == [5] * 7
        assert all(f"/{split}/" in f for f in faces.filenames[rows])
    for i, name in enumerate(faces.filenames):
        path = Path(name)
        assert faces.target[i] == EMOTIONS.index(path.parent.name.capitalize())
        if faces.usage[i] == "PublicTest":
            assert path.name.startswith("PublicTest_")
        with Image.open(path) as im:
            np.testing.assert_array_equal(faces.images[i], np.asarray(im.convert("L")))


def test_real_image_split_folder(fer2013_dir):
    faces = _load(fer2013_dir / "images-sample" / "train")
    assert faces.data.shape == (35, 2304)
    assert set(faces.usage) == {"Training"}


# --------------------------------------------------------------------------
# Generated files in every layout
# --------------------------------------------------------------------------


def test_kaggle_csv(kaggle):
    path, X, y, usage = kaggle
    faces = _load(path)
    np.testing.assert_array_equal(faces.data, X)
    np.testing.assert_array_equal(faces.target, y)
    np.testing.assert_array_equal(faces.usage, usage)
    np.testing.assert_array_equal(faces.images, X.reshape(-1, 48, 48))
    assert faces.filename == str(path)
    assert "ids" not in faces and "filenames" not in faces


@pytest.mark.parametrize(
    "usage, rows",
    [
        ("Training", slice(0, 5)),
        (["PublicTest", "PrivateTest"], slice(5, 9)),
        (("PrivateTest",), slice(8, 9)),
    ],
)
def test_kaggle_usage_filter(kaggle, usage, rows):
    path, X, y, _ = kaggle
    Xs, ys = _load(path, usage=usage, return_X_y=True)
    np.testing.assert_array_equal(Xs, X[rows])
    np.testing.assert_array_equal(ys, y[rows])


def test_empty_usage_list(kaggle):
    with pytest.raises(ValueError, match="usage is empty"):
        _load(kaggle[0], usage=[])


def test_unknown_usage_lists_the_present_ones(kaggle):
    with pytest.raises(
        ValueError, match=r"\['Validation'\].*'Training', 'PublicTest', 'PrivateTest'"
    ):
        _load(kaggle[0], usage=["Training", "Validation"])


def test_kaggle_csv_gz_and_folder(kaggle, tmp_path):
    path, X, y, _ = kaggle
    folder = tmp_path / "gz"
    folder.mkdir()
    _write(folder / "fer2013.csv.gz", path.read_bytes(), compress=True)
    for source in (folder / "fer2013.csv.gz", folder):
        faces = _load(source)
        np.testing.assert_array_equal(faces.data, X)
        np.testing.assert_array_equal(faces.target, y)
    assert _load(path.parent).filename == str(path)  # the file that was read


def test_gzip_detected_from_content_and_multi_member(kaggle, tmp_path):
    path, X, _, _ = kaggle
    text = path.read_bytes()
    cut = text.index(b"\n", len(text) // 2) + 1
    two = tmp_path / "data.bin"
    two.write_bytes(gzip.compress(text[:cut]) + gzip.compress(text[cut:]))
    np.testing.assert_array_equal(_load(two).data, X)


def test_crlf_missing_final_newline_blank_lines_and_odd_spacing(tmp_path):
    X, y = _faces(4)
    lines = [f"{t},{_pixels(x)},Training" for x, t in zip(X, y, strict=True)]
    lines[1] = f"{y[1]},{_pixels(X[1], sep='  ')},Training"  # double spaces
    lines[2] = f"{y[2]}, {_pixels(X[2], sep=chr(9))} ,Training"  # tabs, padding
    text = "emotion,pixels,Usage\r\n" + "\r\n".join([*lines[:2], "", *lines[2:]])
    faces = _load(_write(tmp_path / "odd.csv", text))
    np.testing.assert_array_equal(faces.data, X)
    np.testing.assert_array_equal(faces.target, y)
    assert set(faces.usage) == {"Training"}


def test_icml_column_order(tmp_path):
    X, y = _faces(3)
    lines = ["emotion, Usage, pixels"]
    lines += [f"{t},PublicTest,{_pixels(x)}" for x, t in zip(X, y, strict=True)]
    faces = _load(_write(tmp_path / "icml_face_data.csv", "\r\n".join(lines)))
    np.testing.assert_array_equal(faces.data, X)
    np.testing.assert_array_equal(faces.target, y)
    assert set(faces.usage) == {"PublicTest"}


def test_homework_folder(tmp_path):
    X, y = _faces(4)
    X_test, _ = _faces(3, seed=1)
    folder = _homework(tmp_path / "hw", X, y, X_test, ids=[7, 80, 12345])
    faces = _load(folder)
    np.testing.assert_array_equal(faces.data, np.vstack([X, X_test]))
    assert faces.usage.tolist() == ["Training"] * 4 + ["Test"] * 3
    assert faces.target.tolist() == [*y.tolist(), -1, -1, -1]
    assert faces.ids.tolist() == [-1] * 4 + [7, 80, 12345]

    train = _load(folder, usage="Training")
    np.testing.assert_array_equal(train.target, y)
    assert "ids" not in train

    test = _load(folder / "test.csv")
    assert test.target is None
    assert test.ids.tolist() == [7, 80, 12345]
    assert set(test.usage) == {"Test"}
    X_only, y_none = _load(folder, usage="Test", return_X_y=True)
    np.testing.assert_array_equal(X_only, X_test)
    assert y_none is None

    single = _load(folder / "train.csv")
    assert set(single.usage) == {"Training"} and "ids" not in single


def test_pixels_only_csv(tmp_path):
    X, _ = _faces(2)
    text = "pixels\n" + "\n".join(_pixels(x) for x in X) + "\n"
    faces = _load(_write(tmp_path / "test.csv", text))
    np.testing.assert_array_equal(faces.data, X)
    assert faces.target is None and "ids" not in faces
    assert faces.usage.tolist() == ["Test", "Test"]


def test_homework_folder_with_train_only(tmp_path):
    X, y = _faces(2)
    folder = _homework(tmp_path / "hw", X, y, X[:1], ids=[0])
    (folder / "test.csv").unlink()
    np.testing.assert_array_equal(_load(folder).target, y)


def test_png_image_folders_with_mixed_case_classes(tmp_path):
    layout = {
        "train": {"HaPPy": 2, "angry": 1, "NEUTRAL": 1},
        "test": {"Sad": 1, "surprise": 1},
        "PrivateTest": {"fear": 1},
        "val": {"Disgust": 1},
    }
    expected = _png_tree(tmp_path / "imgs", layout)
    faces = _load(tmp_path / "imgs")
    assert faces.data.shape == (8, 2304)
    # splits sorted by folder name, then classes by label, then files by name
    assert faces.usage.tolist() == [
        "PrivateTest",
        "PublicTest",
        "PublicTest",
        "Training",
        "Training",
        "Training",
        "Training",
        "val",
    ]
    assert faces.target.tolist() == [2, 4, 5, 0, 3, 3, 6, 1]
    for i, name in enumerate(faces.filenames):
        np.testing.assert_array_equal(faces.images[i], expected[Path(name)])
    (tmp_path / "imgs" / "train" / "HaPPy" / ".DS_Store").write_bytes(b"junk")
    assert len(_load(tmp_path / "imgs").data) == 8


def test_colour_and_jpeg_images_are_converted_to_grey(tmp_path):
    folder = tmp_path / "imgs" / "train" / "happy"
    folder.mkdir(parents=True)
    rgb = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb, mode="RGB").save(folder / "a.png")
    Image.fromarray(rgb, mode="RGB").save(folder / "b.JPEG")
    faces = _load(tmp_path / "imgs")
    for i, name in enumerate(faces.filenames):
        with Image.open(name) as im:
            np.testing.assert_array_equal(faces.images[i], np.asarray(im.convert("L")))


def test_many_chunks_give_the_same_result(kaggle, monkeypatch):
    path, X, y, usage = kaggle
    monkeypatch.setattr(_csv, "_CHUNK_BYTES", 5000)  # about one line per chunk
    monkeypatch.setattr(_csv, "_READ_BYTES", 777)
    gz = _write(path.with_suffix(".gz"), path.read_bytes(), compress=True)
    for source in (path, gz):
        faces = _load(source)
        np.testing.assert_array_equal(faces.data, X)
        np.testing.assert_array_equal(faces.target, y)
        np.testing.assert_array_equal(faces.usage, usage)


# --------------------------------------------------------------------------
# The cache and data_home
# --------------------------------------------------------------------------


def test_cache_round_trip(kaggle, tmp_path):
    path, X, y, _ = kaggle
    home = tmp_path / "home"
    first = load_fer2013(path, data_home=home)
    entries = list((home / "fer2013_cache").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".npz"
    assert entries[0].stat().st_mode & 0o644 == 0o644  # not mkstemp's 0o600
    with mock.patch.object(fer, "_read_source", side_effect=AssertionError):
        second = load_fer2013(path, data_home=home, usage="PublicTest")
    np.testing.assert_array_equal(first.data, X)
    np.testing.assert_array_equal(second.data, X[5:8])
    np.testing.assert_array_equal(second.target, y[5:8])


def test_cache_is_keyed_by_content_not_by_stat(kaggle, tmp_path):
    path, _, y, _ = kaggle
    home = tmp_path / "home"
    load_fer2013(path, data_home=home)
    stat = path.stat()
    text = path.read_bytes()
    i = text.index(b"\n") + 1  # the first label: same size, same mtime
    edited = text[:i] + str((y[0] + 1) % 7).encode() + text[i + 1 :]
    path.write_bytes(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    faces = load_fer2013(path, data_home=home)
    assert faces.target[0] == (y[0] + 1) % 7
    assert len(list((home / "fer2013_cache").glob("*.npz"))) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a zip file"),
        lambda p: p.write_bytes(p.read_bytes()[:-100]),
        lambda p: p.write_bytes(b""),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_corrupted_cache_is_ignored_and_rebuilt(kaggle, tmp_path, damage):
    path, X, _, _ = kaggle
    home = tmp_path / "home"
    load_fer2013(path, data_home=home)
    (entry,) = (home / "fer2013_cache").glob("*.npz")
    damage(entry)
    np.testing.assert_array_equal(load_fer2013(path, data_home=home).data, X)
    with mock.patch.object(fer, "_read_source", side_effect=AssertionError):
        np.testing.assert_array_equal(load_fer2013(path, data_home=home).data, X)


def test_inconsistent_cache_is_rebuilt(kaggle, tmp_path):
    path, X, _, _ = kaggle
    home = tmp_path / "home"
    load_fer2013(path, data_home=home)
    (entry,) = (home / "fer2013_cache").glob("*.npz")
    with np.load(entry) as npz:
        arrays = dict(npz)
    arrays["data"] = arrays["data"][:, :100]
    np.savez(entry, **arrays)
    np.testing.assert_array_equal(load_fer2013(path, data_home=home).data, X)


def test_cache_false_writes_nothing_and_default_home_is_used(kaggle, tmp_path):
    load_fer2013(kaggle[0], cache=False)
    default_home = tmp_path / "default_data_home"
    assert not (default_home / "fer2013_cache").exists()
    load_fer2013(kaggle[0])
    assert len(list((default_home / "fer2013_cache").glob("*.npz"))) == 1


def test_cache_of_image_folders_sees_edits(tmp_path):
    expected = _png_tree(tmp_path / "imgs", {"train": {"sad": 2}})
    home = tmp_path / "home"
    first = load_fer2013(tmp_path / "imgs", data_home=home)
    path = sorted(expected)[0]
    Image.fromarray(255 - expected[path], mode="L").save(path)
    second = load_fer2013(tmp_path / "imgs", data_home=home)
    np.testing.assert_array_equal(second.images[0], 255 - first.images[0])
    np.testing.assert_array_equal(second.filenames, first.filenames)


def test_cached_image_paths_follow_the_folder(tmp_path):
    _png_tree(tmp_path / "a", {"train": {"sad": 1}})
    home = tmp_path / "home"
    load_fer2013(tmp_path / "a", data_home=home)
    (tmp_path / "a").rename(tmp_path / "b")
    with mock.patch.object(fer, "_read_source", side_effect=AssertionError):
        faces = load_fer2013(tmp_path / "b", data_home=home)
    assert faces.filenames.tolist() == [str(tmp_path / "b" / "train/sad/img_0.png")]


def test_unwritable_cache_does_not_fail_the_load(kaggle, tmp_path):
    with mock.patch.object(fer, "_save_cache", return_value=False):
        faces = load_fer2013(kaggle[0], data_home=tmp_path / "home")
    np.testing.assert_array_equal(faces.data, kaggle[1])


def test_get_data_home(tmp_path, monkeypatch):
    assert get_data_home(tmp_path / "a") == str(tmp_path / "a")
    assert (tmp_path / "a").is_dir()
    monkeypatch.setenv("SKFER_DATA", str(tmp_path / "b"))
    assert get_data_home() == str(tmp_path / "b")
    monkeypatch.delenv("SKFER_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home" / "skfer_data")
    assert (tmp_path / "home" / "skfer_data").is_dir()


# --------------------------------------------------------------------------
# Bad input: every error names the file and the line (or the image)
# --------------------------------------------------------------------------


def _bad_line(tmp_path, line, *, header="emotion,pixels,Usage", name="bad.csv"):
    """A CSV whose third line is ``line`` (lines 2 and 4 are fine)."""
    X, y = _faces(2)
    good = [f"{t},{_pixels(x)},Training" for x, t in zip(X, y, strict=True)]
    text = "\n".join([header, good[0], line, good[1]]) + "\n"
    return _write(tmp_path / name, text)


ROW = " ".join(["7"] * 2304)


@pytest.mark.parametrize(
    "line, message",
    [
        (
            f"0,{' '.join(['7'] * 2303)},Training",
            "expected 2304 pixel values.*found 2303",
        ),
        (f"0,{ROW} 8,Training", "found 2305"),
        ("0,,Training", "found 0"),
        (f"0,{ROW[:-1]}x,Training", "non-numeric pixel value 'x'"),
        (f"0,{ROW}x,Training", "non-numeric pixel value '7x'"),
        (f"0,{ROW[:-1]}-7,Training", "non-numeric pixel value '-7'"),
        (f"0,{ROW[:-1]}256,Training", "pixel value 256 > 255"),
        (f"0,{ROW[:-1]}1000,Training", "pixel value 1000 > 255"),
        (f"7,{ROW},Training", r"label must be an integer in 0\.\.6, got '7'"),
        (f"-1,{ROW},Training", "label must be.*got '-1'"),
        (f"x,{ROW},Training", "label must be.*got 'x'"),
        (f"0,{ROW}", "expected 3 comma-separated fields, found 2"),
        (f"0,{ROW},Training,extra", "expected 3 comma-separated fields, found 4"),
        (f"0,{ROW}, ", "invalid Usage name ' '"),
    ],
)
def test_bad_csv_line_names_file_and_line(tmp_path, line, message):
    path = _bad_line(tmp_path, line)
    with pytest.raises(
        ValueError, match=re.escape(f"{path}: line 3: ") + ".*" + message
    ):
        _load(path)


def test_bad_line_in_a_later_chunk_and_in_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv, "_CHUNK_BYTES", 3000)
    X, y = _faces(6)
    lines = [f"{t},{_pixels(x)},Training" for x, t in zip(X, y, strict=True)]
    lines[4] = lines[4].replace(",Training", " 1,Training")
    path = _write(tmp_path / "late.csv.gz", _kaggle_text(X, y, ["Training"] * 6))
    path = _write(
        path, "emotion,pixels,Usage\n" + "\n".join(lines) + "\n", compress=True
    )
    with pytest.raises(
        ValueError, match=re.escape(f"{path}: line 6: ") + ".*found 2305"
    ):
        _load(path)


@pytest.mark.parametrize(
    "header, last, message",
    [
        ("emotion,pixels,Usage", "3", "expected 3 comma-separated fields, found 1"),
        ("emotion,pixels,Usage", "3,4", "expected 3 comma-separated fields, found 2"),
        ("label,feature", "3", "expected 2 comma-separated fields, found 1"),
        ("id,feature", "12", "expected 2 comma-separated fields, found 1"),
    ],
)
def test_last_line_without_commas(tmp_path, header, last, message):
    X, y = _faces(2)
    if header.startswith("emotion"):
        good = [f"{t},{_pixels(x)},Training" for x, t in zip(X, y, strict=True)]
    else:
        good = [f"{t},{_pixels(x)}" for x, t in zip(X, y, strict=True)]
    for end in ("", "\n"):
        path = _write(tmp_path / "last.csv", "\n".join([header, *good, last]) + end)
        with pytest.raises(ValueError, match=re.escape(f"{path}: line 4: {message}")):
            _load(path)


def test_bad_homework_id(tmp_path):
    X, _ = _faces(1)
    path = _write(tmp_path / "test.csv", f"id,feature\nabc,{_pixels(X[0])}\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}: line 2: ") + "id must"):
        _load(path)


@pytest.mark.parametrize(
    "header",
    ["emotion,pixel,Usage", "emotion,pixels,pixels", "emotion,Usage", "a,b,c", ""],
)
def test_wrong_header(tmp_path, header):
    path = _bad_line(tmp_path, f"0,{ROW},Training", header=header)
    with pytest.raises(ValueError, match=re.escape(f"{path}: line 1: wrong header")):
        _load(path)


def test_binary_file_is_not_a_header(tmp_path):
    path = _write(tmp_path / "x.csv", b"\xff\xfe\x00garbage\n1,2\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}: line 1: not a FER2013")):
        _load(path)


def test_empty_and_header_only_files(tmp_path):
    empty = _write(tmp_path / "empty.csv", b"")
    with pytest.raises(ValueError, match=re.escape(f"{empty} is empty")):
        _load(empty)
    empty_gz = _write(tmp_path / "empty.csv.gz", b"", compress=True)
    with pytest.raises(ValueError, match=re.escape(f"{empty_gz} is empty")):
        _load(empty_gz)
    header = _write(tmp_path / "header.csv", "emotion,pixels,Usage\n\n")
    with pytest.raises(ValueError, match=re.escape(f"{header}: no data rows")):
        _load(header)


def test_truncated_and_corrupt_gzip(kaggle, tmp_path):
    data = gzip.compress(kaggle[0].read_bytes())
    truncated = _write(tmp_path / "truncated.csv.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=re.escape(f"{truncated}: truncated gzip")):
        _load(truncated)
    corrupt = bytearray(data)
    corrupt[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    corrupt_path = _write(tmp_path / "corrupt.csv.gz", bytes(corrupt))
    with pytest.raises(ValueError, match=re.escape(f"{corrupt_path}: corrupt gzip")):
        _load(corrupt_path)
    crc = bytearray(data)
    crc[-8] ^= 0xFF  # the CRC-32 of the member
    crc_path = _write(tmp_path / "crc.csv.gz", bytes(crc))
    with pytest.raises(ValueError, match=re.escape(f"{crc_path}: corrupt gzip")):
        _load(crc_path)


def test_missing_path_and_no_path(tmp_path, monkeypatch):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        _load(missing)
    monkeypatch.delenv("SKFER_FER2013", raising=False)
    with pytest.raises(FileNotFoundError, match=r"SKFER_FER2013.*Kaggle"):
        load_fer2013()


def test_folder_without_a_layout(tmp_path):
    (tmp_path / "stuff" / "other").mkdir(parents=True)
    (tmp_path / "stuff" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'stuff'} holds no")):
        _load(tmp_path / "stuff")


def test_bad_images(tmp_path):
    _png_tree(tmp_path / "imgs", {"train": {"happy": 1}})
    folder = tmp_path / "imgs" / "train" / "happy"

    big = folder / "big.png"
    Image.fromarray(np.zeros((50, 48), dtype=np.uint8)).save(big)
    with pytest.raises(ValueError, match=re.escape(f"{big}: image is 48x50 pixels")):
        _load(tmp_path / "imgs")
    big.unlink()

    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(ValueError, match=re.escape(f"{broken}: cannot read image")):
        _load(tmp_path / "imgs")
    broken.unlink()

    other = folder / "notes.txt"
    other.write_text("hi")
    with pytest.raises(ValueError, match=re.escape(f"{other}: not a supported image")):
        _load(tmp_path / "imgs")
    other.unlink()

    (tmp_path / "imgs" / "train" / "Contempt").mkdir()
    with pytest.raises(ValueError, match=re.escape("Contempt: folder name is not")):
        _load(tmp_path / "imgs")


def test_image_outside_a_class_folder(tmp_path):
    _png_tree(tmp_path / "imgs", {"train": {"happy": 1}})
    stray = tmp_path / "imgs" / "train" / "stray.png"
    Image.fromarray(np.zeros((48, 48), dtype=np.uint8)).save(stray)
    with pytest.raises(ValueError, match=re.escape(f"{stray}: image is not inside")):
        _load(tmp_path / "imgs")


def test_empty_class_folders(tmp_path):
    (tmp_path / "imgs" / "train" / "happy").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        _load(tmp_path / "imgs")


# --------------------------------------------------------------------------
# fetch_fer2013 against a local HTTP server
# --------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """Serve a folder on 127.0.0.1 (port chosen by the OS); yields (folder, url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_downloads_verifies_and_reuses(kaggle, http_root, tmp_path):
    path, X, y, _ = kaggle
    root, base = http_root
    payload = gzip.compress(path.read_bytes())
    (root / "fer.csv.gz").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    home = tmp_path / "home"

    faces = fetch_fer2013(home, url=f"{base}/fer.csv.gz", sha256=digest.upper())
    np.testing.assert_array_equal(faces.data, X)
    assert (home / "fer2013.csv.gz").read_bytes() == payload
    assert (home / "fer2013.csv.gz").stat().st_mode & 0o644 == 0o644
    assert not [p for p in home.iterdir() if p.name.startswith(".")]

    (root / "fer.csv.gz").unlink()  # a second fetch must not download
    X2, y2 = fetch_fer2013(home, usage="Training", return_X_y=True)
    np.testing.assert_array_equal(X2, X[:5])
    np.testing.assert_array_equal(y2, y[:5])


def test_fetch_plain_csv_from_environment_url(kaggle, http_root, tmp_path, monkeypatch):
    root, base = http_root
    (root / "fer2013.csv").write_bytes(kaggle[0].read_bytes())
    monkeypatch.setenv("SKFER_FER2013_URL", f"{base}/fer2013.csv")
    monkeypatch.setenv("SKFER_DATA", str(tmp_path / "env_home"))
    faces = fetch_fer2013()
    np.testing.assert_array_equal(faces.data, kaggle[1])
    assert (tmp_path / "env_home" / "fer2013.csv").is_file()


def test_fetch_checksum_mismatch_leaves_nothing(kaggle, http_root, tmp_path):
    root, base = http_root
    payload = gzip.compress(kaggle[0].read_bytes())
    (root / "fer.csv.gz").write_bytes(payload)
    home = tmp_path / "home"
    got = hashlib.sha256(payload).hexdigest()
    with pytest.raises(ValueError, match=f"SHA-256 {got}, expected {'0' * 64}"):
        fetch_fer2013(home, url=f"{base}/fer.csv.gz", sha256="0" * 64)
    assert list(home.iterdir()) == []


def test_fetch_http_error_leaves_nothing(http_root, tmp_path):
    _, base = http_root
    home = tmp_path / "home"
    with pytest.raises(OSError, match=re.escape(f"{base}/missing.csv.gz")):
        fetch_fer2013(home, url=f"{base}/missing.csv.gz")
    assert list(home.iterdir()) == []


def test_fetch_without_download(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError, match="download_if_missing is False"):
        fetch_fer2013(home, url="http://127.0.0.1:9/x", download_if_missing=False)
    with pytest.raises(ValueError, match=r"SKFER_FER2013_URL.*Kaggle"):
        fetch_fer2013(home)


def test_fetch_uses_a_local_file(kaggle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "fer2013.csv").write_bytes(kaggle[0].read_bytes())
    faces = fetch_fer2013(home, download_if_missing=False, usage="PrivateTest")
    np.testing.assert_array_equal(faces.data, kaggle[1][8:])


# --------------------------------------------------------------------------
# Property: any pixels and labels written as CSV text parse back exactly
# --------------------------------------------------------------------------


@st.composite
def _csv_cases(draw):
    n = draw(st.integers(1, 4))
    X = draw(arrays(np.uint8, (n, 2304), elements=st.integers(0, 255)))
    y = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    layout = draw(st.sampled_from(["kaggle", "train", "test", "icml"]))
    usage = draw(
        st.lists(
            st.sampled_from(["Training", "PublicTest", "Fold1", "Set 2"]),
            min_size=n,
            max_size=n,
        )
    )
    options = {
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "trailing": draw(st.booleans()),
        "odd_spacing": draw(st.booleans()),
        "gzip": draw(st.booleans()),
        "chunk": draw(st.sampled_from([1 << 19, 4000, 12000])),
        "seed": draw(st.integers(0, 2**16)),
    }
    return X, np.array(y), usage, layout, options


def _render(X, y, usage, layout, options):
    rng = np.random.default_rng(options["seed"])
    rows = []
    for x, t, u in zip(X, y, usage, strict=True):
        if options["odd_spacing"]:
            values = list(map(str, x.tolist()))
            seps = rng.choice([" ", "  ", "\t", " \t "], 2303, p=[0.7, 0.1, 0.1, 0.1])
            pix = values[0] + "".join(
                s + v for s, v in zip(seps, values[1:], strict=True)
            )
            if rng.random() < 0.3:
                pix = f" {pix} "
        else:
            pix = _pixels(x)
        rows.append(
            {
                "kaggle": f"{t},{pix},{u}",
                "train": f"{t},{pix}",
                "test": f"{t},{pix}",  # the ids are the labels here
                "icml": f"{t},{u},{pix}",
            }[layout]
        )
    header = {
        "kaggle": "emotion,pixels,Usage",
        "train": "label,feature",
        "test": "id,feature",
        "icml": "emotion, Usage, pixels",
    }[layout]
    newline = options["newline"]
    return newline.join([header, *rows]) + (newline if options["trailing"] else "")


@settings(max_examples=40, deadline=None)
@given(_csv_cases())
def test_csv_round_trip_property(case):
    X, y, usage, layout, options = case
    text = _render(X, y, usage, layout, options)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "data.csv", text, compress=options["gzip"])
        with mock.patch.object(_csv, "_CHUNK_BYTES", options["chunk"]):
            faces = load_fer2013(path, cache=False)
    np.testing.assert_array_equal(faces.data, X)
    if layout == "test":
        assert faces.target is None
        np.testing.assert_array_equal(faces.ids, y)
    else:
        np.testing.assert_array_equal(faces.target, y)
    expected_usage = usage if layout in ("kaggle", "icml") else None
    if expected_usage is None:
        expected_usage = ["Test" if layout == "test" else "Training"] * len(X)
    assert faces.usage.tolist() == expected_usage


@settings(max_examples=40, deadline=None)
@given(_csv_cases())
def test_fast_and_slow_parsers_agree(case):
    X, y, usage, _, options = case
    text = _render(X, y, usage, "kaggle", options)
    header, _, body = text.encode().partition(b"\n")
    body = body if body.endswith(b"\n") else body + b"\n"
    fast = _csv._Rows(_csv._parse_header(header, Path("x")))
    slow = _csv._Rows(fast.header)
    _csv._parse_chunk_slow(body, slow, Path("x"), 2)
    if _csv._parse_chunk_fast(body, fast):
        np.testing.assert_array_equal(
            np.concatenate(fast.data), np.concatenate(slow.data)
        )
        assert fast.labels == slow.labels
        assert [fast.usage_names[c] for c in fast.usage] == [
            slow.usage_names[c] for c in slow.usage
        ]
    else:
        assert options["odd_spacing"]  # only irregular spacing needs the slow path
    np.testing.assert_array_equal(np.concatenate(slow.data), X)


def test_prefetch_forwards_errors_and_stops():
    def items():
        yield b"a"
        raise zlib.error("boom")

    gen = _csv._prefetch(items())
    assert next(gen) == b"a"
    with pytest.raises(zlib.error, match="boom"):
        next(gen)

    def endless():
        while True:
            yield b"x"

    gen = _csv._prefetch(endless(), depth=2)
    assert next(gen) == b"x"
    gen.close()  # must not hang
