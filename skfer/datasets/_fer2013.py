"""Load FER2013 from its common layouts, and fetch it into ``data_home``.

Three layouts are recognised, by content rather than by file name:

* the Kaggle CSV, ``fer2013.csv`` or ``fer2013.csv.gz`` (``emotion,pixels,Usage``);
* the course-homework CSVs, ``train.csv`` (``label,feature``) and ``test.csv``
  (``id,feature``);
* image folders, ``<root>/<split>/<class name>/*.jpg|*.jpeg|*.png``.

The CSVs are parsed by :mod:`._csv`; every reader returns a
:class:`._table._Table`.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._cache import (
    _cache_file,
    _content_key,
    _load_cache,
    _publish,
    _save_cache,
    get_data_home,
)
from ._csv import _GZIP_MAGIC, _READ_BYTES, _read_csv
from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS, label_for_name
from ._table import _concat_tables, _index_or_append, _Table

__all__ = ["fetch_fer2013", "load_fer2013"]

_ENV_PATH = "SKFER_FER2013"
_ENV_URL = "SKFER_FER2013_URL"
_KAGGLE_NAMES = ("fer2013.csv.gz", "fer2013.csv")
_HOMEWORK_NAMES = ("train.csv", "test.csv")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_IGNORED_FILES = ("thumbs.db", "desktop.ini")


#: Split-folder name (lower case) -> Usage name, for image folders.
_SPLIT_USAGE = {
    "train": "Training",
    "training": "Training",
    "test": "PublicTest",
    "publictest": "PublicTest",
    "privatetest": "PrivateTest",
}

_HOW_TO_GET = (
    "FER2013 is distributed by Kaggle under its competition terms, so skfer "
    "cannot download it for you: download 'fer2013.csv' from the Kaggle "
    "'Challenges in Representation Learning: Facial Expression Recognition "
    "Challenge' page (or a folder of its images), then pass its path to "
    f"load_fer2013(path), or set the environment variable {_ENV_PATH} to it, "
    "or put fer2013.csv(.gz) in your skfer data_home for fetch_fer2013()."
)

DESCR = """\
FER2013 facial expressions
--------------------------

48x48 grey-level faces, each labelled with one of seven expressions:
0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral.
Goodfellow et al. (2013), "Challenges in Representation Learning: A report on
three machine learning contests" (ICML 2013 workshop); distributed by Kaggle.
The full release has 35,887 faces: Training 28,709, PublicTest 3,589 and
PrivateTest 3,589.

:Data: ``data`` of shape (n_samples, 2304), uint8, row-major 48x48 pixels
    (the ``pixels`` column); ``images`` is the same memory as (n, 48, 48).
:Target: ``target`` of shape (n_samples,), int64 in 0..6 (``None`` for
    unlabelled files, -1 for unlabelled rows mixed with labelled ones).
