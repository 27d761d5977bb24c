"""Image plumbing behind :mod:`skfer.faces`: inputs, reading, detecting, cropping.

Plain functions on numpy arrays, no scikit-learn: images are read as 8-bit
grey, faces are found with OpenCV's Haar cascade, and boxes are squared,
widened, padded where they leave the image, and resized to 48x48.

OpenCV (``opencv-python-headless``) is imported on first use only, so that
``import skfer`` and everything that does not crop faces work without it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .datasets._labels import IMAGE_SIDE, N_PIXELS

#: File name suffixes taken for images when a folder is listed.
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".ppm",
)

#: Cascade used for ``detector="haar"`` (shipped inside opencv-python).
DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"

#: pad_mode name -> numpy.pad mode.
PAD_MODES = {"edge": "edge", "reflect": "reflect", "constant": "constant"}

_EXIF_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)


def import_cv2() -> Any:
    """Import OpenCV, or say how to install it."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "Face cropping needs OpenCV: pip install 'skfer[photos]' "
            "(or pip install 'opencv-python-headless<5')."
        ) from exc
    return cv2


@functools.lru_cache(maxsize=8)
def load_cascade(name: str) -> Any:
    """Load a Haar cascade by file name (bundled with OpenCV) or path.

    Cascades are cached: ``cv2.CascadeClassifier`` objects cannot be pickled,
    so estimators keep the name and get the loaded cascade from here.
    """
    cv2 = import_cv2()
    if not hasattr(cv2, "CascadeClassifier"):
        raise ImportError(
            f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 dropped "
            "them); install 'opencv-python-headless<5', or pass a callable "
            "detector or boxes."
        )
    path = Path(name)
    if not path.is_file():
        bundled = Path(cv2.data.haarcascades) / name
        if not bundled.is_file():
            available = sorted(
                p.name for p in Path(cv2.data.haarcascades).glob("haarcascade_*.xml")
            )
            raise ValueError(
                f"Haar cascade {name!r} is neither a file nor one of the cascades "
                f"bundled with OpenCV: {available}."
            )
        path = bundled
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise ValueError(f"{str(path)!r} is not a Haar cascade OpenCV can load.")
    return cascade


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """List the image files under a folder, recursively and sorted.

    Files are taken by suffix (``.jpg``, ``.jpeg``, ``.png``, ``.bmp``,
    ``.gif``, ``.tif``, ``.tiff``, ``.webp``, ``.pgm``, ``.ppm``, in any
    case); hidden files and folders are left out.

    Parameters
    ----------
    folder : str or path-like
        The folder to search.

    Returns
    -------
    paths : list of pathlib.Path
        The image files, sorted by path.

    Examples
    --------
    >>> from skfer.faces import list_images
    >>> list_images("holiday-photos")  # doctest: +SKIP
    [PosixPath('holiday-photos/a.jpg'), PosixPath('holiday-photos/day2/b.png')]
    """
    root = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                found.append(Path(dirpath) / name)
    return sorted(found)


# --------------------------------------------------------------------------
# What X and boxes may be
# --------------------------------------------------------------------------


def as_items(X: Any) -> list[Any]:
    """The images of ``X`` as a list (paths and arrays), with shape checks."""
    if isinstance(X, (str, os.PathLike)):
        raise ValueError(
            f"X must be a list of images or paths, not a single path {os.fspath(X)!r}: "
            "wrap it in a list, or use skfer.faces.predict_photos for a folder."
        )
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 1) == 2:
        X = X.to_numpy()  # a pandas DataFrame of flat faces
    if isinstance(X, np.ndarray):
        shape = X.shape
        if X.ndim == 2 and shape[1] != N_PIXELS:
            raise ValueError(
                f"A 2-D array X must hold flat 48x48 faces, shape (n_samples, "
                f"{N_PIXELS}). Got shape {shape}; for one image of any size pass "
                "a list: [image]."
            )
        if X.ndim == 3 and shape[2] in (3, 4) and shape[1] > shape[2]:
            raise ValueError(
                f"X of shape {shape} looks like one colour image; pass a list of "
                "images: [image]. (A stack of colour images is (n, H, W, 3).)"
            )
        if X.ndim == 1 and X.dtype.kind in "OUS":
            return _nonempty(list(X))  # paths, e.g. load_fer2013's filenames
        if X.ndim not in (2, 3, 4):
            raise ValueError(
                "X must be a list of images or paths, or an array of shape "
                f"(n_samples, {N_PIXELS}), (n, H, W) or (n, H, W, C). Got an "
                f"array of shape {shape}."
            )
        items = list(X)
    elif isinstance(X, Iterable):
        items = list(X)
    else:
        raise ValueError(
            f"X must be a list of images or paths. Got {type(X).__name__} instead."
        )
    return _nonempty(items)


def _nonempty(items: list[Any]) -> list[Any]:
    if not items:
        raise ValueError("X holds no images.")
    return items


