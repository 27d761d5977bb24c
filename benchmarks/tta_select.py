"""Choose the test-time augmentation on held-out Training faces, not on PublicTest.

A run of ``accuracy.py --holdout FRACTION`` never saw the faces its split
held out of Training. This script scores that network on them under each
candidate set of views (:data:`CANDIDATES`, fixed before the run; each
averages the softmax of its views) and applies :func:`choose`'s rule, also
fixed before: a candidate replaces the current ``"flip+shift"`` only if it
is right on more than :data:`MARGIN` more held-out faces; of those, the one
right on most wins, ties to fewer views. PublicTest is not read. Each view's
probabilities are computed once (the union of the candidates' views) and
kept beside the run's checkpoint (``holdout_views.npz``, not committed); the
accuracies, the rule and the choice go to
``benchmarks/results/tta_select_<run>.json``::

    .venv/bin/python benchmarks/tta_select.py --run vgg-f32-e70-s15-holdout10

Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    REPO,
    RESULTS_DIR,
    RUNS_DIR,
    holdout_split,
    load_fitted,
    load_training_subset,
    machine,
)
from accuracy import OUT_DIR, _write_json  # noqa: E402

from skfer._recipe import tta_views, view_indices  # noqa: E402

#: The mode a candidate must beat (the one the shipped network's numbers use).
BASE = "flip+shift"
#: How many more held-out faces a candidate must get right to replace BASE.
MARGIN = 2


def _mirrored(shifts) -> tuple[tuple[bool, int, int], ...]:
    """Each ``(dy, dx)`` move of ``shifts``, plain and mirrored."""
    return tuple((m, dy, dx) for dy, dx in shifts for m in (False, True))


def _cross(step: int) -> tuple[tuple[int, int], ...]:
    """The face and its moves by ``step`` pixels up, down, left and right."""
    return ((0, 0), (step, 0), (-step, 0), (0, step), (0, -step))


#: name -> the ``(mirrored, row move, column move)`` views it averages.
CANDIDATES: dict[str, tuple[tuple[bool, int, int], ...]] = {
    "none": tta_views(False),
    "flip": tta_views("flip"),
    "flip+shift": tta_views("flip+shift"),
    "flip+shift1": _mirrored(_cross(1)),
    "flip+shift3": _mirrored(_cross(3)),
    "flip+shift4": _mirrored(_cross(4)),
    "flip+diag": _mirrored(((0, 0), (2, 2), (2, -2), (-2, 2), (-2, -2))),
    "flip+grid": _mirrored([(dy, dx) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]),
    "flip+shift1+2": _mirrored(_cross(1) + _cross(2)[1:]),
}


def tta_param(name: str):
    """The classifier's ``tta`` value for the candidate ``name``.

    ``"none"`` is False, the named modes of skfer keep their names, and the
    other candidates are their views (a list, which ``tta`` also takes).
    """
    if name not in CANDIDATES:
        raise ValueError(f"no TTA candidate {name!r}; choose from {list(CANDIDATES)}")
    if name == "none":
        return False
    if name in ("flip", "flip+shift"):
        return name
    return [list(view) for view in CANDIDATES[name]]


def choose(correct: dict, n_views: dict, *, base: str = BASE, margin: int = MARGIN):
    """The rule: ``base`` unless a candidate is right on more than ``margin`` more.

    ``correct`` maps each candidate to the number of held-out faces it gets
    right, ``n_views`` to its number of views. Of the candidates beating
    ``base`` by more than ``margin`` faces, the one right on most wins; ties
    go to fewer views, then to the earlier candidate.
    """
    better = [c for c in correct if correct[c] > correct[base] + margin]
    if not better:
        return base
    return min(better, key=lambda c: (-correct[c], n_views[c], list(correct).index(c)))


def view_probabilities(clf, X: np.ndarray, views) -> dict:
    """``{view: probabilities}`` of the fitted ``clf`` (no TTA) on each view of X."""
    images = np.asarray(X).reshape(len(X), 48, 48)
    clf.set_params(tta=False)
    out = {}
    for view in views:
        rows, cols = view_indices(*view)
        faces = images[:, rows[:, None], cols].reshape(len(X), -1)
        out[view] = clf.predict_proba(faces)
    return out


def score_candidates(probas: dict, y: np.ndarray, classes: np.ndarray) -> dict:
    """Per candidate: its views, held-out faces right, and accuracy."""
    result = {}
    for name, views in CANDIDATES.items():
        mean = np.mean([probas[v] for v in views], axis=0)
        right = int(np.sum(classes[mean.argmax(axis=1)] == y))
        result[name] = {
            "views": len(views),
            "correct": right,
            "accuracy": round(right / len(y), 4),
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--run",
        required=True,
        help="a run of accuracy.py --holdout: its name, or its results .json",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    by_file = args.run.endswith(".json")
    run_file = Path(args.run) if by_file else OUT_DIR / f"{args.run}.json"
    try:
        run = json.loads(run_file.read_text())
    except (OSError, ValueError) as exc:
        print(f"tta_select: cannot read the run's results {run_file}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    config = run.get("config", {})
    if not config.get("holdout") or run.get("final") is None:
        print(
            f"tta_select: {run_file} is not a finished run of accuracy.py --holdout",
            file=sys.stderr,
        )
        return 2
    name = run.get("name", run_file.stem)
    spec = str(REPO / run.get("model_file", "")) if by_file else args.run
    try:
        estimator, what, _ = load_fitted(spec)
        X, y = load_training_subset(config.get("n_train"), seed=config["seed"])
    except (FileNotFoundError, ValueError) as exc:
        print(f"tta_select: cannot run: {exc}", file=sys.stderr)
        return 2
    if hasattr(estimator, "steps"):
        print("tta_select: needs a vgg, resnet or densenet run", file=sys.stderr)
        return 2
    _, held = holdout_split(y, config["holdout"])
    X_held, y_held = X[held], y[held]

    views = sorted({v for vs in CANDIDATES.values() for v in vs})
    t0 = time.perf_counter()
    probas = view_probabilities(estimator, X_held, views)
    seconds = round(time.perf_counter() - t0, 1)
    # beside the run's saved model, wherever --checkpoint put it
    model_file = run.get("model_file")
    ckpt = (REPO / model_file).parent if model_file else RUNS_DIR / name
    if ckpt.is_dir():
        np.savez_compressed(
            ckpt / "holdout_views.npz",
            y=y_held,
            **{f"{int(m)}_{dy}_{dx}": p for (m, dy, dx), p in probas.items()},
        )
    scores = score_candidates(probas, y_held, np.asarray(estimator.classes_))
    chosen = choose(
        {c: s["correct"] for c, s in scores.items()},
        {c: s["views"] for c, s in scores.items()},
    )
    for cand, s in scores.items():
        mark = "  <- chosen" if cand == chosen else ""
        print(f"{cand:>14}: {s['views']:2d} views, {s['correct']} right, "
              f"{s['accuracy']:.4f}{mark}")  # fmt: skip
    state = {
        "name": f"tta_select_{name}",
        "description": f"test-time augmentation of {what}, chosen on the "
        f"{len(y_held)} Training faces its run held out (PublicTest not read)",
        "command": "benchmarks/tta_select.py " + " ".join(sys.argv[1:] or argv or []),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "run": name,
        "holdout": config["holdout"],
        "n_holdout_faces": len(y_held),
        "rule": f"replace {BASE!r} only with a candidate right on more than "
        f"{MARGIN} more held-out faces; of those the most right, ties to fewer views",
        "candidates": {
            cand: {"views_list": [list(v) for v in CANDIDATES[cand]], **s}
            for cand, s in scores.items()
        },
        "chosen": chosen,
        "predict_seconds": seconds,
    }
    out = args.out or RESULTS_DIR / f"tta_select_{name}.json"
    _write_json(out, state)
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
