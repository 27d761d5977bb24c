"""The rows of one FER2013 source, whatever its layout, before selection.

A reader (:mod:`._csv` for the CSV layouts, :func:`._fer2013._read_images`
for image folders) returns a :class:`_Table`; ``load_fer2013`` concatenates
the tables of a folder's files, caches them, selects the ``usage`` asked for
and returns the result as a :class:`~sklearn.utils.Bunch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS


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

    def to_bunch(self, source: Path, descr: str) -> Bunch:
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
            DESCR=descr,
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
