"""Load FER2013 from its common layouts, and fetch it into ``data_home``.

Three layouts are recognised, by content rather than by file name:

* the Kaggle CSV, ``fer2013.csv`` or ``fer2013.csv.gz`` (``emotion,pixels,Usage``);
* the course-homework CSVs, ``train.csv`` (``label,feature``) and ``test.csv``
  (``id,feature``);
* image folders, ``<root>/<split>/<class name>/*.jpg|*.jpeg|*.png``.

CSV parsing is vectorised numpy on chunks of whole lines: the gzip stream is
decompressed in a background thread while the main thread parses, and every
chunk is validated as it goes. A chunk that the fast path cannot vouch for is
parsed again line by line, which either accepts it (irregular but valid
spacing, say) or raises an error naming the file and the line.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import urllib.request
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS, label_for_name

__all__ = ["fetch_fer2013", "load_fer2013"]

_ENV_PATH = "SKFER_FER2013"
_ENV_URL = "SKFER_FER2013_URL"
_KAGGLE_NAMES = ("fer2013.csv.gz", "fer2013.csv")
_HOMEWORK_NAMES = ("train.csv", "test.csv")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_IGNORED_FILES = ("thumbs.db", "desktop.ini")

#: Target size in bytes of one chunk of whole lines handed to the parser.
_CHUNK_BYTES = 1 << 19
#: Size of the compressed blocks read from a file.
_READ_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

#: Split-folder name (lower case) -> Usage name, for image folders.
_SPLIT_USAGE = {
    "train": "Training",
    "training": "Training",
    "test": "PublicTest",
    "publictest": "PublicTest",
    "privatetest": "PrivateTest",
}

#: Header name (lower case) -> role of the column.
_COLUMN_ROLES = {
    "emotion": "label",
    "label": "label",
    "pixels": "pixels",
    "feature": "pixels",
    "usage": "usage",
    "id": "id",
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

    bunch = table.select(usage).to_bunch(source)
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
# The parsed table and its selection
# --------------------------------------------------------------------------


@dataclass
class _Table:
    """Rows of one source, before the ``usage`` selection.

    ``target`` and ``ids`` use -1 for "none"; ``filenames`` is empty except
    for image folders.
    """

    data: np.ndarray
    target: np.ndarray
    ids: np.ndarray
    usage_codes: np.ndarray
    usage_names: tuple[str, ...]
    #: image paths relative to the loaded folder (image folders only)
    filenames: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=str))

    _KEYS = ("data", "target", "ids", "usage_codes", "usage_names", "filenames")

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {k: getattr(self, k) for k in self._KEYS}
        arrays["usage_names"] = np.asarray(self.usage_names, dtype=str)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray] | None) -> _Table | None:
        """Rebuild a table from a cache entry; ``None`` if it is inconsistent."""
        if arrays is None or set(arrays) != set(cls._KEYS):
            return None
        data, target, ids = arrays["data"], arrays["target"], arrays["ids"]
        codes, names = arrays["usage_codes"], arrays["usage_names"]
        files = arrays["filenames"]
        n = len(data)
        if (
            data.dtype != np.uint8
            or data.ndim != 2
            or data.shape[1] != N_PIXELS
            or target.dtype != np.int64
            or ids.dtype != np.int64
            or target.shape != (n,)
            or ids.shape != (n,)
            or codes.shape != (n,)
            or codes.dtype.kind not in "iu"
            or names.ndim != 1
            or names.dtype.kind != "U"
            or files.shape not in ((0,), (n,))
            or (n and (codes.min() < 0 or codes.max() >= len(names)))
            or (n and (target.min() < -1 or target.max() >= len(EMOTIONS)))
        ):
            return None
        return cls(data, target, ids, codes, tuple(names.tolist()), files)

    def select(self, usage: str | Sequence[str] | None) -> _Table:
        if usage is None:
            return self
        wanted = [usage] if isinstance(usage, str) else list(usage)
        present = [self.usage_names[c] for c in np.unique(self.usage_codes)]
        unknown = [u for u in wanted if u not in present]
        if unknown or not wanted:
            raise ValueError(
                f"Unknown usage {unknown!r}; the usage names present in this "
                f"data are {present}."
                if wanted
                else f"usage is empty; pick some of {present}, or None for all."
            )
        codes = [self.usage_names.index(u) for u in wanted]
        mask = np.isin(self.usage_codes, codes)
        return _Table(
            self.data[mask],
            self.target[mask],
            self.ids[mask],
            self.usage_codes[mask],
            self.usage_names,
            self.filenames[mask] if len(self.filenames) else self.filenames,
        )

    def to_bunch(self, source: Path) -> Bunch:
        data = self.data
        labelled = self.target >= 0
        target = self.target if labelled.any() else None
        names = np.asarray(self.usage_names, dtype=str)
        bunch = Bunch(
            data=data,
            target=target,
            usage=names[self.usage_codes],
            target_names=list(EMOTIONS),
            images=data.reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
            DESCR=DESCR,
            filename=str(source),
        )
        if (self.ids >= 0).any():
            bunch.ids = self.ids
        if len(self.filenames):
            bunch.filenames = np.array([str(source / f) for f in self.filenames])
        return bunch


def _concat_tables(tables: Sequence[_Table]) -> _Table:
    if len(tables) == 1:
        return tables[0]
    names: list[str] = []
    codes = []
    for t in tables:
        remap = np.array(
            [_index_or_append(names, u) for u in t.usage_names], dtype=np.int32
        )
        codes.append(remap[t.usage_codes] if len(remap) else t.usage_codes)
    files = [t.filenames for t in tables]
    return _Table(
        np.concatenate([t.data for t in tables]),
        np.concatenate([t.target for t in tables]),
        np.concatenate([t.ids for t in tables]),
        np.concatenate(codes).astype(np.int32),
        tuple(names),
        np.concatenate(files) if all(len(f) for f in files) else files[0][:0],
    )


def _index_or_append(items: list[str], item: str) -> int:
    if item not in items:
        items.append(item)
    return items.index(item)


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
# CSV: reading bytes
# --------------------------------------------------------------------------


def _iter_blocks(path: Path) -> Iterator[bytes]:
    """Yield the content of a file, decompressed if it is gzip, in blocks."""
    with open(path, "rb") as f:
        head = f.read(_READ_BYTES)
        if head.startswith(_GZIP_MAGIC):
            yield from _iter_gunzip(f, head, path)
            return
        while head:
            yield head
            head = f.read(_READ_BYTES)


def _iter_gunzip(f: Any, head: bytes, path: Path) -> Iterator[bytes]:
    """Decompress a (possibly multi-member) gzip stream whose start is ``head``."""
    decomp = zlib.decompressobj(wbits=31)
    fed = False  # has the current member's decompressor seen any byte?
    raw = head
    try:
        while True:
            if not raw:
                raw = f.read(_READ_BYTES)
                if not raw:
                    break
            fed = True
            out = decomp.decompress(raw)
            raw = b""
            if out:
                yield out
            if decomp.eof:  # end of one member; another may follow
                raw = decomp.unused_data.lstrip(b"\x00")  # gzip allows 0-padding
                decomp = zlib.decompressobj(wbits=31)
                fed = False
        out = decomp.flush()
    except zlib.error as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc}).") from exc
    if out:
        yield out
    if fed and not decomp.eof:
        raise ValueError(
            f"{path}: truncated gzip file (compressed file ended before the "
            f"end-of-stream marker was reached)."
        )


def _iter_line_chunks(blocks: Iterable[bytes], target: int) -> Iterator[bytes]:
    """Regroup blocks into chunks of about ``target`` bytes of whole lines.

    Every chunk ends with ``b"\\n"`` (one is added after a last line that
    lacks it). Blocks are sliced, not concatenated, to copy as little as
    possible.
    """
    rest = b""
    for block in blocks:
        start = 0
        size = len(block)
        while size - start >= target - len(rest):
            stop = start + max(target - len(rest), 1)
            cut = block.rfind(b"\n", start, stop) + 1
            if cut <= start:  # no line end before stop: take the next one
                cut = block.find(b"\n", stop) + 1
                if cut <= 0:
                    break
            piece = block[start:cut]
            yield rest + piece if rest else piece
            rest = b""
            start = cut
        rest = rest + block[start:] if rest else block[start:]
    if rest:
        yield rest if rest.endswith(b"\n") else rest + b"\n"


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def _prefetch(items: Iterator[bytes], depth: int = 4) -> Iterator[bytes]:
    """Run ``items`` in a background thread, ``depth`` items ahead.

    zlib releases the GIL while decompressing, so decompression of the next
    blocks overlaps with the numpy parsing of the current one. Exceptions in
    the thread are re-raised here; closing this generator stops the thread.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # forwarded to the consumer
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="skfer-fer2013-reader")
    thread.daemon = True
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


