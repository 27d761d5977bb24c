"""Small drawing helpers shared by the Displays (matplotlib imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_matplotlib_support(caller: str) -> None:
    """Raise a helpful ImportError when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib; install it with `pip install matplotlib`."
        ) from exc


def axes_grid(
    ax: Any, shape: tuple[int, int], *, owner: str, cell: float = 1.6
) -> tuple[Any, np.ndarray]:
    """Return ``(figure, axes)`` with ``axes`` an object array of ``shape``.

    ``ax=None`` makes a new figure. Otherwise ``ax`` must hold exactly
    ``rows * cols`` matplotlib Axes (any nesting); they are used row-major.
    """
    check_matplotlib_support(owner)
    import matplotlib.pyplot as plt

    check_axes_count(ax, shape, owner=owner)
    rows, cols = shape
    if ax is None:
        fig, axes = plt.subplots(
            rows,
            cols,
            figsize=(cell * cols + 0.4, cell * rows + 0.4),
            squeeze=False,
            layout="constrained",
        )
        return fig, axes
    axes = np.asarray(ax, dtype=object).reshape(rows, cols)
    return axes.flat[0].figure, axes


def check_axes_count(ax: Any, shape: tuple[int, int], *, owner: str) -> None:
    """Refuse ``ax`` unless it is None or holds exactly ``rows * cols`` axes.

    Called by ``from_estimator`` before any computation, and by ``plot``.
    """
    if ax is None:
        return
    rows, cols = shape
    size = np.asarray(ax, dtype=object).size
    if size != rows * cols:
        raise ValueError(
            f"{owner} draws on {rows * cols} axes ({rows} x {cols}); got ax with "
            f"{size} axes. Pass ax=None to make a new figure."
        )


def show_image(ax: Any, image: np.ndarray, **imshow_kw: Any) -> Any:
    """imshow without ticks (faces, maps, filter patterns)."""
    im = ax.imshow(image, interpolation="nearest", **imshow_kw)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def grid_shape(n: int, ncols: int | None) -> tuple[int, int]:
    """Rows and columns of an image grid holding ``n`` images."""
    if ncols is None:
        ncols = int(np.ceil(np.sqrt(n)))
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1. Got {ncols!r} instead.")
    ncols = min(ncols, n)
    return int(np.ceil(n / ncols)), ncols
