"""Information only: float32 against Keras's ``mixed_bfloat16`` for the study's CNN.

skfer trains and predicts in float32 (nothing here changes that). This script
measures what bfloat16 compute (AMX / AVX512-BF16 on CPUs that have them)
would trade: the same ``FERCNNClassifier`` recipe, same seed and data, once
under the default float32 policy and once under
``keras.mixed_precision.set_global_policy("mixed_bfloat16")`` (variables and
the softmax stay float32), each in a fresh process; it reports steady-state
training images/s, CPU ms per image, ``predict_proba`` images/s and the
PublicTest accuracy reached after ``--epochs`` epochs on ``--n`` Training faces
(a short budget: the accuracy is a sanity check of the trade-off, not the
study's final accuracy).

Run from the repository root::

    .venv/bin/python benchmarks/bf16_tradeoff.py            # ~10 min on 2 cores
    .venv/bin/python benchmarks/bf16_tradeoff.py --n 4096 --epochs 2

Writes ``benchmarks/results/bf16_tradeoff.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    REPO,
    RESULTS_DIR,
    load_training_subset,
    loadavg,
    machine,
    make_step_timer,
)


def _child(policy: str, n: int, epochs: int) -> dict:
    import keras
    import numpy as np

    from skfer import FERCNNClassifier

    class Classifier(FERCNNClassifier):
        # the estimator's fit clears Keras's session, which resets the global
        # dtype policy: set it again right before the network is built
        def _build_network(self, meta, seed):
            keras.mixed_precision.set_global_policy(policy)
            return super()._build_network(meta, seed)

    X, y = load_training_subset(n, seed=0)
    X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    timer = make_step_timer(warmup_steps=3)
    load = loadavg()
    t0 = time.perf_counter()
    clf = Classifier(
        epochs=epochs, patience=None, random_state=0, callbacks=[timer]
    ).fit(X, y)
    fit_seconds = time.perf_counter() - t0
    clf.predict_proba(X_pub[:512])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    proba = clf.predict_proba(X_pub)
    pred_wall, pred_cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float(np.mean(clf.classes_[proba.argmax(1)] == y_pub))
    train = timer.summary(clf.batch_size)
    return {
        "policy": policy,
        "train_images_per_s": train["images_per_s"],
        "train_cpu_ms_per_image": train["cpu_ms_per_image"],
        "fit_seconds": fit_seconds,
        "predict_images_per_s": len(X_pub) / pred_wall,
        "predict_cpu_ms_per_image": 1000 * pred_cpu / len(X_pub),
        "public_test_accuracy": acc,
        "val_accuracy_last": clf.history_.get("val_accuracy", [None])[-1],
        "load_before": load,
        "load_after": loadavg(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n", type=int, default=None, help="Training faces (default: all)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.n or None, args.epochs)))
        return 0
    rows = []
    for policy in ("float32", "mixed_bfloat16"):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                policy,
                "--n",
                str(args.n or 0),
                "--epochs",
                str(args.epochs),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        if proc.returncode != 0:
            print(
                f"bf16_tradeoff: {policy} failed:\n{proc.stderr[-3000:]}",
                file=sys.stderr,
            )
            return 2
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    f32, bf16 = rows
    out = {
        "script": "benchmarks/bf16_tradeoff.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "n_train": args.n,
        "epochs": args.epochs,
        "results": rows,
    }
    lines = [
        "| policy | train images/s | train CPU ms/image | predict images/s "
        "| predict CPU ms/image | PublicTest accuracy | load (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['policy']} | {r['train_images_per_s']:.0f} "
            f"| {r['train_cpu_ms_per_image']:.2f} | {r['predict_images_per_s']:.0f} "
            f"| {r['predict_cpu_ms_per_image']:.2f} | {r['public_test_accuracy']:.4f} "
            f"| {r['load_before'][0]} |"
        )
    train_gain = f32["train_cpu_ms_per_image"] / bf16["train_cpu_ms_per_image"]
    predict_gain = f32["predict_cpu_ms_per_image"] / bf16["predict_cpu_ms_per_image"]
    lines.append(
        f"\nbf16 / float32: training CPU time {train_gain:.2f}x less, prediction "
        f"CPU time {predict_gain:.2f}x less; {args.n or 'all'} faces, "
        f"{args.epochs} epochs."
    )
    print("\n".join(lines))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "bf16_tradeoff.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
