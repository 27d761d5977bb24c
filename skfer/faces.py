"""From photos to faces to expressions.

:class:`FaceCropper` is a scikit-learn transformer that turns images of any
size, colour or grey, into FER2013-like ``(n, 2304)`` face crops, so that
``make_pipeline(FaceCropper(), fitted_classifier).predict(photos)`` works on
ordinary photos. :func:`predict_photos` is the batch API for every face of
every photo: it returns one row per face (or per photo without a face) with
its box, label and probabilities, and never fails the whole batch because of
one bad photo. ``_add_predict_parser`` / ``_run_predict`` (private) wire up the
``skfer predict`` command; :mod:`skfer.video` does the same for video files.

Face detection uses OpenCV's Haar cascade, shipped inside
``opencv-python-headless`` (``pip install 'skfer[photos]'``); nothing is
downloaded at run time.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import Bunch

from ._faces import (
    DEFAULT_CASCADE,
    PAD_MODES,
    as_gray,
    as_items,
    center_box,
    check_boxes,
    crop_square,
    detect_faces,
    list_images,
    read_image,
    square_box,
)
from .datasets._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS

__all__ = [
    "FaceCropper",
    "list_images",
    "predict_photos",
]

#: Statuses of :class:`FaceCropper` results that come with a face row.
FACE_STATUSES = ("detected", "given", "whole", "center", "passthrough")
#: Statuses of results without a face row.
MISSING_STATUSES = ("no_face", "error")

_INFO_COLUMNS = ("source", "path", "face", "n_faces", "x", "y", "w", "h", "score")
_VIDEO_SUFFIXES = (
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".3gp",
)


def _choice(name: str, value: Any, options: Sequence[Any]) -> None:
    if isinstance(value, str) and value in options:
        return
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"{name} must be one of {list(options)}. Got {value!r} instead.{hint}"
    )


class _Records:
    """Column lists of a crop result, one entry per face or missing face."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {
            k: [] for k in (*_INFO_COLUMNS, "status", "error", "row")
        }

    def add(
        self,
        source: int,
        path: str,
        *,
        status: str,
        face: int = -1,
        n_faces: int = 0,
        box: Sequence[float] = (-1, -1, -1, -1),
        score: float = np.nan,
        error: str = "",
        row: int = -1,
    ) -> None:
        values = (source, path, face, n_faces, *box, score, status, error, row)
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)

    def to_bunch(self) -> Bunch:
        c = self.columns
        ints = ("source", "face", "n_faces", "x", "y", "w", "h", "row")
        out = {k: np.asarray(c[k], dtype=np.int64) for k in ints}
        out["score"] = np.asarray(c["score"], dtype=float)
        for k in ("path", "status", "error"):
            out[k] = np.asarray(c[k], dtype=object)
        order = (*_INFO_COLUMNS, "status", "error", "row")
        return Bunch(**{k: out[k] for k in order})


