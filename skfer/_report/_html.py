"""Figures (PNG) and the self-contained ``index.html`` of a report."""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Figure", "draw_figures", "write_index"]


@dataclass
class Figure:
    """One figure of the report.

    Attributes
    ----------
    section : str
        Heading the figure is listed under.
    file : str or None
        PNG file name relative to the report folder (None: drawing failed).
    caption : str
        One-line caption (or the reason the figure is missing).
    """

    section: str
    file: str | None
    caption: str


def _save(
    figures: list[Figure],
    out: Path,
    section: str,
    file: str,
    caption: str,
    draw: Callable[[], Any],
    *,
    debug: bool = False,
) -> None:
    import matplotlib.pyplot as plt

    try:
        display = draw()
        fig = display.figure_
        fig.savefig(out / file, dpi=80, bbox_inches="tight")
        plt.close(fig)
    except Exception as exc:
        plt.close("all")
        if debug:
            raise
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        print(f"skfer: warning: figure {file} not drawn ({reason})", file=sys.stderr)
        figures.append(Figure(section, None, f"{caption} — not drawn: {reason}"))
        return
    figures.append(Figure(section, file, caption))


def _one_face_per_class(y: np.ndarray, limit: int = 7) -> np.ndarray:
    idx = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    return np.array(idx[:limit], dtype=int)


def draw_figures(
    out: Path,
    models: dict[str, Any],
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    filter_steps: int = 100,
    debug: bool = False,
) -> list[Figure]:
    """Draw every figure of the report into ``out`` as PNG files.

    A figure that fails is listed with the reason instead of stopping the
    report (a warning is printed), unless ``debug``.

    Parameters
    ----------
    out : pathlib.Path
        The report folder.
    models : dict of str to estimator
        Fitted models by name (``"cnn"``, ``"dnn"``, ``"vgg"``, ``"resnet"``,
        ``"densenet"``, ``"ensemble"``).
    splits : dict of str to (X, y)
        Test splits by Usage name (saliency and layer outputs use the first).
    filter_steps : int, default=100
        Gradient-ascent steps of the filter images.
    debug : bool, default=False
        Raise instead of skipping a figure that fails.

    Returns
    -------
    figures : list of Figure
        In report order.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)

    from ..inspection import (
        ActivationDisplay,
        FERConfusionMatrixDisplay,
        FilterDisplay,
        SaliencyDisplay,
        TrainingCurvesDisplay,
    )

    figures: list[Figure] = []
    networks = {name: est for name, est in models.items() if name != "ensemble"}
    first_split = next(iter(splits))
    X0, y0 = splits[first_split]
    faces = _one_face_per_class(y0)

    def save(section: str, file: str, caption: str, draw: Callable[[], Any]) -> None:
        _save(figures, out, section, file, caption, draw, debug=debug)

    if networks:
        save(
            "Training curves",
            "curves.png",
            "Accuracy (top) and loss (bottom) per epoch, training vs validation.",
            lambda: TrainingCurvesDisplay.from_estimator(
                {name.upper(): est for name, est in networks.items()}
            ),
        )
    for name, est in models.items():
        for split, (X, y) in splits.items():
            save(
                "Confusion matrices",
                f"confusion_{name}_{split}.png",
                f"{name.upper()} on {split}: rows are true classes, normalised "
                "(recall on the diagonal).",
                lambda est=est, X=X, y=y: FERConfusionMatrixDisplay.from_estimator(
                    est, X, y
                ),
            )
    for name, est in networks.items():
        save(
            "Saliency",
            f"saliency_{name}.png",
            f"{name.upper()}: one {first_split} face per class, its gradient "
            "saliency for the true class, and the face masked to its most "
            "salient quarter.",
            lambda est=est: SaliencyDisplay.from_estimator(
                est, X0[faces], target=y0[faces]
            ),
        )
    for name, est in networks.items():
        what = "first hidden layer" if name == "dnn" else "last convolution"
        save(
            "Filters",
            f"filters_{name}.png",
            f"{name.upper()}: images that most excite 16 units of the {what} "
            f"(gradient ascent, {filter_steps} steps).",
            lambda est=est: FilterDisplay.from_estimator(
                est, filters=16, steps=filter_steps, random_state=0
            ),
        )
    if "cnn" in networks:
        save(
            "Layer outputs",
            "activations_cnn.png",
            f"CNN: the first convolution's feature maps for the first {first_split} "
            "face (dark = strong).",
            lambda: ActivationDisplay.from_estimator(networks["cnn"], X0[faces[0]]),
        )
    return figures


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
thead th { background: #f0f0f0; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.95em; }
.note { background: #fff3cd; padding: 0.5em 1em; }
"""

# sets <body data-images-loaded="n/m"> once the page has loaded: n images
# decoded out of m (a headless browser checks it with --dump-dom)
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
"""


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "&ndash;" if value is None else format(value, spec)


def write_index(out: Path, metrics: dict[str, Any], figures: list[Figure]) -> Path:
    """Write ``out/index.html``: the scores table, then the figures.

    Parameters
    ----------
    out : pathlib.Path
        The report folder (figures already in it).
    metrics : dict
        The content of ``metrics.json``.
    figures : list of Figure
        From :func:`draw_figures`.

    Returns
    -------
    path : pathlib.Path
        The written ``index.html``.
    """
    esc = html.escape
    rows = []
    for name, model in metrics["models"].items():
        seconds = model.get("training_seconds")
        for split, s in model["scores"].items():
            rows.append(
                "<tr>"
                f"<td>{esc(name.upper())}</td><td>{esc(split)}</td>"
                f"<td>{s['n_samples']}</td><td><b>{_fmt(s['accuracy'])}</b></td>"
                f"<td>{_fmt(s['balanced_accuracy'])}</td><td>{_fmt(s['macro_f1'])}</td>"
                f"<td>{_fmt(s['recall_disgust'])}</td><td>{_fmt(s['recall_fear'])}</td>"
                f"<td>{_fmt(seconds, '.1f')}</td>"
                f'<td><a href="{esc(model["file"])}">{esc(model["file"])}</a></td>'
                "</tr>"
            )
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in metrics.get("notes", []))
    body = []
    section = None
    for fig in figures:
        if fig.section != section:
            section = fig.section
            body.append(f"<h2>{esc(section)}</h2>")
        if fig.file is None:
            body.append(f'<p class="note">{esc(fig.caption)}</p>')
        else:
            body.append(
                f'<figure><img src="{esc(fig.file)}" alt="{esc(fig.caption)}">'
                f"<figcaption>{esc(fig.caption)}</figcaption></figure>"
            )
    data = metrics["data"]
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>skfer report</title>
<style>{_CSS}</style>
<script>{_SCRIPT}</script>
</head>
<body>
<h1>skfer report</h1>
<p>Data: {esc(data["source"])}; {data["n_train"]} training faces.
Seed {metrics["seed"]}; skfer {esc(str(metrics["versions"].get("skfer")))}.
Scores, seeds and versions: <a href="metrics.json">metrics.json</a>.</p>
{notes}
<h2>Models</h2>
<table>
<thead><tr><th>model</th><th>split</th><th>faces</th><th>accuracy</th>
<th>balanced accuracy</th><th>macro-F1</th><th>recall Disgust</th>
<th>recall Fear</th><th>training s</th><th>model file</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{chr(10).join(body)}
</body>
</html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