# --------------------------------------------------------------------------
# CSV: parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    n_cols: int
    pixels: int
    label: int = -1
    usage: int = -1
    id: int = -1


def _parse_header(line: bytes, path: Path) -> _Header:
    expected = (
        "expected 'emotion,pixels,Usage' (Kaggle), 'label,feature' or "
        "'id,feature' (homework): a 'pixels' or 'feature' column, and any of "
        "'emotion' or 'label', 'Usage', 'id'"
    )
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(
            f"{path}: line 1: not a FER2013 CSV header (not text); {expected}."
        ) from None
    names = [n.strip().lower() for n in text.split(",")]
    roles = [_COLUMN_ROLES.get(n) for n in names]
    if None in roles or len(set(roles)) != len(roles) or "pixels" not in roles:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ValueError(f"{path}: line 1: wrong header {shown!r}; {expected}.")
    cols = {role: i for i, role in enumerate(roles)}
    return _Header(
        n_cols=len(roles),
        pixels=cols["pixels"],
        label=cols.get("label", -1),
        usage=cols.get("usage", -1),
        id=cols.get("id", -1),
    )


_LABEL_BYTES = {str(i).encode(): i for i in range(len(EMOTIONS))}


class _Rows:
    """Accumulates the parsed chunks of one CSV file."""

    def __init__(self, header: _Header) -> None:
        self.header = header
        self.data: list[np.ndarray] = []
        self.labels: list[int] = []
        self.ids: list[int] = []
        self.usage: list[int] = []
        self.usage_names: list[str] = []
        self._usage_codes: dict[bytes, int] = {}

    def usage_code(self, raw: bytes) -> int | None:
        """Code of a Usage field; ``None`` if it is not a valid name."""
        code = self._usage_codes.get(raw)
        if code is None:
            name = raw.strip()
            if not name or b"," in name:
                return None
            try:
                text = name.decode("utf-8")
            except UnicodeDecodeError:
                return None
            code = _index_or_append(self.usage_names, text)
            self._usage_codes[raw] = code
        return code


