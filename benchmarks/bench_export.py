"""Inference throughput of one fitted CNN through Keras, onnxruntime and TFLite.

Usage::

    python benchmarks/bench_export.py [--quick]

Trains the study's CNN briefly on FER2013 faces (weights do not matter for
speed), exports it with :mod:`skfer.export`, and measures images/s of
``predict_proba`` (skfer), ``model.predict`` (plain Keras), onnxruntime and
TFLite (float32, float16, int8), interleaved in the same run, on 2 cores.
Also reports the PublicTest accuracy of each variant on the faces used.
Writes ``benchmarks/results/export.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SKFER_FER2013", HERE.parent.parent / "shared/data/fer2013"))


def _rate(fn, X, repeats):
    fn(X[:64])  # warm-up: tracing, allocation
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn(X)
        best = max(best, len(X) / (time.perf_counter() - start))
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    try:
        from skfer import FERCNNClassifier
        from skfer.datasets import load_fer2013
        from skfer.deploy import ONNXModel, TFLiteModel
        from skfer.export import export_onnx, export_tflite
    except ImportError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 1
    train = load_fer2013(DATA, usage="Training")
    test = load_fer2013(DATA, usage="PublicTest")
    rng = np.random.RandomState(0)
    idx = rng.choice(len(train.target), 2000 if args.quick else 6000, replace=False)
    clf = FERCNNClassifier(epochs=1 if args.quick else 3, patience=None, random_state=0)
    clf.fit(train.data[idx], train.target[idx])
    X, y = test.data, test.target
    repeats = 2 if args.quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runners = {
            "skfer predict_proba (Keras, compiled)": clf.predict_proba,
            "Keras model.predict (float32 input)": lambda X_: clf.model_.predict(
                X_.astype(np.float32), batch_size=256, verbose=0
            ),
            "onnxruntime": ONNXModel(
                export_onnx(clf, Path(tmp) / "m.onnx")
            ).predict_proba,
        }
        for q in (None, "float16", "int8"):
            path = export_tflite(
                clf, Path(tmp) / f"{q}.tflite", quantize=q, X_calibration=X[:200]
            )
            runners[f"TFLite {q or 'float32'}"] = TFLiteModel(path).predict_proba
        for name, fn in runners.items():
            proba = fn(X)
            rows.append(
                {
                    "runtime": name,
                    "images_per_s": _rate(fn, X, repeats),
                    "public_test_accuracy": float(np.mean(proba.argmax(1) == y)),
                    "load": os.getloadavg()[0],
                }
            )
    print("| runtime | images/s | PublicTest accuracy | load |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['runtime']} | {r['images_per_s']:.0f} | "
            f"{r['public_test_accuracy']:.3f} | {r['load']:.2f} |"
        )
    out = HERE / "results" / "export.json"
    out.write_text(
        json.dumps(
            {
                "script": "benchmarks/bench_export.py"
                + (" --quick" if args.quick else ""),
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "n_test": len(X),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
