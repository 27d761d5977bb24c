"""Soft-voting ensembles of networks trained by ``benchmarks/accuracy.py``.

Loads the fitted estimators of the given runs (``runs/accuracy/<run>/
model.joblib``), averages their PublicTest class probabilities with equal
weights (``sklearn.ensemble.VotingClassifier(voting="soft")`` over
``sklearn.frozen.FrozenEstimator`` members; nothing is fitted or chosen on
PublicTest) and records the ensemble's and
each member's accuracy, the gain over the best member, and per-class recall,
in ``benchmarks/results/accuracy/<name>.json``::

    .venv/bin/python benchmarks/ensemble.py --runs vgg-bf16-e70-s0 study-cnn-float32-s0

Stacking is not offered here: its meta-learner would need out-of-fold
predictions of every member on Training, i.e. training each network k times.
Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import REPO, RESULTS_DIR, load_training_subset, machine  # noqa: E402
from accuracy import _final_metrics, _write_json  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    files = [REPO / "runs" / "accuracy" / run / "model.joblib" for run in args.runs]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"ensemble: cannot run: missing {missing}", file=sys.stderr)
        return 2

    from skfer import load_model
    from skfer.report._training import make_ensemble

    X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    members = [load_model(f) for f in files]
    # VotingClassifier(voting="soft") over FrozenEstimator members: "fitting"
    # it only reads the class labels of these 140 Training faces; no member is refitted
    X_few, y_few = load_training_subset(7 * 20, seed=0)
    voting = make_ensemble(dict(zip(args.runs, members, strict=True)), X_few, y_few)
    t0 = time.time()
    final = _final_metrics(voting, X_pub, y_pub)
    member_acc = {
        run: round(float((m.predict(X_pub) == y_pub).mean()), 4)
        for run, m in zip(args.runs, members, strict=True)
    }
    final["members_public_test_accuracy"] = member_acc
    final["gain_over_best_member"] = round(
        final["public_test_accuracy"] - max(member_acc.values()), 4
    )
    name = args.name or "ensemble-" + "+".join(args.runs)
    train_seconds = 0.0
    for run in args.runs:
        result = RESULTS_DIR / "accuracy" / f"{run}.json"
        if result.is_file():
            train_seconds += json.loads(result.read_text()).get("train_seconds", 0.0)
    state = {
        "name": name,
        "description": "soft voting: " + ", ".join(args.runs),
        "command": "benchmarks/ensemble.py " + " ".join(sys.argv[1:] or argv or []),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "config": {"recipe": "ensemble", "members": args.runs},
        "n_public_test_faces": len(y_pub),
        "train_seconds": train_seconds,
        "predict_seconds": round(time.time() - t0, 1),
        "final": {**final, "epochs_run": None},
        "epochs": [],
    }
    out = RESULTS_DIR / "accuracy" / f"{name}.json"
    _write_json(out, state)
    print(json.dumps({"name": name, **final}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
