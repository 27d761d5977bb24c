"""Parse the Kaggle and course-homework FER2013 CSVs, plain or gzip.

Parsing is vectorised numpy on chunks of whole lines: the gzip stream is
decompressed in a background thread while the main thread parses, and every
chunk is validated as it goes. A chunk that the fast path cannot vouch for is
parsed again line by line, which either accepts it (irregular but valid
spacing, say) or raises an error naming the file and the line.
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._labels import EMOTIONS, N_PIXELS
from ._table import _index_or_append, _Table

#: Target size in bytes of one chunk of whole lines handed to the parser.
_CHUNK_BYTES = 1 << 19
#: Size of the compressed blocks read from a file.
_READ_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

#: Header name (lower case) -> role of the column.
_COLUMN_ROLES = {
    "emotion": "label",
    "label": "label",
    "pixels": "pixels",
    "feature": "pixels",
    "usage": "usage",
    "id": "id",
}


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