def check_boxes(boxes: Any, n: int) -> list[np.ndarray | None] | None:
    if boxes is None:
        return None
    if isinstance(boxes, np.ndarray) and boxes.ndim == 2 and boxes.shape[1] == 4:
        boxes = list(boxes[:, None, :])  # one box per image
    boxes = list(boxes)
    if len(boxes) != n:
        raise ValueError(
            f"boxes must have one entry per image ({n}); got {len(boxes)}."
        )
    out: list[np.ndarray | None] = []
    for i, entry in enumerate(boxes):
        if entry is None:
            out.append(None)
            continue
        arr = np.asarray(entry, dtype=float)
        if arr.size == 0:
            out.append(np.empty((0, 4), dtype=np.int64))
            continue
        if arr.ndim == 1 and arr.shape == (4,):
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(
                f"boxes[{i}] must have shape (n_faces, 4) as (x, y, width, height); "
                f"got shape {arr.shape}."
            )
        if not np.isfinite(arr).all() or (arr[:, 2:] <= 0).any():
            raise ValueError(
                f"boxes[{i}] must hold finite values with width and height > 0; "
                f"got {arr.tolist()}."
            )
        out.append(np.rint(arr).astype(np.int64))
    return out


# --------------------------------------------------------------------------
# Reading images as 8-bit grey
# --------------------------------------------------------------------------