:Split: ``usage`` of shape (n_samples,), the Usage name of each row.
"""


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def load_fer2013(
    path: str | os.PathLike[str] | None = None,
    *,
    usage: str | Sequence[str] | None = None,
    return_X_y: bool = False,
    cache: bool = True,
    data_home: str | os.PathLike[str] | None = None,
) -> Bunch | tuple[np.ndarray, np.ndarray | None]:
    """Load FER2013 from a local file or folder, in any of its common layouts.

    The layout is detected from the content:

    - **Kaggle CSV** ``fer2013.csv`` or ``fer2013.csv.gz`` (gzip is detected
      from the bytes, not the name), header ``emotion,pixels,Usage``. The
      ICML variant with the columns in another order, and the challenge's
      unlabelled ``test.csv`` with only a ``pixels`` column, are accepted too.
    - **Homework CSVs**: ``train.csv`` (header ``label,feature``) gets the
      Usage name ``"Training"``; ``test.csv`` (header ``id,feature``) has no
      labels and gets the Usage name ``"Test"``. Any CSV without a ``Usage``
      column is ``"Training"`` if labelled and ``"Test"`` otherwise.
    - **Image folders** ``<root>/<split>/<class name>/*.jpg|*.jpeg|*.png``
      (class folders matched case-insensitively). The split folder ``train``
      becomes ``"Training"`` and ``test`` becomes ``"PublicTest"`` (the Kaggle
      image release's test folder is the PublicTest split); folder names that
      already are Usage names are kept, any other name is used as it is.
      ``path`` may also be a single split folder holding class folders.
      Images are converted to 8-bit grey ("L") and must be 48x48.

    A folder is searched in that order: ``fer2013.csv.gz`` / ``fer2013.csv``,
    then ``train.csv`` / ``test.csv``, then image folders.

    Lines may end in ``\\n`` or ``\\r\\n``; blank lines are skipped; pixel values
    may be separated by any run of blanks. Anything else that is malformed is
    an error naming the file and the line (or the image): nothing is ever
    loaded partially.

    Parameters
    ----------
    path : str or path-like, default=None
        A CSV file (plain or gzip), or a folder in one of the layouts above.
        ``None`` means the value of the environment variable
        ``SKFER_FER2013``.
    usage : str or list of str, default=None
        Keep only the rows of these Usage names (for instance ``"Training"``
        or ``["PublicTest", "PrivateTest"]``). ``None`` keeps every row.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    cache : bool, default=True
        Keep the parsed arrays in ``data_home`` (keyed by the SHA-256 of the
        source content) and reuse them on the next load.
    data_home : str or path-like, default=None
        Folder for the cache; see :func:`get_data_home`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_samples, 2304), dtype uint8
            The faces, one row-major 48x48 image per row.
        target : ndarray of shape (n_samples,), dtype int64, or None
            Labels in 0..6. ``None`` when no selected row is labelled (the
            homework ``test.csv``); in a selection mixing labelled and
            unlabelled rows, unlabelled rows are -1 (scikit-learn's
            semi-supervised convention).
        usage : ndarray of shape (n_samples,), dtype str
            The Usage (split) name of each row.
        target_names : list of str
            The seven class names, indexed by label.
        images : ndarray of shape (n_samples, 48, 48), dtype uint8
            A view of ``data``.
        ids : ndarray of shape (n_samples,), dtype int64
            Only when some selected row comes from a file with an ``id``
            column (the homework ``test.csv``); -1 for rows without one.
        filenames : ndarray of shape (n_samples,), dtype str
            Only for image folders: the path of each image.
        DESCR : str
            A description of the data set.
        filename : str
            The path that was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        ``target`` may be ``None`` as described above.

    Raises
    ------
    FileNotFoundError
        If ``path`` is None and ``SKFER_FER2013`` is not set, or if the path
        does not exist.
    ValueError
        If the content is malformed (the message names the file and line, or
        the image), if a folder holds no recognised layout, or if ``usage``
        names a split that is not in the data.

    See Also
    --------
    fetch_fer2013 : Load FER2013 from ``data_home``, downloading it if needed.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfer.datasets import load_fer2013
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "train.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("label,feature\\n3," + " ".join(["128"] * 2304) + "\\n")
    ...     faces = load_fer2013(path, cache=False)
    >>> faces.data.shape, faces.target.tolist(), faces.usage.tolist()
    ((1, 2304), [3], ['Training'])

    The full Kaggle file, one split:

    >>> faces = load_fer2013("fer2013.csv.gz", usage="Training")  # doctest: +SKIP
    >>> faces.data.shape, faces.images.shape  # doctest: +SKIP
    ((28709, 2304), (28709, 48, 48))
    >>> X, y = load_fer2013(return_X_y=True)  # doctest: +SKIP
    """
    source = _resolve_path(path)
    kind, files = _detect_layout(source) if source.is_dir() else ("csv", [source])
    if kind == "csv":
        source = files[0]

    table = None
    entry = None
    if cache:
        names = [str(p.relative_to(source)) if kind != "csv" else "" for p in files]
        key = _content_key(kind, zip(names, files, strict=True))
        entry = _cache_file(data_home, kind, key)
        table = _Table.from_arrays(_load_cache(entry))
    if table is None:
        table = _read_source(kind, source, files)
        if entry is not None:
            _save_cache(entry, table.to_arrays())

    bunch = table.select(usage).to_bunch(source, DESCR)
    if return_X_y:
        return bunch.data, bunch.target
    return bunch


def fetch_fer2013(
    data_home: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    download_if_missing: bool = True,
    usage: str | Sequence[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray | None]:
    """Load FER2013 from ``data_home``, downloading it first if it is missing.

    Looks for ``fer2013.csv.gz``, then ``fer2013.csv``, in ``data_home``. If
    neither is there, downloads ``url`` (plain or gzip CSV, detected from the
    bytes) into ``data_home`` through a temporary file that is renamed into
    place only once complete and, when ``sha256`` is given, verified. The file
    is then loaded with :func:`load_fer2013` (with the cache in the same
    ``data_home``).

    FER2013 is distributed by Kaggle under its competition terms, so there is
    no default URL: point ``url`` (or the environment variable
    ``SKFER_FER2013_URL``) at a copy you are entitled to use, or put the file
    in ``data_home`` yourself.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to look in and download to; see :func:`get_data_home`.
    url : str, default=None
        Where to download from when the file is missing. ``None`` means the
        environment variable ``SKFER_FER2013_URL``.
    sha256 : str, default=None
        Expected SHA-256 (hexadecimal) of the downloaded file. Checked after
        a download only; a mismatch leaves nothing in ``data_home``.
    download_if_missing : bool, default=True
        If False, raise instead of downloading a missing file.
    usage : str or list of str, default=None
        Keep only these Usage names; see :func:`load_fer2013`.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        As returned by :func:`load_fer2013`.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    ValueError
        If the file is missing and no URL is known, if the download does not
        match ``sha256``, or if the file is malformed.
    OSError
        If the download fails.

    See Also
    --------
    load_fer2013 : Load FER2013 from a path.

    Examples
    --------
    >>> from skfer.datasets import fetch_fer2013
    >>> faces = fetch_fer2013(usage="PublicTest")  # doctest: +SKIP
    >>> faces.data.shape  # doctest: +SKIP
    (3435, 2304)
    """
    home = Path(get_data_home(data_home))
    for name in _KAGGLE_NAMES:
        if (home / name).is_file():
            local = home / name
            break
    else:
        if not download_if_missing:
            raise FileNotFoundError(
                f"FER2013 was not found in {home} (looked for "
                f"{' or '.join(_KAGGLE_NAMES)}) and download_if_missing is "
                f"False. {_HOW_TO_GET}"
            )
        url = url or os.environ.get(_ENV_URL)
        if not url:
            raise ValueError(
                f"FER2013 was not found in {home} and no download URL is set "
                f"(pass url=... or set {_ENV_URL}). {_HOW_TO_GET}"
            )
        local = _download(url, home, sha256)
    return load_fer2013(
        local, usage=usage, return_X_y=return_X_y, cache=True, data_home=home
    )


# --------------------------------------------------------------------------
# Paths and layouts
# --------------------------------------------------------------------------


def _resolve_path(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        env = os.environ.get(_ENV_PATH)
        if not env:
            raise FileNotFoundError(
                f"No FER2013 path given and the environment variable "
                f"{_ENV_PATH} is not set. {_HOW_TO_GET}"
            )
        path = env
    source = Path(os.path.expanduser(os.fspath(path)))
    if not source.exists():
        raise FileNotFoundError(f"FER2013 path {str(source)!r} does not exist.")
    return source


def _detect_layout(folder: Path) -> tuple[str, list[Path]]:
    """Return the layout kind of a folder and the files its content comes from."""
    for name in _KAGGLE_NAMES:
        if (folder / name).is_file():
            return "csv", [folder / name]
    homework = [folder / n for n in _HOMEWORK_NAMES if (folder / n).is_file()]
    if homework:
        return "homework", homework
    images = _list_images(folder)
    if images is not None:
        return "images", [p for p, _, _ in images]
    raise ValueError(
        f"{folder} holds no recognised FER2013 layout: expected fer2013.csv.gz "
        f"or fer2013.csv (Kaggle), train.csv and/or test.csv (homework), or "
        f"image folders <split>/<class name>/*.jpg|*.jpeg|*.png with class "
        f"names {[e.lower() for e in EMOTIONS]}."
    )


def _read_source(kind: str, source: Path, files: list[Path]) -> _Table:
    if kind == "images":
        return _read_images(source)
    return _concat_tables([_read_csv(p) for p in files])


# --------------------------------------------------------------------------
# Image folders
# --------------------------------------------------------------------------


def _is_class_dir(path: Path) -> bool:
    try:
        label_for_name(path.name)
    except ValueError:
        return False
    return path.is_dir()


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def _list_images(root: Path) -> list[tuple[Path, int, str]] | None:
    """List ``(path, label, usage)`` of every image, sorted.

    Returns ``None`` when ``root`` is not an image-folder layout. Splits are
    sorted by folder name, classes by label, files by name.
    """
    children = _subdirs(root)
    if any(_is_class_dir(c) for c in children):
        splits = [(root, _split_usage(root.name))]
    else:
        splits = [
            (c, _split_usage(c.name))
            for c in children
            if any(_is_class_dir(g) for g in _subdirs(c))
        ]
        if not splits:
            return None
    images = []
    for split, usage_name in splits:
        classes = []
        for c in _subdirs(split):
            try:
                classes.append((label_for_name(c.name), c))
            except ValueError as exc:
                raise ValueError(
                    f"{c}: folder name is not a FER2013 class name. {exc}"
                ) from None
        for f in split.iterdir():
            if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES:
                raise ValueError(
                    f"{f}: image is not inside a class folder "
                    f"({split}/<class name>/), so it has no label."
                )
        for label, c in sorted(classes, key=lambda lc: (lc[0], lc[1].name)):
            for f in sorted(c.iterdir()):
                if f.name.startswith(".") or f.name.lower() in _IGNORED_FILES:
                    continue
                if not f.is_file() or f.suffix.lower() not in _IMAGE_SUFFIXES:
                    raise ValueError(
                        f"{f}: not a supported image file (expected "
                        f"{', '.join(_IMAGE_SUFFIXES)})."
                    )
                images.append((f, label, usage_name))
    return images


def _split_usage(name: str) -> str:
    return _SPLIT_USAGE.get(name.lower(), name)


def _read_images(root: Path) -> _Table:
    from PIL import Image, UnidentifiedImageError

    images = _list_images(root)
    if not images:
        raise ValueError(f"{root}: no images found in the class folders.")
    n = len(images)
    data = np.empty((n, N_PIXELS), dtype=np.uint8)
    names: list[str] = []
    codes = np.empty(n, dtype=np.int32)
    for i, (path, _, usage_name) in enumerate(images):
        try:
            with Image.open(path) as im:
                im.load()
                size = im.size
                grey = im.convert("L")
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read image ({exc}).") from exc
        if size != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(
                f"{path}: image is {size[0]}x{size[1]} pixels, expected "
                f"{IMAGE_SIDE}x{IMAGE_SIDE} (skfer does not resize images)."
            )
        data[i] = np.asarray(grey, dtype=np.uint8).reshape(-1)
        codes[i] = _index_or_append(names, usage_name)
    return _Table(
        data,
        np.array([label for _, label, _ in images], dtype=np.int64),
        np.full(n, -1, dtype=np.int64),
        codes,
        tuple(names),
        # relative, so that a cache entry stays right if the folder moves
        np.array([str(p.relative_to(root)) for p, _, _ in images], dtype=str),
    )


# --------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------


def _download(url: str, home: Path, sha256: str | None) -> Path:
    """Download ``url`` into ``home`` atomically; return the final path."""
    import hashlib

    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".fer2013-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    head = b""
                    while block := response.read(_READ_BYTES):
                        if not head:
                            head = block[:2]
                        digest.update(block)
                        out.write(block)
            except OSError as exc:
                raise OSError(f"Could not download FER2013 from {url}: {exc}") from exc
        got = digest.hexdigest()
        if sha256 is not None and got.lower() != sha256.strip().lower():
            raise ValueError(
                f"The file downloaded from {url} has SHA-256 {got}, expected "
                f"{sha256}; it was not kept."
            )
        final = home / (_KAGGLE_NAMES[0] if head == _GZIP_MAGIC else _KAGGLE_NAMES[1])
        _publish(tmp, final)
        tmp = None
        return final
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
