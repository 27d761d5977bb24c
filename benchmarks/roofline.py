"""How close to this CPU's float32 ceiling does the study's CNN already run?

Issue #6 asks for float32 training ≥ 1.5x and inference ≥ 2x the plain Keras
baseline, same architecture. That is only possible if the baseline leaves at
least that much of the machine unused. This script measures, in one process:

- the network's arithmetic: multiply-adds per face of every ``Conv2D`` and
  ``Dense`` layer of the study's CNN (``_common.study_cnn``), counted from
  the layer shapes; a training step costs the forward pass, the weight
  gradients and the input gradients (all layers but the first), i.e.
  ``2 * (3 * M - M_first)`` FLOP per face;
- the **ceiling**: float32 FLOP per second of TensorFlow's own kernels on
  shapes they run at their best, on this machine, now: a 2048 x 2048 matmul,
  and each of the CNN's convolutions alone (forward, batch 256); the
  ceiling is the best of these rates (generous on purpose: no whole network
  runs every layer at its best layer's rate);
- the **baseline**, measured the way ``run.py`` measures it: plain Keras
  ``model.fit`` on ``X / 255`` float32 (batch 128) and ``model.predict``
  (Keras's default batch 32); and skfer's prediction path (a compiled
  ``model(x, training=False)`` on batches of 256).

Everything is reported both per wall second (both cores) and per process
CPU second (one core's worth, which moves much less with the machine's load).
The largest speedup any float32 implementation of the same arithmetic could
give is ``ceiling / baseline``; the script prints it next to the targets.

Run from the repository root (a few minutes; on a quiet machine)::

    .venv/bin/python benchmarks/roofline.py [--n 2048] [--rounds 3]

Writes ``benchmarks/results/roofline.json`` and prints a table. Exits
non-zero only when it cannot run.
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
    make_step_timer,
    study_cnn,
    study_inputs,
)


def multiply_adds(model) -> list[dict]:
    """Multiply-adds per face of each ``Conv2D`` / ``Dense`` layer of ``model``."""
    from keras import layers

    rows = []
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            c_in = int(layer.input.shape[-1])
            _, h, w, c_out = (
                int(d) if d is not None else 1 for d in layer.output.shape
            )
            macs = h * w * kh * kw * c_in * c_out
            shape = f"{tuple(int(d) for d in layer.input.shape[1:])} -> {(h, w, c_out)}"
        elif isinstance(layer, layers.Dense):
            c_in = int(layer.input.shape[-1])
            macs = c_in * layer.units
            shape = f"{c_in} -> {layer.units}"
        else:
            continue
        rows.append(
            {
                "layer": layer.name,
                "kind": type(layer).__name__,
                "shape": shape,
                "multiply_adds": macs,
            }
        )
    return rows


def train_flop_per_face(rows: list[dict]) -> int:
    """FLOP of one training step per face: forward, weight and input gradients."""
    total = sum(r["multiply_adds"] for r in rows)
    return 2 * (3 * total - rows[0]["multiply_adds"])


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(wall, cpu) seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _rate(flop: float, wall: float, cpu: float) -> dict:
    return {
        "gflop_per_wall_s": round(flop / wall / 1e9, 1),
        "gflop_per_cpu_s": round(flop / cpu / 1e9, 1),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
    }


def measure(n: int, rounds: int) -> dict:
    import numpy as np
    import tensorflow as tf

    model = study_cnn()
    rows = multiply_adds(model)
    fwd_flop = 2 * sum(r["multiply_adds"] for r in rows)
    train_flop = train_flop_per_face(rows)

    X, y = load_training_subset(n, seed=0)
    Xf = study_inputs(X, "cnn")
    Y = np.eye(7, dtype=np.float32)[y]

    results: dict[str, list[dict]] = {}

    def record(key, flop, wall, cpu):
        results.setdefault(key, []).append(_rate(flop, wall, cpu))

    size = 2048
    a = tf.random.stateless_normal((size, size), seed=(0, 1))
    b = tf.random.stateless_normal((size, size), seed=(0, 2))
    mm = tf.function(lambda: tf.linalg.matmul(a, b))

    def matmul():
        mm().numpy()

    # each convolution of the network alone, forward, batch 256, on inputs of its shape
    convs = []
    for layer, row in zip(
        (lay for lay in model.layers if type(lay).__name__ in ("Conv2D", "Dense")),
        rows,
        strict=True,
    ):
        if row["kind"] != "Conv2D":
            continue
        x = tf.random.stateless_uniform((256, *layer.input.shape[1:]), seed=(1, 0))
        fn = tf.function(lambda x=x, layer=layer: layer.convolution_op(x, layer.kernel))
        convs.append((row, x, fn))

    batch = 256
    xs = [tf.constant(Xf[i : i + batch]) for i in range(0, n, batch)]
    forward = tf.function(lambda x: model(x, training=False))

    def compiled_call():
        for x in xs:
            forward(x).numpy()

    model.compile(optimizer="adam", loss="categorical_crossentropy")

    for r in range(rounds):
        print(f"round {r + 1}/{rounds} (load {loadavg()[0]})", flush=True)
        wall, cpu = _timed(matmul, 10)
        record("matmul 2048", 10 * 2 * size**3, wall, cpu)
        conv_wall = conv_cpu = conv_flop = 0.0
        for row, _, fn in convs:
            wall, cpu = _timed(lambda fn=fn: fn().numpy(), 5)
            record(
                f"{row['layer']} alone {row['shape']}",
                5 * 256 * 2 * row["multiply_adds"],
                wall,
                cpu,
            )
            conv_wall += wall
            conv_cpu += cpu
            conv_flop += 5 * 256 * 2 * row["multiply_adds"]
        record("all convolutions alone, in sequence", conv_flop, conv_wall, conv_cpu)

        wall, cpu = _timed(lambda: model.predict(Xf, verbose=0), 1)
        record("baseline model.predict, batch 32", n * fwd_flop, wall, cpu)
        wall, cpu = _timed(compiled_call, 1)
        record("skfer path: compiled call, batch 256", n * fwd_flop, wall, cpu)

        timer = make_step_timer()
        model.fit(Xf, Y, batch_size=128, epochs=1, verbose=0, callbacks=[timer])
        s = timer.summary(128)
        images = s["steps"] * 128
        record(
            "baseline model.fit, batch 128",
            images * train_flop,
            s["seconds"],
            s["cpu_ms_per_image"] * images / 1000.0,
        )

    summary = {
        key: {
            "gflop_per_wall_s": statistics.median(v["gflop_per_wall_s"] for v in vals),
            "gflop_per_cpu_s": statistics.median(v["gflop_per_cpu_s"] for v in vals),
            "rounds": vals,
        }
        for key, vals in results.items()
    }
    # generous on purpose: the best rate any of TensorFlow's kernels reached here
    ceiling = max(
        m["gflop_per_cpu_s"]
        for key, m in summary.items()
        if key.startswith(("matmul", "conv2d"))
    )
    fit = summary["baseline model.fit, batch 128"]["gflop_per_cpu_s"]
    pred = summary["baseline model.predict, batch 32"]["gflop_per_cpu_s"]
    return {
        "layers": rows,
        "forward_flop_per_face": fwd_flop,
        "train_flop_per_face": train_flop,
        "n": n,
        "rounds_run": rounds,
        "measurements": summary,
        "ceiling_gflop_per_cpu_s": ceiling,
        "max_training_speedup": round(ceiling / fit, 2),
        "max_inference_speedup": round(ceiling / pred, 2),
        "targets": {"training": 1.5, "inference": 2.0},
        "tensorflow": tf.__version__,
    }


def table(result: dict) -> str:
    lines = [
        "| measurement | GFLOP per CPU second | GFLOP per wall second |",
        "| --- | ---: | ---: |",
    ]
    for key, m in result["measurements"].items():
        lines.append(
            f"| {key} | {m['gflop_per_cpu_s']:.1f} | {m['gflop_per_wall_s']:.1f} |"
        )
    lines += [
        "",
        f"forward {result['forward_flop_per_face'] / 1e6:.1f} MFLOP per face, "
        f"training step {result['train_flop_per_face'] / 1e6:.1f} MFLOP per face",
        f"ceiling {result['ceiling_gflop_per_cpu_s']:.1f} GFLOP per CPU second: "
        "at most "
        f"{result['max_training_speedup']:.2f}x faster training (target 1.5x), "
        f"{result['max_inference_speedup']:.2f}x faster inference (target 2x) "
        "with the same float32 arithmetic",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2048, help="faces per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "roofline.json")
    args = parser.parse_args(argv)
    try:
        t0 = time.time()
        load_before = loadavg()
        result = measure(args.n, args.rounds)
    except FileNotFoundError as exc:
        print(f"roofline: cannot run: {exc}", file=sys.stderr)
        return 2
    result.update(
        command="benchmarks/roofline.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        date=time.strftime("%Y-%m-%d %H:%M"),
        minutes=round((time.time() - t0) / 60, 1),
        load_before=load_before,
        load_after=loadavg(),
        machine=machine(),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