def read_image(
    path: str | os.PathLike[str], *, min_long_side: int | None = None
) -> tuple[np.ndarray, tuple[float, float]]:
    """Read an image file as 8-bit grey, upright (EXIF orientation applied).

    Parameters
    ----------
    path : str or path-like
        Any format Pillow reads.
    min_long_side : int, default=None
        If set, a JPEG may be decoded at a reduced scale (1/2, 1/4 or 1/8,
        Pillow's ``draft``) as long as its longer side stays at least this
        long: several times faster for camera photos.

    Returns
    -------
    gray : ndarray of shape (height, width), dtype uint8
        The image.
    scale : tuple of 2 float
        ``(sx, sy)``: original pixels per returned pixel (1.0 unless drafted).

    Raises
    ------
    ValueError
        If the file cannot be read as an image (the message names it).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            full = im.size
            if min_long_side and max(full) > 2 * min_long_side:
                ratio = min_long_side / max(full)
                request = (math.ceil(full[0] * ratio), math.ceil(full[1] * ratio))
                im.draft("L", request)
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            im.load()
            decoded = im.size
            upright = ImageOps.exif_transpose(im)
            if upright.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
                gray = as_gray(np.asarray(upright))
            else:
                gray = np.asarray(upright.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise
    except (
        OSError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise ValueError(f"cannot read image ({exc})") from exc
    if orientation in _SWAPPING_ORIENTATIONS:
        full, decoded = full[::-1], decoded[::-1]
    return gray, (full[0] / decoded[0], full[1] / decoded[1])


def as_gray(image: Any) -> np.ndarray:
    """Bring one image array to 2-D uint8 grey levels.

    Accepts ``(H, W)``, ``(H, W, 1)``, ``(H, W, 2)`` (grey + alpha),
    ``(H, W, 3)`` (RGB) and ``(H, W, 4)`` (RGBA; alpha is ignored), and a flat
    FER2013 face of 2304 values. uint8 is kept; bool is 0/255; uint16 is
    scaled by 255/65535; other integers must lie in 0..255; floats in [0, 1]
    are scaled by 255 (scikit-image's convention), other floats must lie in
    [0, 255] (skfer's convention).
    """
    try:
        arr = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an image array ({exc})") from exc
    if arr.ndim == 1 and arr.size == IMAGE_SIDE * IMAGE_SIDE:
        arr = arr.reshape(IMAGE_SIDE, IMAGE_SIDE)
    if arr.ndim == 1:
        raise ValueError(
            f"a 1-D array of {arr.size} values is not an image (a flat face has "
            f"{IMAGE_SIDE * IMAGE_SIDE} = 48x48 values)"
        )
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        channels = arr.shape[2]
    elif arr.ndim == 2:
        channels = 0
    else:
        raise ValueError(
            "expected an image of shape (height, width), (height, width, 1), "
            f"(height, width, 3) or (height, width, 4); got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"the image is empty (shape {arr.shape})")
    arr = _as_uint8(arr)
    if channels in (1, 2):
        return np.ascontiguousarray(arr[:, :, 0])
    if channels in (3, 4):
        cv2 = import_cv2()
        code = cv2.COLOR_RGB2GRAY if channels == 3 else cv2.COLOR_RGBA2GRAY
        return cv2.cvtColor(np.ascontiguousarray(arr), code)
    return np.ascontiguousarray(arr)


def _as_uint8(arr: np.ndarray) -> np.ndarray:
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if kind == "b":
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"integer grey levels must lie in 0..255; got {lo}..{hi} ({arr.dtype})"
            )
        return arr.astype(np.uint8)
    if kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("the image holds NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0.0 and hi <= 1.0:
            arr = arr * 255.0
        elif lo < 0.0 or hi > 255.0:
            raise ValueError(
                f"float grey levels must lie in [0, 1] or [0, 255]; got "
                f"[{lo:g}, {hi:g}]"
            )
        return np.rint(arr).astype(np.uint8)
    raise ValueError(f"unsupported pixel dtype {arr.dtype}")


# --------------------------------------------------------------------------
# Detection and cropping
# --------------------------------------------------------------------------


def detect_faces(
    gray: np.ndarray,
    detector: str | Callable[[np.ndarray], Any],
    *,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: int = 30,
    max_side: int | None = 640,
    border: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Face boxes and their scores in the pixels of ``gray``.

    A callable detector gets ``gray`` itself and returns ``(k, 4)`` boxes
    ``(x, y, w, h)``, or ``(k, 5)`` with a score last. A cascade runs on
    ``gray`` downscaled so that its longer side is at most ``max_side``,
    extended by reflection by ``border`` times its shorter side (so that
    faces cut by the image border can be found; their boxes may then leave
    the image); its score is the number of raw detections merged into the
    face (OpenCV's "neighbours"; higher is more certain).

    Returns
    -------
    boxes : ndarray of shape (k, 4), dtype int64
        ``(x, y, w, h)``.
    scores : ndarray of shape (k,), dtype float
        NaN where the detector gives none.
    """
    if callable(detector):
        found = np.asarray(detector(gray), dtype=float)
        if found.size == 0:
            return np.empty((0, 4), dtype=np.int64), np.empty(0)
        if found.ndim != 2 or found.shape[1] not in (4, 5):
            raise ValueError(
                "a detector must return boxes of shape (n_faces, 4) as "
                "(x, y, width, height), or (n_faces, 5) with a score last; "
                f"got shape {found.shape}"
            )
        scores = found[:, 4] if found.shape[1] == 5 else np.full(len(found), np.nan)
        return np.rint(found[:, :4]).astype(np.int64), scores
    cv2 = import_cv2()
    cascade = load_cascade(detector)
    height, width = gray.shape
    scale = 1.0
    small = gray
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    pad = round(border * min(small.shape)) if border > 0 else 0
    if pad:
        small = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    found, neighbours = cascade.detectMultiScale2(
        small,
        scaleFactor=scale_factor,
        minNeighbors=min_neighbors,
        minSize=(min_size, min_size),
    )
    boxes = np.asarray(found, dtype=float).reshape(-1, 4)
    boxes[:, :2] -= pad
    scores = np.asarray(neighbours, dtype=float).reshape(-1)
    return np.rint(boxes / scale).astype(np.int64), scores


def square_box(
    box: tuple[float, float, float, float] | np.ndarray, margin: float
) -> tuple[int, int, int]:
    """``(x0, y0, side)``: the box squared about its centre and widened.

    The square's side is the box's longer side times ``1 + 2 * margin``.
    """
    x, y, w, h = (float(v) for v in box)
    side = max(1, round(max(w, h) * (1.0 + 2.0 * margin)))
    x0 = math.floor(x + w / 2.0 - side / 2.0 + 0.5)
    y0 = math.floor(y + h / 2.0 - side / 2.0 + 0.5)
    return x0, y0, side


def crop_square(
    gray: np.ndarray, x0: int, y0: int, side: int, *, pad_mode: str = "edge"
) -> np.ndarray:
    """The ``side`` x ``side`` square at ``(x0, y0)``, resized to 48x48.

    Parts of the square outside the image are filled according to
    ``pad_mode`` (``"edge"`` repeats the border pixels, ``"reflect"`` mirrors
    the image, ``"constant"`` is black).

    Raises
    ------
    ValueError
        If the square does not overlap the image at all.
    """
    cv2 = import_cv2()
    height, width = gray.shape
    x1, y1 = x0 + side, y0 + side
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if ix0 >= ix1 or iy0 >= iy1:
        raise ValueError(
            f"the box lies outside the {width}x{height} image (square of side "
            f"{side} at x={x0}, y={y0})"
        )
    patch = gray[iy0:iy1, ix0:ix1]
    pads = ((iy0 - y0, y1 - iy1), (ix0 - x0, x1 - ix1))
    if any(p for pair in pads for p in pair):
        patch = np.pad(patch, pads, mode=PAD_MODES[pad_mode])
    if side == IMAGE_SIDE:
        return np.ascontiguousarray(patch)
    interpolation = cv2.INTER_AREA if side > IMAGE_SIDE else cv2.INTER_LINEAR
    return cv2.resize(patch, (IMAGE_SIDE, IMAGE_SIDE), interpolation=interpolation)


def center_box(shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred square ``(x, y, w, h)`` of an image of ``shape``."""
    height, width = shape
    side = min(height, width)
    return (width - side) // 2, (height - side) // 2, side, side