def _parse_chunk_fast(chunk: bytes, rows: _Rows) -> bool:
    """Parse a chunk of well-formed lines; return False to ask for the slow path.

    Nothing is appended to ``rows`` unless the whole chunk is accepted.
    """
    fields = _scan_fields(chunk, rows)
    if fields is None:
        return False
    lo, hi, labels, ids, usage = fields
    pixels = _parse_pixels(chunk, np.array(lo), np.array(hi))
    if pixels is None:
        return False
    rows.data.append(pixels)
    rows.labels.extend(labels)
    rows.ids.extend(ids)
    rows.usage.extend(usage)
    return True


def _scan_fields(chunk: bytes, rows: _Rows) -> tuple[list[int], ...] | None:
    """Locate the pixel field and parse the small fields of every line.

    Returns ``(lo, hi, labels, ids, usage)`` where ``chunk[lo[i]:hi[i]]`` is
    the pixel field of line ``i``, or ``None`` if some line does not look
    well formed (the pixel check in :func:`_parse_pixels` catches the rest,
    for instance a line with too few commas, whose "pixel field" then holds
    a newline).
    """
    h = rows.header
    find = chunk.find
    size = len(chunk)
    lo: list[int] = []
    hi: list[int] = []
    labels: list[int] = []
    ids: list[int] = []
    usage: list[int] = []
    label_of = _LABEL_BYTES.get
    pos = 0
    if (h.n_cols, h.label, h.pixels, h.usage) == (3, 0, 1, 2):  # Kaggle
        usage_of = rows.usage_code
        while pos < size:
            c1 = find(b",", pos)
            c2 = find(b",", c1 + 1)
            nl = find(b"\n", c2 + 1)
            if c1 < 0 or c2 < 0 or nl < 0:  # (so pos always moves forward)
                return None
            label = label_of(chunk[pos:c1])
            code = usage_of(chunk[c2 + 1 : nl])
            if label is None or code is None:
                return None
            labels.append(label)
            usage.append(code)
            lo.append(c1 + 1)
            hi.append(c2)
            pos = nl + 1
        return lo, hi, labels, ids, usage
    if h.n_cols == 2 and h.pixels == 1:  # homework: label,feature or id,feature
        small = labels if h.label == 0 else ids
        while pos < size:
            c1 = find(b",", pos)
            nl = find(b"\n", c1 + 1)
            if c1 < 0 or nl < 0:  # (so pos always moves forward)
                return None
            raw = chunk[pos:c1]
            if h.label == 0:
                value = label_of(raw)
            else:
                value = int(raw) if raw.isdigit() else None
            if value is None:
                return None
            small.append(value)
            lo.append(c1 + 1)
            hi.append(nl - 1 if chunk[nl - 1] == 13 else nl)
            pos = nl + 1
        return lo, hi, labels, ids, usage
    n_commas = h.n_cols - 1
    while pos < size:  # any other column order
        nl = find(b"\n", pos)
        end = nl - 1 if nl > pos and chunk[nl - 1] == 13 else nl
        bounds = [pos - 1]
        for _ in range(n_commas):
            c = find(b",", bounds[-1] + 1, end)
            if c < 0:
                return None
            bounds.append(c)
        bounds.append(end)
        lo.append(bounds[h.pixels] + 1)
        hi.append(bounds[h.pixels + 1])
        if h.label >= 0:
            label = label_of(chunk[bounds[h.label] + 1 : bounds[h.label + 1]])
            if label is None:
                return None
            labels.append(label)
        if h.id >= 0:
            raw = chunk[bounds[h.id] + 1 : bounds[h.id + 1]]
            if not raw.isdigit():
                return None
            ids.append(int(raw))
        if h.usage >= 0:
            code = rows.usage_code(chunk[bounds[h.usage] + 1 : bounds[h.usage + 1]])
            if code is None:
                return None
            usage.append(code)
        pos = nl + 1
    return lo, hi, labels, ids, usage


