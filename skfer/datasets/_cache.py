"""Where skfer keeps data, and the content-keyed cache of parsed arrays.

The cache follows scikit-learn's ``data_home`` convention: one folder per user
(``SKFER_DATA`` or ``~/skfer_data``) holding downloads and, under
``fer2013_cache/``, the parsed arrays of every source file that was loaded with
``cache=True``. A cache entry is named after the SHA-256 of the *content* of its
source file(s), so an edited file can never hit a stale entry, and it is written
atomically (temporary file in the same folder, then :func:`os.replace`), so a
crash never leaves a half-written entry under the final name. An entry that
cannot be read back is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

#: Bump when the parsed representation changes, so old entries are not reused.
CACHE_VERSION = 1

_CACHE_SUBDIR = "fer2013_cache"
_HASH_BLOCK = 1 << 20


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> str:
    """Return the path of the skfer data folder, creating it if needed.

    The folder holds downloaded files (see :func:`fetch_fer2013`) and the cache
    of parsed arrays (see :func:`load_fer2013`). By default it is the value of
    the environment variable ``SKFER_DATA``, or ``~/skfer_data`` when that is
    not set. ``~`` is expanded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. ``None`` means ``SKFER_DATA`` or ``~/skfer_data``.

    Returns
    -------
    data_home : str
        The absolute path of the (now existing) data folder.

    Raises
    ------
    OSError
        If the folder does not exist and cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> from skfer.datasets import get_data_home
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     get_data_home(tmp) == os.path.abspath(tmp)
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKFER_DATA") or os.path.join("~", "skfer_data")
    path = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(path, exist_ok=True)
    return path


def _sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hexadecimal SHA-256 of a file's content."""
    digest = hashlib.sha256()
    buffer = bytearray(_HASH_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def _content_key(kind: str, files: Iterable[tuple[str, str | os.PathLike[str]]]) -> str:
    """Return a cache key for ``kind`` built from the content of named files.

    ``files`` holds ``(name, path)`` pairs; the name (for instance a path
    relative to a folder) is part of the key, so renaming a class folder of
    images changes the key as well.
    """
    outer = hashlib.sha256(f"skfer-{kind}-v{CACHE_VERSION}\0".encode())
    for name, path in files:
        outer.update(name.encode("utf-8", "surrogateescape") + b"\0")
        outer.update(bytes.fromhex(_sha256_file(path)))
    return outer.hexdigest()


def _cache_file(data_home: str | os.PathLike[str] | None, kind: str, key: str) -> Path:
    """Return the path of the cache entry for ``key`` (the folder is created)."""
    folder = Path(get_data_home(data_home)) / _CACHE_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{key[:40]}.npz"


def _load_cache(path: Path) -> dict[str, np.ndarray] | None:
    """Read a cache entry; return ``None`` if it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None


def _save_cache(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write a cache entry atomically; return whether it was written.

    A cache that cannot be written (read-only folder, full disk) is not an
    error: the data was loaded, only the next load will be slower.
    """
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp"
        )
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        _publish(tmp_name, path)
        tmp_name = None
        return True
    except OSError:
        return False
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _publish(tmp_name: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Give a finished temporary file the usual permissions and rename it.

    :func:`tempfile.mkstemp` creates files readable by their owner only; the
    final file gets ``0o666`` less the umask, like any new file. The rename is
    atomic when both are in the same folder.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_name, 0o666 & ~umask)
    os.replace(tmp_name, final)
