"""The FER2013 label set: one place that defines class order and names."""

from __future__ import annotations

#: FER2013 class names, indexed by label: 0 Angry to 6 Neutral.
EMOTIONS: tuple[str, ...] = (
    "Angry",
    "Disgust",
    "Fear",
    "Happy",
    "Sad",
    "Surprise",
    "Neutral",
)

#: Number of pixels in one face (48x48 grayscale).
N_PIXELS: int = 48 * 48

#: Side of one face in pixels.
IMAGE_SIDE: int = 48


def label_for_name(name: str) -> int:
    """Return the FER2013 label of a class name, case-insensitively.

    Parameters
    ----------
    name : str
        A class name such as ``"happy"`` or ``"Happy"``.

    Returns
    -------
    label : int
        The label in ``0..6``.

    Raises
    ------
    ValueError
        If ``name`` is not one of the seven FER2013 classes.

    Examples
    --------
    >>> label_for_name("surprise")
    5
    """
    lowered = name.strip().lower()
    for label, emotion in enumerate(EMOTIONS):
        if emotion.lower() == lowered:
            return label
    raise ValueError(
        f"Unknown expression class name {name!r}; expected one of "
        f"{[e.lower() for e in EMOTIONS]} (case-insensitive)."
    )
