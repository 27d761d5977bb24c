"""Does the study's CNN recipe leave the class prior in its first epochs?

A plain-Keras check, independent of skfer's classifiers: the study's CNN
(``benchmarks/_common.py``), Adam 1e-3, batch 128, categorical cross-entropy,
trained one epoch at a time on all Training faces (shuffled once, seeded),
with the PublicTest accuracy after each epoch. A network that predicts only
the majority class (Happy) scores the class prior, 0.2606 on the shared
file's PublicTest. Used to read ``accuracy.py --recipe study-cnn``
and ``bf16_tradeoff.py`` results, whose short runs stayed at that prior.

Run from the repository root (~90 s per epoch on 2 quiet cores)::

    .venv/bin/python benchmarks/early_epochs.py --epochs 3

Writes ``benchmarks/results/early_epochs.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    RESULTS_DIR,
    load_training_subset,
    loadavg,
    machine,
    study_cnn,
    study_inputs,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        X, y = load_training_subset(None)
        X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    except FileNotFoundError as exc:
        print(f"early_epochs: cannot run: {exc}", file=sys.stderr)
        return 2
    import keras
    import numpy as np

    perm = np.random.RandomState(args.seed).permutation(len(y))
    Xf, Y = study_inputs(X[perm], "cnn"), keras.utils.to_categorical(y[perm], 7)
    Xp = study_inputs(X_pub, "cnn")
    prior = float(np.bincount(y_pub, minlength=7).max() / len(y_pub))
    model = study_cnn(seed=args.seed)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    rows = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        hist = model.fit(Xf, Y, batch_size=128, epochs=1, verbose=0)
        proba = model.predict(Xp, batch_size=256, verbose=0)
        acc = float(np.mean(proba.argmax(1) == y_pub))
        rows.append(
            {
                "epoch": epoch,
                "loss": float(hist.history["loss"][0]),
                "accuracy": float(hist.history["accuracy"][0]),
                "public_test_accuracy": acc,
                "seconds": round(time.perf_counter() - t0, 1),
                "load_1min": loadavg()[0],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    out = {
        "script": "benchmarks/early_epochs.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "public_test_majority_class_accuracy": prior,
        "epochs": rows,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "early_epochs.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
