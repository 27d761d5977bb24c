"""Train, evaluate and write the browsable report (``skfer report``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ._html import draw_figures, write_index
from ._metrics import library_versions, score_model
from ._training import (
    NETWORK_NAMES,
    fit_with_progress,
    load_splits,
    make_ensemble,
    make_estimator,
    parse_models,
)

__all__ = ["check_output_folder", "write_report"]


def check_output_folder(out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create the report folder, refusing one that already holds files.

    Parameters
    ----------
    out : str or path-like
        The folder.
    force : bool, default=False
        Write into a non-empty folder anyway (files of the same name are
        replaced, others are left alone).

    Returns
    -------
    out : pathlib.Path
        The folder, created if needed.

    Raises
    ------
    ValueError
        If ``out`` is a file, or a non-empty folder and not ``force``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {str(out)!r} is a file, not a folder.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(
            f"output folder {str(out)!r} already holds files; choose an empty or "
            "new folder, or pass --force to write into it."
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_report(
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    models: str | list[str] = "cnn,dnn,ensemble",
    epochs: int | None = None,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    filter_steps: int = 100,
    force: bool = False,
    quiet: bool = False,
    debug: bool = False,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Train the models, evaluate them and write a self-contained report.

    Writes ``index.html``, one PNG per figure, ``metrics.json`` and one
    ``<model>.joblib`` per model (:func:`skfer.save_model`) into ``out``.
    Ctrl-C during training keeps the best weights so far of the model being
    trained, skips the models not trained yet and still writes the report.

    Parameters
    ----------
    out : str or path-like
        Report folder: new or empty (see ``force``).
    data : str, path-like or None, default=None
        FER2013 file or folder; None: synthetic faces
        (:func:`~skfer.datasets.make_expressions`) and small networks.
    models : str or list of str, default="cnn,dnn,ensemble"
        Models to train (``"cnn"``, ``"dnn"``, ``"vgg"``, ``"resnet"``,
        ``"densenet"``, ``"ensemble"``);
        ``"ensemble"`` soft-votes the fitted networks (the CNN and the DNN
        are trained if fewer than two are requested).
    epochs : int, default=None
        Maximum epochs per network (None: 10 synthetic; on FER2013 the
        classifiers' defaults, 30 for the study's networks, 60 for the VGG,
        the ResNet and the DenseNet).
    seed : int, default=0
        Seeds networks, synthetic faces and subsets.
    n_train, n_test : int, default=None
        Sizes of the training set and of each test split (see
        :func:`load_splits`).
    filter_steps : int, default=100
        Gradient-ascent steps of the filter figures.
    force : bool, default=False
        Write into a folder that already holds files.
    quiet : bool, default=False
        No progress lines.
    debug : bool, default=False
        Raise when a figure fails instead of listing it as missing.
    stream : file-like, default=None
        Where progress goes (default: ``sys.stdout``).

    Returns
    -------
    metrics : dict
        The content of ``metrics.json``.
    """
    from ..persistence import save_model

    stream = sys.stdout if stream is None else stream
    names = parse_models(models)
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be >= 1. Got {epochs} instead.")
    # everything that can be refused is checked before the long steps
    splits = load_splits(data, n_train=n_train, n_test=n_test, seed=seed)
    out = check_output_folder(out, force=force)
    X, y = splits.pop("Training")

    def say(text: str) -> None:
        if not quiet:
            print(text, file=stream, flush=True)

    networks = [n for n in NETWORK_NAMES if n in names]
    if "ensemble" in names and len(networks) < 2:
        networks = ["cnn", "dnn"]
    source = "synthetic faces (make_expressions)" if data is None else str(data)
    say(f"skfer report: {', '.join(names)} on {source}, {len(y)} training faces")
    fitted: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for name in networks:
        est = make_estimator(name, synthetic=data is None, epochs=epochs, seed=seed)
        result = fit_with_progress(est, X, y, label=name, quiet=quiet, stream=stream)
        fitted[name] = est
        records[name] = {
            "training_seconds": round(result.seconds, 2),
            "epochs": result.epochs,
            "interrupted": result.interrupted,
        }
        if result.interrupted:
            note = (
                f"Training of {name.upper()} was interrupted (Ctrl-C) after "
                f"{result.epochs} epochs; the model keeps the weights of its best "
                f"epoch ({result.best_epoch}). Models not trained yet are skipped."
            )
            notes.append(note)
            print(f"skfer: {note}", file=sys.stderr)
            break
    if "ensemble" in names and len(fitted) >= 2:
        fitted["ensemble"] = make_ensemble(fitted, X, y)
        records["ensemble"] = {
            "training_seconds": sum(records[n]["training_seconds"] for n in networks),
            "members": list(networks),
        }
    metrics: dict[str, Any] = {
        "data": {
            "source": source,
            "n_train": len(y),
            "splits": {split: len(ys) for split, (_, ys) in splits.items()},
        },
        "seed": seed,
        "seeds": {"networks": seed, "synthetic_train": seed, "synthetic_test": seed + 1}
        if data is None
        else {"networks": seed, "subsets": seed},
        "versions": library_versions(),
        "notes": notes,
        "models": {},
    }
    for name, est in fitted.items():
        file = f"{name}.joblib"
        save_model(est, out / file)
        say(f"saved {out / file}")
        scores = {split: score_model(est, Xs, ys) for split, (Xs, ys) in splits.items()}
        for split, s in scores.items():
            say(
                f"{name}: {split} accuracy {s['accuracy']:.3f}, balanced "
                f"{s['balanced_accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}"
            )
        metrics["models"][name] = {
            "file": file,
            "estimator": type(est).__name__,
            **records[name],
            "scores": scores,
        }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    say("drawing figures...")
    figures = draw_figures(out, fitted, splits, filter_steps=filter_steps, debug=debug)
    index = write_index(out, metrics, figures)
    say(f"report: {index}")
    return metrics