class FaceCropper(TransformerMixin, BaseEstimator):
    """Crop faces out of photos into FER2013-like 48x48 grey rows.

    Every image (a file path, or an array of any size, grey, RGB or RGBA) is
    read as 8-bit grey; faces are found with OpenCV's Haar cascade (or taken
    from user-supplied boxes); each face box is squared about its centre,
    widened by ``margin`` on every side, cut out (parts outside the image are
    padded, so faces at the image edge are fine) and resized to 48x48.
    Images that already are 48x48 (FER2013's own images) are taken as faces
    and pass through unchanged.

    The transformer is stateless: ``fit`` only checks the parameters, and
    ``transform`` works without it. What each output row is (its source
    image, box and status) is returned by :meth:`crop` and kept by
    :meth:`transform` in ``crop_info_``.

    Parameters
    ----------
    faces : {"largest", "best", "all"}, default="largest"
        Which faces of an image to return. ``"largest"`` (the biggest box)
        and ``"best"`` (the highest detection score, see ``crop``'s
        ``score``; the largest where there are no scores) give exactly one
        row per image (with ``on_missing="center"``), as a scikit-learn
        pipeline needs for ``predict``. ``"all"`` gives one row per face, left
        to right, and ``crop_info_["source"]`` maps rows back to images.
        The cascade's false faces are usually few-neighbour ones: ``"best"``
        avoids them where a false face is bigger than the real one.
    margin : float, default=0.1
        Extra space around each detected or given box, as a fraction of its
        side, on every side. FER2013's crops are tight: 0 to 0.2 looks most
        like them.
    on_missing : {"center", "skip", "raise"}, default="center"
        What to do with an image in which no face is found. ``"center"`` uses
        its largest centred square instead (a reasonable guess for close-ups)
        with status ``"center"``; ``"skip"`` returns no row for it (status
        ``"no_face"``; the rows then no longer line up with the images);
        ``"raise"`` raises a ValueError naming the image.
    on_error : {"raise", "skip"}, default="raise"
        What to do with an image that cannot be read (missing or corrupt file,
        array of a wrong shape) or a given box outside its image: raise a
        ValueError naming it, or return no row for it (status ``"error"``,
        with the message in ``crop_info_["error"]``).
        :func:`predict_photos` always reports such images per image.
    detector : "haar", str, callable or None, default="haar"
        How faces are found. ``"haar"`` is OpenCV's frontal-face cascade
        (``haarcascade_frontalface_default.xml``); another string is the file
        name of a cascade bundled with OpenCV (``cv2.data.haarcascades``) or
        the path of a cascade file. A callable gets each image as a 2-D uint8
        array and returns boxes ``(n_faces, 4)`` as ``(x, y, width, height)``,
        or ``(n_faces, 5)`` with a score last.
        ``None`` bypasses detection: the whole image is the face (for crops
        of any size made elsewhere).
    scale_factor : float, default=1.1
        Cascade: scale step between detection window sizes (> 1; larger is
        faster but misses more faces).
    min_neighbors : int, default=5
        Cascade: overlapping detections needed to keep a face (higher: fewer
        false faces, more missed ones).
    min_face_size : int, default=30
        Cascade: smallest face side searched, in pixels of the (possibly
        downscaled, see ``detect_max_side``) detection image.
    detect_max_side : int or None, default=640
        Cascade: images whose longer side is longer are downscaled to it for
        detection, and large JPEG files are decoded at a reduced scale that
        keeps at least twice this; crops are still taken at that resolution
        and boxes reported in the original pixels. ``None`` detects at full
        resolution (slow for camera photos, finds smaller faces).
    detect_border : float, default=0.0
        Cascade: extend the image by reflection by this fraction of its
        shorter side (at most 0.5) before detection, so that faces partly
        cut by the image border are found too; their boxes then leave the
        image and their crops are padded. Measured on crops of
        ``skimage.data.astronaut()``, 0.1 finds faces cut by up to a quarter
        but adds some false faces.
    pad_mode : {"edge", "reflect", "constant"}, default="edge"
        How the parts of a crop outside the image are filled: repeating the
        border pixels, mirroring the image, or black.
    passthrough : bool, default=True
        Take images of exactly 48x48 pixels as already-cropped faces: no
        detection, the pixels are returned unchanged (status
        ``"passthrough"``). Flat rows of 2304 values are 48x48 images.

    Attributes
    ----------
    crop_info_ : :class:`~sklearn.utils.Bunch`
        Set by :meth:`transform`: what its rows are; see :meth:`crop`.

    See Also
    --------
    predict_photos : Labels and probabilities for every face of many photos.
    skfer.video.predict_video : The same for the frames of a video.

    Notes
    -----
    Colour arrays are taken as RGB(A), the order of Pillow, scikit-image and
    matplotlib; OpenCV's BGR arrays give slightly different grey levels
    (convert them with ``cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)``). Files
    are read with Pillow, upright according to their EXIF orientation.
    ``crop_info_`` describes the last ``transform`` call: do not share one
    instance between threads that transform concurrently.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> from skfer.faces import FaceCropper
    >>> photo = astronaut()  # 512x512 RGB, one face
    >>> side_by_side = np.hstack([photo, photo])
    >>> faces, info = FaceCropper(faces="all").crop([photo, side_by_side])
    >>> faces.shape, faces.dtype
    ((3, 2304), dtype('uint8'))
    >>> info.source.tolist(), info.face.tolist(), info.status.tolist()
    ([0, 1, 1], [0, 0, 1], ['detected', 'detected', 'detected'])

    With ``faces="largest"`` (the default) there is one row per image, so it
    composes with a fitted classifier:

    >>> from sklearn.pipeline import make_pipeline
    >>> pipe = make_pipeline(FaceCropper(), fitted_clf)  # doctest: +SKIP
    >>> pipe.predict(["holiday.jpg", photo])  # doctest: +SKIP
    array([3, 3])
    """

    def __init__(
        self,
        *,
        faces: str = "largest",
        margin: float = 0.1,
        on_missing: str = "center",
        on_error: str = "raise",
        detector: str | Callable[[np.ndarray], Any] | None = "haar",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_face_size: int = 30,
        detect_max_side: int | None = 640,
        detect_border: float = 0.0,
        pad_mode: str = "edge",
        passthrough: bool = True,
    ) -> None:
        self.faces = faces
        self.margin = margin
        self.on_missing = on_missing
        self.on_error = on_error
        self.detector = detector
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face_size = min_face_size
        self.detect_max_side = detect_max_side
        self.detect_border = detect_border
        self.pad_mode = pad_mode
        self.passthrough = passthrough

    # ------------------------------------------------------------ sklearn API
    def fit(self, X: Any = None, y: Any = None) -> FaceCropper:
        """Check the parameters (the transformer learns nothing).

        Parameters
        ----------
        X : ignored
            Not used, present for API consistency.
        y : ignored
            Not used, present for API consistency.

        Returns
        -------
        self : FaceCropper
            The transformer.
        """
        self._check_params()
        return self

    def transform(self, X: Any, boxes: Sequence[Any] | None = None) -> np.ndarray:
        """Crop the faces of ``X``; keep what each row is in ``crop_info_``.

        Parameters
        ----------
        X : list of (str, path-like or array-like), or ndarray
            See :meth:`crop`.
        boxes : sequence of (array-like of shape (n_faces, 4) or None), default=None
            See :meth:`crop`. In a pipeline, pass them with scikit-learn's
            metadata routing (``set_transform_request(boxes=True)``).

        Returns
        -------
        faces : ndarray of shape (n_faces, 2304), dtype uint8
            One 48x48 face per row.
        """
        faces, self.crop_info_ = self.crop(X, boxes=boxes)
        return faces

    def fit_transform(
        self, X: Any, y: Any = None, boxes: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Check the parameters, then :meth:`transform`.

        Parameters
        ----------
        X : list of (str, path-like or array-like), or ndarray
            See :meth:`crop`.
        y : ignored
            Not used, present for API consistency.
        boxes : sequence of (array-like of shape (n_faces, 4) or None), default=None
            See :meth:`crop`.

        Returns
        -------
        faces : ndarray of shape (n_faces, 2304), dtype uint8
            One 48x48 face per row.
        """
        return self.fit().transform(X, boxes=boxes)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: ``pixel0`` ... ``pixel2303``.

        Parameters
        ----------
        input_features : ignored
            Not used (the outputs do not depend on input columns).

        Returns
        -------
        names : ndarray of shape (2304,), dtype object
            Row-major pixel names.
        """
        return np.asarray([f"pixel{i}" for i in range(N_PIXELS)], dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True
        return tags

    # ----------------------------------------------------------------- crop
    def crop(
        self, X: Any, boxes: Sequence[Any] | None = None
    ) -> tuple[np.ndarray, Bunch]:
        """Crop the faces of ``X`` and say what each one is.

        Parameters
        ----------
        X : list of (str, path-like or array-like), or ndarray
            The images: a list (or other iterable) of file paths and image
            arrays ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` of any size; or
            one ndarray holding a stack of images ``(n, H, W[, C])`` or flat
            48x48 faces ``(n, 2304)``. A single image must be wrapped in a
            list.
        boxes : sequence of (array-like of shape (n_faces, 4) or None), default=None
            Faces already located, one entry per image, as ``(x, y, width,
            height)`` in the image's pixels: these are cropped instead of
            detecting (``faces`` still applies; an empty entry means no face;
            ``None`` detects in that image).

        Returns
        -------
        faces : ndarray of shape (n_faces, 2304), dtype uint8
            One 48x48 face per row.
        info : :class:`~sklearn.utils.Bunch` of 1-D arrays
            One entry per face row, plus one per image that gave none
            (``on_missing="skip"`` or ``on_error="skip"``); a dict of equal
            length columns (``pandas.DataFrame(info)`` makes a table):

            source : int
                Index of the image in ``X``.
            path : str
                Its path, or ``""`` for an array.
            face : int
                Index of the face in its image (left to right), -1 if none.
            n_faces : int
                Faces detected in (or given for) the image.
            x, y, w, h : int
                The face box in the image's original pixels, before the
                ``margin`` (may leave the image); -1 if none.
            score : float
                The detector's confidence: for a cascade, the number of raw
                detections merged into the face (>= ``min_neighbors``;
                true faces typically score tens). NaN if none.
            status : str
                ``"detected"``, ``"given"`` (from ``boxes``), ``"whole"``
                (``detector=None``), ``"center"`` (no face found, centre
                used), ``"passthrough"`` (48x48 image), ``"no_face"`` or
                ``"error"`` (these two have no row).
            error : str
                Why the image could not be used, or ``""``.
            row : int
                Index of the face in ``faces``, -1 if none.

        Raises
        ------
        ValueError
            If ``X`` or ``boxes`` is malformed as a whole (each image's own
            problems follow ``on_error`` and ``on_missing``).

        Examples
        --------
        >>> import numpy as np
        >>> from skfer.faces import FaceCropper
        >>> blank = np.full((100, 80), 200, dtype=np.uint8)
        >>> faces, info = FaceCropper(on_missing="center").crop([blank])
        >>> faces.shape, info.status.tolist(), info.w.tolist()
        ((1, 2304), ['center'], [80])
        """
        self._check_params()
        fast = self._passthrough_stack(X, boxes)
        if fast is not None:
            return fast
        items = as_items(X)
        given = check_boxes(boxes, len(items))
        records = _Records()
        rows: list[np.ndarray] = []
        for i, item in enumerate(items):
            self._crop_one(i, item, None if given is None else given[i], records, rows)
        faces = (
            np.stack(rows).reshape(len(rows), N_PIXELS)
            if rows
            else np.empty((0, N_PIXELS), dtype=np.uint8)
        )
        return faces, records.to_bunch()

    # ------------------------------------------------------------- internals
    def _check_params(self) -> None:
        _choice("faces", self.faces, ("largest", "best", "all"))
        _choice("on_missing", self.on_missing, ("center", "skip", "raise"))
        _choice("on_error", self.on_error, ("raise", "skip"))
        _choice("pad_mode", self.pad_mode, tuple(PAD_MODES))
        if not isinstance(self.margin, Real) or not 0 <= self.margin <= 2:
            raise ValueError(f"margin must be in [0, 2]. Got {self.margin!r} instead.")
        det = self.detector
        if (
            det is not None
            and not isinstance(det, (str, os.PathLike))
            and not callable(det)
        ):
            raise ValueError(
                "detector must be 'haar', a cascade file name or path, a callable "
                f"or None. Got {det!r} instead."
            )
        if not isinstance(self.scale_factor, Real) or not self.scale_factor > 1:
            raise ValueError(
                f"scale_factor must be > 1. Got {self.scale_factor!r} instead."
            )
        for name, low in (("min_neighbors", 0), ("min_face_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, Integral) or value < low:
                raise ValueError(
                    f"{name} must be an int >= {low}. Got {value!r} instead."
                )
        side = self.detect_max_side
        if side is not None and (not isinstance(side, Integral) or side < 24):
            raise ValueError(
                f"detect_max_side must be None or an int >= 24. Got {side!r} instead."
            )
        border = self.detect_border
        if not isinstance(border, Real) or not 0 <= border <= 0.5:
            raise ValueError(
                f"detect_border must be in [0, 0.5]. Got {border!r} instead."
            )

    def _cascade_name(self) -> str | Callable[[np.ndarray], Any]:
        det = self.detector
        if isinstance(det, os.PathLike):
            return os.fspath(det)
        return DEFAULT_CASCADE if det == "haar" else det

    def _passthrough_stack(self, X: Any, boxes: Any) -> tuple[np.ndarray, Bunch] | None:
        """Vectorised path for a uint8 stack of 48x48 faces (FER2013's X)."""
        if not (self.passthrough and boxes is None and isinstance(X, np.ndarray)):
            return None
        if X.dtype != np.uint8 or X.shape[0] == 0:
            return None
        if X.shape[1:] not in (
            (N_PIXELS,),
            (IMAGE_SIDE, IMAGE_SIDE),
            (IMAGE_SIDE, IMAGE_SIDE, 1),
        ):
            return None
        n = X.shape[0]
        records = _Records()
        records.columns["source"] = list(range(n))
        records.columns["path"] = [""] * n
        records.columns["face"] = [0] * n
        records.columns["n_faces"] = [1] * n
        for key, value in zip("xywh", (0, 0, IMAGE_SIDE, IMAGE_SIDE), strict=True):
            records.columns[key] = [value] * n
        records.columns["status"] = ["passthrough"] * n
        records.columns["error"] = [""] * n
        records.columns["row"] = list(range(n))
        return X.reshape(n, N_PIXELS).copy(), records.to_bunch()

    def _crop_one(
        self,
        i: int,
        item: Any,
        given: np.ndarray | None,
        records: _Records,
        rows: list[np.ndarray],
    ) -> None:
        is_path = isinstance(item, (str, os.PathLike))
        path = os.fspath(item) if is_path else ""
        where = f"image {i}" + (f" ({path!r})" if is_path else "")

        def fail(exc: Exception, **kw: Any) -> None:
            if self.on_error == "raise":
                raise ValueError(f"{where}: {exc}") from exc
            records.add(i, path, status="error", error=str(exc), **kw)

        detecting = given is None and self.detector is not None
        try:
            if is_path:
                draft = (
                    2 * self.detect_max_side
                    if detecting and self.detect_max_side
                    else None
                )
                gray, (sx, sy) = read_image(item, min_long_side=draft)
            else:
                gray, (sx, sy) = as_gray(item), (1.0, 1.0)
        except (ValueError, OSError) as exc:
            fail(exc)
            return
        height, width = gray.shape
        margin = float(self.margin)
        if (
            given is None
            and self.passthrough
            and (height, width) == (IMAGE_SIDE, IMAGE_SIDE)
        ):
            records.add(
                i, path, status="passthrough", face=0, n_faces=1,
                box=(0, 0, IMAGE_SIDE, IMAGE_SIDE), row=len(rows),
            )  # fmt: skip
            rows.append(gray)
            return
        scores = None
        if given is not None:
            found, status = given, "given"
        elif self.detector is None:
            found, status, margin = np.array([[0, 0, width, height]]), "whole", 0.0
        else:
            found, scores = detect_faces(
                gray,
                self._cascade_name(),
                scale_factor=float(self.scale_factor),
                min_neighbors=int(self.min_neighbors),
                min_size=int(self.min_face_size),
                max_side=self.detect_max_side,
                border=float(self.detect_border),
            )
            status = "detected"
        n_found = len(found)
        if n_found == 0:
            if self.on_missing == "raise":
                raise ValueError(f"{where}: no face found.")
            if self.on_missing == "skip":
                records.add(i, path, status="no_face")
                return
            found, status, margin = np.array([center_box(gray.shape)]), "center", 0.0
        found = np.asarray(found, dtype=np.int64)
        if scores is None or len(scores) != len(found):
            scores = np.full(len(found), np.nan)
        if self.faces == "all":
            keep = np.lexsort((found[:, 1], found[:, 0]))
        elif self.faces == "best" and np.isfinite(scores).any():
            keep = [int(np.nanargmax(scores))]
        else:
            keep = [int(np.argmax(found[:, 2] * found[:, 3]))]
        for k, (box, score) in enumerate(zip(found[keep], scores[keep], strict=True)):
            original = (
                round(box[0] * sx), round(box[1] * sy),
                round(box[2] * sx), round(box[3] * sy),
            )  # fmt: skip
            x0, y0, side = square_box(box, margin)
            try:
                face = crop_square(gray, x0, y0, side, pad_mode=self.pad_mode)
            except ValueError as exc:
                fail(exc, face=k, n_faces=n_found, box=original)
                continue
            records.add(
                i, path, status=status, face=k, n_faces=n_found,
                box=original, score=float(score), row=len(rows),
            )  # fmt: skip
            rows.append(face)


# --------------------------------------------------------------------------
# Predictions as a table
# --------------------------------------------------------------------------


def _split_cropper(
    estimator: Any, cropper: FaceCropper | None
) -> tuple[Any, FaceCropper]:
    """The classifier and the cropper to use (a pipeline may bring its own)."""
    from sklearn.pipeline import Pipeline

    if (
        cropper is None
        and isinstance(estimator, Pipeline)
        and isinstance(estimator.steps[0][1], FaceCropper)
    ):
        cropper, estimator = estimator.steps[0][1], estimator[1:]
    if cropper is None:
        cropper = FaceCropper(faces="all", on_missing="skip")
    elif not isinstance(cropper, FaceCropper):
        raise ValueError(f"cropper must be a FaceCropper. Got {cropper!r} instead.")
    return estimator, clone(cropper).set_params(on_error="skip")


def _class_names(classes: np.ndarray) -> list[str]:
    if classes.dtype.kind in "iu" and np.isin(classes, np.arange(len(EMOTIONS))).all():
        return [EMOTIONS[int(c)] for c in classes]
    return [str(c) for c in classes]


def _predict_table(estimator: Any, faces: np.ndarray, info: Bunch) -> Bunch:
    """Add ``label``, ``expression`` and ``proba_*`` columns to a crop result."""
    n = len(info["status"])
    has_face = info["row"] >= 0
    classes = getattr(estimator, "classes_", None)
    proba = None
    if len(faces):
        if hasattr(estimator, "predict_proba") and classes is not None:
            proba = np.asarray(estimator.predict_proba(faces), dtype=float)
            # one face: scikeras 0.13 returns shape (n_classes,), not (1, n_classes)
            proba = proba.reshape(len(faces), -1)
            predicted = np.asarray(classes)[proba.argmax(axis=1)]
        else:
            predicted = np.asarray(estimator.predict(faces))
    else:
        predicted = np.asarray(classes if classes is not None else [], dtype=object)[:0]
    numeric = predicted.dtype.kind in "iu" or (
        classes is not None and np.asarray(classes).dtype.kind in "iu"
    )
    labels = (
        np.full(n, -1, dtype=np.int64) if numeric else np.full(n, None, dtype=object)
    )
    labels[has_face] = predicted[info["row"][has_face]]
    expression = np.full(n, "", dtype=object)
    if has_face.any():
        names = _class_names(np.asarray(labels[has_face]))
        expression[has_face] = names
    table = Bunch(**{k: v for k, v in info.items() if k != "row"})
    table["label"] = labels
    table["expression"] = expression
    if classes is not None and hasattr(estimator, "predict_proba"):
        for j, name in enumerate(_class_names(np.asarray(classes))):
            column = np.full(n, np.nan)
            if proba is not None:
                column[has_face] = proba[info["row"][has_face], j]
            table[f"proba_{name.lower()}"] = column
    return table


def _concat_tables(tables: Sequence[Bunch]) -> Bunch:
    if len(tables) == 1:
        return tables[0]
    return Bunch(**{k: np.concatenate([t[k] for t in tables]) for k in tables[0]})


def _as_frame(table: Bunch, as_frame: bool) -> Any:
    if not as_frame:
        return table
    import pandas as pd

    return pd.DataFrame(dict(table))


def _photo_items(photos: Any) -> list[Any]:
    if isinstance(photos, (str, os.PathLike)):
        path = Path(photos)
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise ValueError(f"No images found in folder {str(path)!r}.")
            return found
        return [path]
    items = []
    for item in as_items(photos):
        if isinstance(item, (str, os.PathLike)) and Path(item).is_dir():
            items.extend(list_images(item))
        else:
            items.append(item)
    return items


def predict_photos(
    estimator: Any,
    photos: Any,
    *,
    boxes: Sequence[Any] | None = None,
    cropper: FaceCropper | None = None,
    batch_size: int = 64,
    as_frame: bool = False,
) -> Any:
    """Expressions of every face in many photos, as a table.

    Photos are read, cropped and classified ``batch_size`` photos at a time,
    with one call of the classifier per batch. A photo that cannot be read
    or has no face gets a row saying so (status ``"error"`` or
    ``"no_face"``) instead of failing the batch.

    Parameters
    ----------
    estimator : classifier
        A fitted classifier of 48x48 faces ``(n, 2304)`` (any skfer model),
        or a fitted pipeline whose first step is a :class:`FaceCropper`
        (that cropper is then used, unless ``cropper`` is given).
    photos : str, path-like, list or ndarray
        A photo file, a folder (its images, recursively, sorted), or a list of
        photo paths, folders and image arrays (see :meth:`FaceCropper.crop`).
    boxes : sequence of (array-like of shape (n_faces, 4) or None), default=None
        Faces already located, one entry per photo (after folders are
        expanded); see :meth:`FaceCropper.crop`.
    cropper : FaceCropper, default=None
        How faces are found and cropped. Default:
        ``FaceCropper(faces="all", on_missing="skip")``. Its ``on_error`` is
        ignored: errors are always reported per photo.
    batch_size : int, default=64
        Photos per batch (and per call of the classifier).
    as_frame : bool, default=False
        Return a pandas DataFrame instead of a Bunch.

    Returns
    -------
    table : :class:`~sklearn.utils.Bunch` of 1-D arrays, or pandas.DataFrame
        One row per face, plus one per photo without a face. The columns of
        :meth:`FaceCropper.crop` (``source``, ``path``, ``face``,
        ``n_faces``, ``x``, ``y``, ``w``, ``h``, ``score``, ``status``,
        ``error``), and:

        label : int
            The predicted class (-1 without a face).
        expression : str
            Its name (``"Happy"``...), ``""`` without a face.
        proba_<name> : float
            The probability of each class (``proba_angry`` ...
            ``proba_neutral``; NaN without a face), when the classifier has
            ``predict_proba``.

    See Also
    --------
    FaceCropper : The cropping step alone.
    skfer.video.predict_video : The same for the frames of a video.

    Examples
    --------
    >>> from skfer import load_model
    >>> from skfer.faces import predict_photos
    >>> clf = load_model("cnn.joblib")  # doctest: +SKIP
    >>> table = predict_photos(clf, "holiday-photos/", as_frame=True)  # doctest: +SKIP
    >>> table[["path", "face", "status", "expression"]].head(3)  # doctest: +SKIP
                        path  face    status expression
    0  holiday-photos/a.jpg     0  detected      Happy
    1  holiday-photos/a.jpg     1  detected    Neutral
    2  holiday-photos/b.jpg    -1   no_face
    """
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1. Got {batch_size!r} instead.")
    estimator, cropper = _split_cropper(estimator, cropper)
    items = _photo_items(photos)
    if boxes is not None:
        boxes = list(boxes)
        if len(boxes) != len(items):
            raise ValueError(
                f"boxes must have one entry per photo ({len(items)}); got {len(boxes)}."
            )
    tables = []
    for start in range(0, len(items), batch_size):
        chunk_boxes = None if boxes is None else boxes[start : start + batch_size]
        faces, info = cropper.crop(items[start : start + batch_size], boxes=chunk_boxes)
        info["source"] = info["source"] + start
        tables.append(_predict_table(estimator, faces, info))
    return _as_frame(_concat_tables(tables), as_frame)


# --------------------------------------------------------------------------
# The `skfer predict` command
# --------------------------------------------------------------------------

#: Columns left blank in the CSV for rows without a face.
_BLANK_WITHOUT_FACE = ("face", "x", "y", "w", "h", "score", "label", "expression")


def _write_csv(tables: Sequence[Bunch], out: TextIO, *, video: bool) -> None:
    """Write prediction tables as one CSV (``path`` first; no ``source``)."""
    columns = ["path", *(("frame", "time") if video else ())]
    for table in tables:
        for key in table:
            if key not in columns and key != "source":
                columns.append(key)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for table in tables:
        n = len(table["status"])
        for r in range(n):
            missing = table["status"][r] in MISSING_STATUSES
            row = []
            for key in columns:
                value = table[key][r] if key in table else ""
                if missing and (key in _BLANK_WITHOUT_FACE or key.startswith("proba_")):
                    value = ""
                elif isinstance(value, (float, np.floating)):
                    value = "" if np.isnan(value) else (
                        f"{value:.3f}" if key == "time" else f"{value:.6g}"
                    )  # fmt: skip
                row.append(value)
            writer.writerow(row)


def _add_predict_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` sub-command to the ``skfer`` command's sub-parsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    parser : argparse.ArgumentParser
        The ``predict`` parser (its ``func`` default is :func:`_run_predict`).

    Examples
    --------
    >>> import argparse
    >>> from skfer.faces import _add_predict_parser
    >>> parser = argparse.ArgumentParser(prog="skfer")
    >>> _ = _add_predict_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["predict", "cnn.joblib", "photos/", "--step", "5"])
    >>> args.inputs, args.step, args.faces
    (['photos/'], 5, 'all')
    """
    p = subparsers.add_parser(
        "predict",
        help="predict expressions in photos, videos or a FER2013 CSV",
        description=(
            "Predict facial expressions with a saved model. Photos and folders "
            "of photos: one CSV row per face (or per photo without one). "
            "Videos (.mp4, .avi, .mov ...): the same for every STEP-th frame. "
            "A FER2013 CSV (Kaggle or homework layout): an 'id,label' "
            "submission file."
        ),
    )
    p.add_argument("model", help="a model saved with skfer.save_model")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="photo files, folders of photos, video files, or one FER2013 CSV",
    )
    p.add_argument(
        "-o", "--output", default="-", help="CSV file to write (default: stdout)"
    )
    p.add_argument(
        "--faces",
        choices=("all", "largest", "best"),
        default="all",
        help="every face of an image, or only its largest, or its most "
        "certain (default: all)",
    )
    p.add_argument(
        "--on-missing",
        choices=("skip", "center"),
        default="skip",
        help="no face found: report it, or classify the image's centre (default: skip)",
    )
    p.add_argument(
        "--margin", type=float, default=0.1, help="space around faces (default: 0.1)"
    )
    p.add_argument(
        "--step", type=int, default=1, help="videos: every STEP-th frame (default: 1)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="photos or frames per model call (default: 64)",
    )
    p.add_argument(
        "--usage", help="FER2013 CSV: keep only this split (e.g. PublicTest)"
    )
    p.set_defaults(func=_run_predict)
    return p


def _is_fer_csv(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and (name.endswith(".csv") or name.endswith(".csv.gz"))


def _predict_fer_csv(model: Any, path: Path, args: argparse.Namespace) -> int:
    from .datasets import load_fer2013

    faces = load_fer2013(path, usage=args.usage)
    ids = faces.get("ids")
    if ids is None or (ids < 0).any():
        ids = np.arange(len(faces.data))
    labels = model.predict(faces.data)
    with _open_output(args.output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "label"])
        writer.writerows(zip(ids.tolist(), np.asarray(labels).tolist(), strict=True))
    message = f"skfer predict: {len(labels)} faces from {path}"
    target = faces.target
    if target is not None and (target >= 0).any():
        known = target >= 0
        accuracy = float((np.asarray(labels)[known] == target[known]).mean())
        message += f"; accuracy on {int(known.sum())} labelled faces: {accuracy:.3f}"
    print(message, file=sys.stderr)
    return 0


class _open_output:
    """``-`` is stdout (left open); anything else a new file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.file: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self.name == "-":
            return sys.stdout
        self.file = open(self.name, "w", newline="", encoding="utf-8")
        return self.file

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _run_predict(args: argparse.Namespace) -> int:
    """Run ``skfer predict`` (see :func:`_add_predict_parser`).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of the ``predict`` sub-command.

    Returns
    -------
    status : int
        0 on success. Errors that stop the command (missing model or input,
        bad options) raise ValueError or OSError, which the ``skfer`` command
        reports in one line; unreadable photos and photos without a face are
        rows of the CSV, not errors.

    Examples
    --------
    From the shell::

        skfer predict cnn.joblib holiday-photos/ clip.mp4 --step 10 -o faces.csv
        skfer predict cnn.joblib test.csv -o submission.csv
    """
    from .persistence import load_model
    from .video import predict_video

    if args.step < 1 or args.batch_size < 1:
        raise ValueError("--step and --batch-size must be >= 1.")
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"Input {str(path)!r} does not exist.")
    csvs = [p for p in inputs if _is_fer_csv(p)]
    if csvs and len(inputs) > 1:
        raise ValueError("A FER2013 CSV must be the only INPUT.")
    model = load_model(args.model)
    if csvs:
        return _predict_fer_csv(model, csvs[0], args)

    videos = [p for p in inputs if p.is_file() and p.suffix.lower() in _VIDEO_SUFFIXES]
    photos: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = list_images(path)
            if not found:
                print(f"skfer predict: no images in {path}", file=sys.stderr)
            photos.extend(found)
        elif path not in videos:
            photos.append(path)
    if not photos and not videos:
        raise ValueError("No photos or videos found in the inputs.")
    cropper = FaceCropper(
        faces=args.faces, on_missing=args.on_missing, margin=args.margin
    ).fit()
    tables = []
    if photos:
        tables.append(
            predict_photos(model, photos, cropper=cropper, batch_size=args.batch_size)
        )
    n_frames = 0
    for video in videos:
        table = predict_video(
            model, video, step=args.step, cropper=cropper, batch_size=args.batch_size
        )
        table["path"] = np.full(len(table["frame"]), str(video), dtype=object)
        n_frames += len(np.unique(table["frame"]))
        tables.append(table)
    with _open_output(args.output) as out:
        _write_csv(tables, out, video=bool(videos))
    status = np.concatenate([t["status"] for t in tables])
    counts = {s: int((status == s).sum()) for s in ("center", "no_face", "error")}
    n_faces = int(np.isin(status, FACE_STATUSES).sum()) - counts["center"]
    print(
        f"skfer predict: {len(photos)} photos, {len(videos)} videos "
        f"({n_frames} frames): {n_faces} faces, {counts['center']} centre "
        f"guesses, {counts['no_face']} without a face, {counts['error']} "
        "unreadable",
        file=sys.stderr,
    )
    return 0
