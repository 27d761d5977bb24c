"""Where does inference time go? Prediction paths compared in one process.

All paths run the same network, a ``FERCNNClassifier`` /
``FERDNNClassifier`` fitted for one epoch on 256 faces (speed does not depend
on the weights), or the study's plain-Keras twin, on the same Training faces,
in one process, one after the other, round after round (so they share the
load of the machine):

- ``baseline``: the study's plain-Keras network, ``model.predict`` on
  ``X / 255`` float32 images with Keras's default batch size (32);
- ``model.predict, batch B``: the fitted estimator's network
  (``model_``), ``model.predict`` on the uint8 rows (skfer's path before
  ``FERClassifierBase._forward``, with B = 256);
- ``compiled call, batch B``: ``model(x, training=False)`` in a
  ``tf.function`` on uint8 batches of B rows, cast to float32 in the graph
  (skfer's path now, B = max(batch_size, 256));
- ``predict_proba``: the fitted estimator itself.

Reports wall images/s and process CPU ms per image (median over rounds).

Run from the repository root::

    .venv/bin/python benchmarks/predict_paths.py            # CNN
    .venv/bin/python benchmarks/predict_paths.py --net dnn

Writes ``benchmarks/results/predict_paths_<net>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    study_dnn,
    study_inputs,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--net", choices=["cnn", "dnn"], default="cnn")
    parser.add_argument("--n", type=int, default=2048, help="faces per prediction")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from skfer import FERCNNClassifier, FERDNNClassifier

    try:
        X, y = load_training_subset(max(args.n, 256), seed=0)
    except FileNotFoundError as exc:
        print(f"predict_paths: cannot run: {exc}", file=sys.stderr)
        return 2
    X = X[: args.n]
    base = (study_cnn if args.net == "cnn" else study_dnn)(seed=0)
    Xf = study_inputs(X, args.net)
    cls = FERCNNClassifier if args.net == "cnn" else FERDNNClassifier
    est = cls(epochs=1, validation_fraction=0.0, random_state=0).fit(X[:256], y[:256])
    net = est.model_  # skfer's network, compiled as skfer compiles it
    fwd = tf.function(
        lambda x: net(tf.cast(x, tf.float32), training=False), reduce_retracing=True
    )

    def call(b):
        return lambda: np.concatenate(
            [fwd(X[i : i + b]).numpy() for i in range(0, len(X), b)]
        )

    paths = {
        "baseline: study net, model.predict float32 (batch 32)": lambda: base.predict(
            Xf, verbose=0
        ),
        "model.predict uint8, batch 256 (skfer before)": lambda: net.predict(
            X, batch_size=256, verbose=0
        ),
        "compiled call, batch 32": call(32),
        "compiled call, batch 64": call(64),
        "compiled call, batch 128": call(128),
        "compiled call, batch 256 (skfer now)": call(256),
        "compiled call, batch 1024": call(1024),
        "skfer predict_proba": lambda: est.predict_proba(X),
    }
    for fn in paths.values():  # warm-up: tracing, first allocations
        fn()
    rows = {k: [] for k in paths}
    loads = []
    for _ in range(args.rounds):
        loads.append(loadavg()[0])
        for key, fn in paths.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows[key].append((len(X) / wall, 1000 * cpu / len(X)))
    base_key = next(iter(paths))
    out = {
        "script": "benchmarks/predict_paths.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "net": args.net,
        "faces": len(X),
        "load_1min_rounds": loads,
        "paths": {},
    }
    lines = [
        f"**{args.net.upper()} prediction paths** ({len(X)} faces, {args.rounds} "
        f"rounds, load {loads})",
        "",
        "| path | images/s (median) | ratio to baseline (median per round) "
        "| CPU ms/image |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, vals in rows.items():
        ratio = statistics.median(
            v[0] / b[0] for v, b in zip(vals, rows[base_key], strict=True)
        )
        rate = statistics.median(v[0] for v in vals)
        cpu = statistics.median(v[1] for v in vals)
        out["paths"][key] = {
            "images_per_s": rate,
            "images_per_s_rounds": [round(v[0], 1) for v in vals],
            "ratio_to_baseline": ratio,
            "cpu_ms_per_image": cpu,
        }
        lines.append(f"| {key} | {rate:.0f} | {ratio:.2f}x | {cpu:.3f} |")
    print("\n".join(lines))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"predict_paths_{args.net}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