def _parse_pixels(chunk: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Vectorised parse of the pixel fields ``chunk[lo[i]:hi[i]]``.

    Returns an array of shape (n, 2304), or ``None`` unless every field holds
    exactly 2304 numbers of at most three digits, with values <= 255,
    separated by spaces only.
    """
    n = len(lo)
    size = len(chunk)
    b = np.frombuffer(chunk, dtype=np.uint8)
    d = b - np.uint8(48)  # digits -> 0..9, anything else >= 10
    # isd[i] == "byte i is a digit"; one leading False so isd1[i] == isd[i-1]
    isd_buf = np.empty(size + 1, dtype=bool)
    isd_buf[0] = False
    isd = isd_buf[1:]
    isd1 = isd_buf[:-1]
    np.less(d, 10, out=isd)

    # Indices of every byte outside the pixel fields (a few per line).
    out_lo = np.concatenate(([0], hi))
    out_len = np.concatenate((lo, [size])) - out_lo
    if (out_len < 0).any():
        return None
    offsets = np.cumsum(out_len)
    outside = np.arange(offsets[-1]) + np.repeat(out_lo - offsets + out_len, out_len)

    # Pixel fields may hold digits and spaces only: count both, subtract the
    # ones outside the fields, compare with the total field length.
    space = np.uint8((ord(" ") - 48) % 256)  # a space, after the "- 48" above
    d_out = d[outside]
    inside_ok = (
        np.count_nonzero(isd)
        + np.count_nonzero(d == space)
        - np.count_nonzero(d_out < 10)
        - np.count_nonzero(d_out == space)
    )
    if inside_ok != int((hi - lo).sum()):
        return None
    isd[outside] = False  # labels, ids, usage: not pixels

    # A number ends where a digit is followed by a non-digit.
    ends = np.flatnonzero(isd[:-1] > isd[1:])
    if len(ends) != n * N_PIXELS:
        return None
    per_line = ends.reshape(n, N_PIXELS)
    if not ((per_line[:, 0] >= lo).all() and (per_line[:, -1] < hi).all()):
        return None  # some field has fewer numbers, another more
    pair = isd & isd1
    if pair[2:].__and__(pair[:-2]).any():
        return None  # a number of four or more digits

    # z: digit values with two leading zeros, so z1[i] == z[i-1], z2[i] == z[i-2]
    z_buf = np.zeros(size + 2, dtype=np.uint8)
    z = z_buf[2:]
    np.multiply(d, isd, out=z)
    tens_units = z_buf[1:-1] * np.uint8(10)
    tens_units += z
    hundreds = z_buf[:-2] * isd1  # only if the tens byte is a digit too
    value = hundreds.take(ends).astype(np.uint16)
    value *= 100
    value += tens_units.take(ends)
    if value.max(initial=0) > 255:
        return None
    return value.astype(np.uint8).reshape(n, N_PIXELS)


def _parse_chunk_slow(chunk: bytes, rows: _Rows, path: Path, first_line: int) -> None:
    """Parse a chunk line by line, raising on the first bad line."""
    h = rows.header
    for offset, line in enumerate(chunk.split(b"\n")[:-1]):
        lineno = first_line + offset
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        where = f"{path}: line {lineno}"
        fields = line.split(b",")
        if len(fields) != h.n_cols:
            raise ValueError(
                f"{where}: expected {h.n_cols} comma-separated fields, found "
                f"{len(fields)}."
            )
        pixels = _parse_pixel_field(fields[h.pixels], where)
        if h.label >= 0:
            raw = fields[h.label].strip()
            if not raw.isdigit() or int(raw) >= len(EMOTIONS):
                raise ValueError(
                    f"{where}: label must be an integer in 0..{len(EMOTIONS) - 1}, "
                    f"got {raw.decode('utf-8', 'replace')!r}."
                )
            rows.labels.append(int(raw))
        if h.id >= 0:
            raw = fields[h.id].strip()
            if not raw.isdigit():
                raise ValueError(
                    f"{where}: id must be a non-negative integer, got "
                    f"{raw.decode('utf-8', 'replace')!r}."
                )
            rows.ids.append(int(raw))
        if h.usage >= 0:
            code = rows.usage_code(fields[h.usage])
            if code is None:
                raise ValueError(
                    f"{where}: invalid Usage name "
                    f"{fields[h.usage].decode('utf-8', 'replace')!r}."
                )
            rows.usage.append(code)
        rows.data.append(pixels[np.newaxis])


def _parse_pixel_field(raw: bytes, where: str) -> np.ndarray:
    tokens = raw.split()
    if len(tokens) != N_PIXELS:
        raise ValueError(
            f"{where}: expected {N_PIXELS} pixel values (48x48), found {len(tokens)}."
        )
    if not b"".join(tokens).isdigit():
        bad = next(t for t in tokens if not t.isdigit())
        raise ValueError(
            f"{where}: non-numeric pixel value {bad.decode('utf-8', 'replace')!r}."
        )
    values = np.array([int(t) for t in tokens], dtype=np.int64)
    if values.max() > 255:
        raise ValueError(
            f"{where}: pixel value {int(values.max())} > 255 "
            f"(pixel {int(values.argmax())})."
        )
    return values.astype(np.uint8)


def _read_csv(path: Path) -> _Table:
    """Parse a Kaggle or homework CSV (plain or gzip) into a table."""
    blocks = _iter_line_chunks(_iter_blocks(path), _CHUNK_BYTES)
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
    chunks = _prefetch(blocks) if gzipped else blocks
    try:
        rows = None
        line = 1  # number of the first line of the current chunk
        for chunk in chunks:
            if rows is None:  # the first chunk starts with the header
                cut = chunk.index(b"\n") + 1
                rows = _Rows(_parse_header(chunk[:cut], path))
                chunk = chunk[cut:]
                line += 1
                if not chunk:
                    continue
            if not _parse_chunk_fast(chunk, rows):
                _parse_chunk_slow(chunk, rows, path, line)
            line += chunk.count(b"\n")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    if rows is None:
        raise ValueError(f"{path} is empty (expected a FER2013 CSV header).")
    if not rows.data:
        raise ValueError(f"{path}: no data rows after the header.")
    h = rows.header
    n = sum(len(a) for a in rows.data)
    data = np.concatenate(rows.data) if len(rows.data) > 1 else rows.data[0]
    none = np.full(n, -1, dtype=np.int64)
    if h.usage >= 0:
        codes = np.array(rows.usage, dtype=np.int32)
        names = tuple(rows.usage_names)
    else:
        codes = np.zeros(n, dtype=np.int32)
        names = ("Training",) if h.label >= 0 else ("Test",)
    return _Table(
        data,
        np.array(rows.labels, dtype=np.int64) if h.label >= 0 else none,
        np.array(rows.ids, dtype=np.int64) if h.id >= 0 else none,
        codes,
        names,
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
