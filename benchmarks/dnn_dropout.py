"""Does the study's DNN learn at all, and how does that depend on its dropout?

Trains ``FERDNNClassifier`` (Dense 1024-1024-768-768-512-512, dropout after
every hidden layer) on a seeded, class-mixed subset of FER2013's Training
faces for a fixed number of epochs (no early stopping, no validation split)
with ``dropout`` 0.5 (the default, as in the study's recipe), 0.2 and 0, and
records the training loss of every epoch and the PublicTest accuracy at the
end, in ``benchmarks/results/dnn_dropout.json``. The class prior's entropy
on Training is 1.81 nats: a loss that stays there is a network that learned
nothing but the class frequencies. A diagnosis, not a tuning: nothing is
chosen on PublicTest here::

    .venv/bin/python benchmarks/dnn_dropout.py [--n 8000] [--epochs 8]

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

from _common import RESULTS_DIR, load_training_subset, loadavg, machine  # noqa: E402

DROPOUTS = (0.5, 0.2, 0.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8000, help="Training faces")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "dnn_dropout.json")
    args = parser.parse_args(argv)
    try:
        X, y = load_training_subset(args.n, seed=args.seed)
        X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    except FileNotFoundError as exc:
        print(f"dnn_dropout: cannot run: {exc}", file=sys.stderr)
        return 2
    from skfer import FERDNNClassifier

    prior = np.bincount(y, minlength=7) / len(y)
    rows = []
    for dropout in DROPOUTS:
        t0 = time.perf_counter()
        clf = FERDNNClassifier(
            dropout=dropout,
            epochs=args.epochs,
            patience=None,
            validation_fraction=0.0,
            random_state=args.seed,
        ).fit(X, y)
        row = {
            "dropout": dropout,
            "train_loss": [round(v, 4) for v in clf.history_["loss"]],
            "public_test_accuracy": round(float(clf.score(X_pub, y_pub)), 4),
            "seconds": round(time.perf_counter() - t0, 1),
            "load_1min": loadavg()[0],
        }
        rows.append(row)
        print(
            f"dropout {dropout}: loss {row['train_loss'][0]} -> "
            f"{row['train_loss'][-1]}, PublicTest {row['public_test_accuracy']}",
            flush=True,
        )
    result = {
        "command": "benchmarks/dnn_dropout.py " + " ".join(sys.argv[1:] or argv or []),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "n_train_faces": len(y),
        "epochs": args.epochs,
        "seed": args.seed,
        "class_prior_entropy": round(float(-(prior * np.log(prior)).sum()), 4),
        "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
