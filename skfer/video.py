"""Expressions in video files, frame by frame.

Frames are read with OpenCV's ``VideoCapture`` (``pip install
'skfer[photos]'``), sampled every ``step`` frames, cropped with a
:class:`~skfer.faces.FaceCropper` and classified ``batch_size`` frames at a
time, with one call of the classifier per batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from ._faces import import_cv2
from .faces import (
    FaceCropper,
    _as_frame,
    _concat_tables,
    _predict_table,
    _split_cropper,
)

__all__ = ["iter_video_frames", "predict_video"]


def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}. Got {value!r} instead.")


def iter_video_frames(
    path: str | os.PathLike[str],
    *,
    step: int = 1,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Read every ``step``-th frame of a video as 8-bit grey.

    Skipped frames are grabbed but not converted, which is cheaper than
    reading them (and more reliable than seeking, which many codecs do only
    to key frames).

    Parameters
    ----------
    path : str or path-like
        A video file OpenCV can read (``.mp4``, ``.avi``, ``.mov`` ...).
    step : int, default=1
        Keep frames ``start``, ``start + step``, ``start + 2 * step`` ...
    start : int, default=0
        Index of the first frame to keep.
    stop : int or None, default=None
        Stop before this frame index (``None``: the end of the video).

    Yields
    ------
    index : int
        The frame's index in the video (from 0).
    time : float
        Its time in seconds (index / frames per second).
    frame : ndarray of shape (height, width), dtype uint8
        The frame in grey levels.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If OpenCV cannot open it as a video.

    Examples
    --------
    >>> from skfer.video import iter_video_frames
    >>> frames = iter_video_frames("clip.mp4", step=30)  # doctest: +SKIP
    >>> for index, time, frame in frames:  # doctest: +SKIP
    ...     print(index, round(time, 2), frame.shape)
    0 0.0 (720, 1280)
    30 1.0 (720, 1280)
    """
    _check_int("step", step, 1)
    _check_int("start", start, 0)
    if stop is not None:
        _check_int("stop", stop, 0)
    cv2 = import_cv2()
    if not Path(path).is_file():
        raise FileNotFoundError(f"Video file {os.fspath(path)!r} does not exist.")
    capture = cv2.VideoCapture(os.fspath(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open {os.fspath(path)!r} as a video.")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        index = 0
        while stop is None or index < stop:
            if index >= start and (index - start) % step == 0:
                ok, frame = capture.read()
                if not ok:
                    break
                if frame.ndim == 3:
                    code = (
                        cv2.COLOR_BGR2GRAY
                        if frame.shape[2] == 3
                        else cv2.COLOR_BGRA2GRAY
                    )
                    frame = cv2.cvtColor(frame, code)
                time = (
                    index / fps if fps > 0 else capture.get(cv2.CAP_PROP_POS_MSEC) / 1e3
                )
                yield index, float(time), frame
            elif not capture.grab():
                break
            index += 1
    finally:
        capture.release()


def predict_video(
    estimator: Any,
    path: str | os.PathLike[str],
    *,
    step: int = 1,
    start: int = 0,
    stop: int | None = None,
    cropper: FaceCropper | None = None,
    batch_size: int = 64,
    as_frame: bool = False,
) -> Any:
    """Expressions of the faces in every ``step``-th frame of a video.

    Parameters
    ----------
    estimator : classifier
        A fitted classifier of 48x48 faces ``(n, 2304)``, or a fitted
        pipeline whose first step is a :class:`~skfer.faces.FaceCropper`.
    path : str or path-like
        The video file.
    step : int, default=1
        Predict every ``step``-th frame.
    start : int, default=0
        First frame index.
    stop : int or None, default=None
        Stop before this frame index.
    cropper : FaceCropper, default=None
        How faces are found; default ``FaceCropper(faces="all",
        on_missing="skip")`` (a frame without a face gets one row with status
        ``"no_face"``).
    batch_size : int, default=64
        Frames per batch (and per call of the classifier).
    as_frame : bool, default=False
        Return a pandas DataFrame instead of a Bunch.

    Returns
    -------
    table : :class:`~sklearn.utils.Bunch` of 1-D arrays, or pandas.DataFrame
        One row per face found in a sampled frame, plus one per sampled frame
        without a face: ``frame`` (index), ``time`` (seconds), then the
        columns of :func:`~skfer.faces.predict_photos` (``source`` is the
        frame index too; ``path`` is ``""``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it cannot be read as a video.

    See Also
    --------
    skfer.faces.predict_photos : The same for photos.

    Examples
    --------
    >>> from skfer import load_model
    >>> from skfer.video import predict_video
    >>> clf = load_model("cnn.joblib")  # doctest: +SKIP
    >>> table = predict_video(clf, "clip.mp4", step=15, as_frame=True)  # doctest: +SKIP
    >>> table.groupby("frame").expression.first().head(2)  # doctest: +SKIP
    frame
    0       Happy
    15      Happy
    Name: expression, dtype: object
    """
    _check_int("batch_size", batch_size, 1)
    estimator, cropper = _split_cropper(estimator, cropper)
    frames = iter_video_frames(path, step=step, start=start, stop=stop)
    tables = []
    while batch := list(islice(frames, batch_size)):
        index = np.array([b[0] for b in batch], dtype=np.int64)
        times = np.array([b[1] for b in batch], dtype=float)
        faces, info = cropper.crop([b[2] for b in batch])
        table = _predict_table(estimator, faces, info)
        source = table["source"]
        columns = {"frame": index[source], "time": times[source]}
        columns.update((k, v) for k, v in table.items())
        columns["source"] = index[source]
        tables.append(Bunch(**columns))
    if not tables:
        raise ValueError(
            f"No frame could be read from {os.fspath(path)!r} (start={start}, "
            f"stop={stop})."
        )
    return _as_frame(_concat_tables(tables), as_frame)
