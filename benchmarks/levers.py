"""Which settings make the study's networks train and predict faster on CPU?

Every configuration runs in its own fresh process (thread settings can only be
chosen before TensorFlow starts), one after the other, round after round, so
that each round compares all configurations under about the same load; the
first configuration of a ``--set`` is the reference, and the table reports
for each configuration the median over rounds of its throughput relative to
the reference's in the same round, with the load average.

Training configurations (``--what train``): ``mode`` is

- ``keras``: the plain-Keras baseline (the study's net from
  ``benchmarks/_common.py``, ``model.fit`` on ``X / 255`` float32 NumPy arrays,
  one-hot labels, ``categorical_crossentropy``);
- ``pipe``: skfer's network (``build_cnn`` / ``build_dnn`` / ``build_vgg``,
  by ``net``) and skfer's
  ``tf.data`` pipeline (``skfer._base._make_dataset``: uint8, in-graph cast and
  random flips) into ``model.fit``; ``spe`` (steps_per_execution), ``jit``
  (XLA) and ``policy`` (Keras dtype policy) apply to it;
- ``skfer``: ``FERCNNClassifier`` / ``FERDNNClassifier(...).fit`` itself;

and ``intra`` / ``inter`` set ``tf.config.threading`` (0: TensorFlow's
default), ``batch`` the batch size, ``env`` environment variables of the
child (e.g. ``TF_ENABLE_ONEDNN_OPTS=0``). Prediction configurations
(``--what predict``): ``keras`` (``model.predict`` on float32 images, Keras's
default batch of 32 unless ``batch``), ``skfer`` (``predict_proba``),
``skfer-old`` (skfer's earlier path, ``model_.predict(X, batch_size=256)``) and
``call`` (``model(x, training=False)`` in a ``tf.function`` on uint8 batches
of ``batch`` faces).

Run from the repository root, e.g.::

    .venv/bin/python benchmarks/levers.py --set threads --rounds 3
    .venv/bin/python benchmarks/levers.py --list

Writes ``benchmarks/results/levers_<set><suffix>.json`` (``--suffix``,
default empty) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    study_cnn,
    study_dnn,
    study_inputs,
)

T = "train"
P = "predict"

#: name -> list of (label, config); the first of each set is its reference.
SETS: dict[str, list[tuple[str, dict]]] = {
    "train-cnn": [
        ("keras baseline (float32 numpy)", {"what": T, "mode": "keras"}),
        ("skfer fit (current)", {"what": T, "mode": "skfer"}),
        ("skfer pipeline, spe=1", {"what": T, "mode": "pipe"}),
        ("skfer pipeline, spe=8", {"what": T, "mode": "pipe", "spe": 8}),
    ],
    "threads": [
        ("keras baseline, TF default threads", {"what": T, "mode": "keras"}),
        (
            "keras, intra=2 inter=1",
            {"what": T, "mode": "keras", "intra": 2, "inter": 1},
        ),
        (
            "keras, intra=1 inter=1",
            {"what": T, "mode": "keras", "intra": 1, "inter": 1},
        ),
        (
            "keras, intra=2 inter=2",
            {"what": T, "mode": "keras", "intra": 2, "inter": 2},
        ),
        (
            "keras, intra=4 inter=2",
            {"what": T, "mode": "keras", "intra": 4, "inter": 2},
        ),
    ],
    "batch": [
        ("keras baseline, batch 128", {"what": T, "mode": "keras"}),
        ("keras, batch 64", {"what": T, "mode": "keras", "batch": 64}),
        ("keras, batch 256", {"what": T, "mode": "keras", "batch": 256}),
        ("keras, batch 512", {"what": T, "mode": "keras", "batch": 512}),
    ],
    "xla": [
        ("skfer pipeline, no XLA", {"what": T, "mode": "pipe"}),
        ("skfer pipeline, jit_compile=True", {"what": T, "mode": "pipe", "jit": True}),
    ],
    "bf16": [
        ("skfer pipeline, float32", {"what": T, "mode": "pipe"}),
        (
            "skfer pipeline, mixed_bfloat16",
            {"what": T, "mode": "pipe", "policy": "mixed_bfloat16"},
        ),
    ],
    # skfer's VGG (118 M multiply-adds per face, 1.6x the study's CNN) in
    # float32 and bfloat16, beside the study's CNN in skfer's pipeline
    "vgg-precision": [
        ("study CNN, skfer pipeline, float32", {"what": T, "mode": "pipe"}),
        ("VGG, skfer pipeline, float32", {"what": T, "mode": "pipe", "net": "vgg"}),
        (
            "VGG, skfer pipeline, mixed_bfloat16",
            {"what": T, "mode": "pipe", "net": "vgg", "policy": "mixed_bfloat16"},
        ),
        (
            "study CNN, skfer pipeline, mixed_bfloat16",
            {"what": T, "mode": "pipe", "policy": "mixed_bfloat16"},
        ),
    ],
    "train-dnn": [
        ("keras baseline (float32 numpy)", {"what": T, "mode": "keras", "net": "dnn"}),
        ("skfer fit (current)", {"what": T, "mode": "skfer", "net": "dnn"}),
        ("skfer pipeline, spe=1", {"what": T, "mode": "pipe", "net": "dnn"}),
        ("skfer pipeline, spe=8", {"what": T, "mode": "pipe", "net": "dnn", "spe": 8}),
        (
            "skfer pipeline, spe=32",
            {"what": T, "mode": "pipe", "net": "dnn", "spe": 32},
        ),
    ],
    "pipeline": [
        ("DNN keras baseline", {"what": T, "mode": "keras", "net": "dnn", "n": 16384}),
        ("DNN skfer pipeline", {"what": T, "mode": "pipe", "net": "dnn", "n": 16384}),
        (
            "DNN index-gather pipeline",
            {"what": T, "mode": "pipe-gather", "net": "dnn", "n": 16384},
        ),
        (
            "DNN index-gather pipeline, spe=8",
            {"what": T, "mode": "pipe-gather", "net": "dnn", "n": 16384, "spe": 8},
        ),
    ],
    "onednn": [
        ("keras baseline, oneDNN on (default)", {"what": T, "mode": "keras"}),
        (
            "keras, TF_ENABLE_ONEDNN_OPTS=0",
            {"what": T, "mode": "keras", "env": {"TF_ENABLE_ONEDNN_OPTS": "0"}},
        ),
        (
            "predict: call 512, oneDNN on",
            {"what": P, "mode": "call", "batch": 512},
        ),
        (
            "predict: call 512, TF_ENABLE_ONEDNN_OPTS=0",
            {
                "what": P,
                "mode": "call",
                "batch": 512,
                "env": {"TF_ENABLE_ONEDNN_OPTS": "0"},
            },
        ),
    ],
    "predict-cnn": [
        ("keras model.predict (batch 32)", {"what": P, "mode": "keras"}),
        ("keras model.predict (batch 256)", {"what": P, "mode": "keras", "batch": 256}),
        ("skfer predict_proba (current)", {"what": P, "mode": "skfer"}),
        ("tf.function call, batch 256", {"what": P, "mode": "call", "batch": 256}),
        ("tf.function call, batch 1024", {"what": P, "mode": "call", "batch": 1024}),
        ("tf.function call, batch 4096", {"what": P, "mode": "call", "batch": 4096}),
    ],
    "predict-skfer": [
        ("keras model.predict (batch 32)", {"what": P, "mode": "keras"}),
        ("skfer predict_proba", {"what": P, "mode": "skfer"}),
        (
            "skfer's previous path: model_.predict(X, batch_size=256)",
            {"what": P, "mode": "skfer-old"},
        ),
        ("tf.function call, batch 256", {"what": P, "mode": "call", "batch": 256}),
        ("tf.function call, batch 1024", {"what": P, "mode": "call", "batch": 1024}),
    ],
    "predict-memory": [
        (f"tf.function call, batch {b}", {"what": P, "mode": "call", "batch": b})
        for b in (128, 256, 512, 1024)
    ],
    "predict-threads": [
        ("keras model.predict (batch 32)", {"what": P, "mode": "keras"}),
        ("call 1024, default threads", {"what": P, "mode": "call", "batch": 1024}),
        (
            "call 1024, intra=2 inter=1",
            {"what": P, "mode": "call", "batch": 1024, "intra": 2, "inter": 1},
        ),
        (
            "call 1024, intra=1 inter=1",
            {"what": P, "mode": "call", "batch": 1024, "intra": 1, "inter": 1},
        ),
    ],
    "predict-dnn": [
        ("keras model.predict (batch 32)", {"what": P, "mode": "keras", "net": "dnn"}),
        ("skfer predict_proba (current)", {"what": P, "mode": "skfer", "net": "dnn"}),
        (
            "tf.function call, batch 1024",
            {"what": P, "mode": "call", "batch": 1024, "net": "dnn"},
        ),
        (
            "tf.function call, batch 4096",
            {"what": P, "mode": "call", "batch": 4096, "net": "dnn"},
        ),
    ],
}


# --------------------------------------------------------------------------
# One configuration, in a child process
# --------------------------------------------------------------------------


def _gather_dataset(X, y, w, *, batch_size, shuffle, flip, seed):
    """Prototype: shuffle row *indices*, gather whole batches in the graph."""
    import tensorflow as tf

    from skfer._base import _tf_flip_flat

    tensors = tuple(tf.constant(a) for a in ((X, y) if w is None else (X, y, w)))
    ds = tf.data.Dataset.range(len(X))
    if shuffle:
        ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if flip:
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, coins.batch(batch_size)))
    else:
        ds = ds.map(lambda idx: (idx, None))

    def take(idx, bits):
        batch = tuple(tf.gather(t, idx) for t in tensors)
        x = batch[0]
        if bits is not None:
            x = _tf_flip_flat(x, tf.equal(bits[: tf.shape(x)[0]] % 2, 1))
        return (tf.cast(x, tf.float32), *batch[1:])

    ds = ds.map(take, num_parallel_calls=1, deterministic=True)
    return ds.prefetch(2)


def _child(cfg: dict) -> dict:
    """Measure one configuration, or (``what="multi"``) several in a row."""
    import tensorflow as tf

    if cfg.get("intra"):
        tf.config.threading.set_intra_op_parallelism_threads(cfg["intra"])
    if cfg.get("inter"):
        tf.config.threading.set_inter_op_parallelism_threads(cfg["inter"])
    import keras

    if cfg.get("policy"):
        keras.mixed_precision.set_global_policy(cfg["policy"])
    if cfg["what"] != "multi":
        return _measure(cfg)
    results = []
    for item in cfg["items"]:
        keras.backend.clear_session()
        results.append(_measure(item))
    return {"items": results}


def _measure(cfg: dict) -> dict:
    import keras
    import tensorflow as tf

    from skfer.architectures import build_cnn, build_dnn, build_vgg

    net = cfg.get("net", "cnn")
    n = int(cfg.get("n", 1536))
    X, y = load_training_subset(n, seed=0)
    out = {"load_before": loadavg()}
    if cfg["what"] == T:
        batch = int(cfg.get("batch", 128))
        epochs = int(cfg.get("epochs", 2))
        timer = make_step_timer(warmup_steps=3)
        if cfg["mode"] == "keras":
            model = (study_cnn if net == "cnn" else study_dnn)(seed=0)
            model.compile(
                optimizer="adam",
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
            Xf = study_inputs(X, net)
            Y = keras.utils.to_categorical(y, 7).astype("float32")
            model.fit(
                Xf, Y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer]
            )
        elif cfg["mode"] in ("pipe", "pipe-gather"):
            if cfg["mode"] == "pipe":
                from skfer._base import _make_dataset
            else:
                _make_dataset = _gather_dataset

            builders = {"cnn": build_cnn, "dnn": build_dnn, "vgg": build_vgg}
            model = builders[net](7, seed=0)
            model.compile(
                optimizer="adam",
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=bool(cfg.get("jit", False)),
                steps_per_execution=int(cfg.get("spe", 1)),
            )
            ds = _make_dataset(
                X,
                y.astype("int32"),
                None,
                batch_size=batch,
                shuffle=True,
                flip=net != "dnn",
                seed=0,
            )
            model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])
        elif cfg["mode"] == "skfer":
            from skfer import FERCNNClassifier, FERDNNClassifier

            cls = FERCNNClassifier if net == "cnn" else FERDNNClassifier
            if cfg.get("defaults"):  # the estimator's defaults (10% validation)
                params = {}
            else:
                params = dict(
                    validation_fraction=0.0, patience=None, random_flip=net == "cnn"
                )
            cls(
                epochs=epochs,
                batch_size=batch,
                random_state=0,
                callbacks=[timer],
                **params,
            ).fit(X, y)
        else:
            raise ValueError(cfg["mode"])
        out.update(timer.summary(batch))
    else:
        n_pred = int(cfg.get("n_pred", 4096))
        reps = int(cfg.get("reps", 3))
        Xp = X[:n_pred] if len(X) >= n_pred else X
        if cfg["mode"] == "keras":
            model = (study_cnn if net == "cnn" else study_dnn)(seed=0)
            Xf = study_inputs(Xp, net)
            kw = {"batch_size": int(cfg["batch"])} if cfg.get("batch") else {}

            def predict():
                return model.predict(Xf, verbose=0, **kw)
        elif cfg["mode"] in ("skfer", "skfer-old"):
            from skfer import FERCNNClassifier, FERDNNClassifier

            cls = FERCNNClassifier if net == "cnn" else FERDNNClassifier
            est = cls(epochs=1, validation_fraction=0.0, random_state=0)
            est.fit(X[:256], y[:256])

            def predict():
                if cfg["mode"] == "skfer-old":  # skfer's code before this change
                    return est.model_.predict(Xp, batch_size=256, verbose=0)
                return est.predict_proba(Xp)
        elif cfg["mode"] == "call":
            model = (build_cnn if net == "cnn" else build_dnn)(7, seed=0)
            b = int(cfg["batch"])

            @tf.function(reduce_retracing=True)
            def fwd(x):
                return model(tf.cast(x, tf.float32), training=False)

            def predict():
                return __import__("numpy").concatenate(
                    [fwd(Xp[i : i + b]).numpy() for i in range(0, len(Xp), b)]
                )
        else:
            raise ValueError(cfg["mode"])
        import resource

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        predict()  # warm-up: tracing, first allocations
        rates, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            predict()
            rates.append(len(Xp) / (time.perf_counter() - t0))
            cpu.append(1000.0 * (time.process_time() - c0) / len(Xp))
        out.update(
            images_per_s=statistics.median(rates),
            cpu_ms_per_image=statistics.median(cpu),
            all_images_per_s=[round(r, 1) for r in rates],
            # peak RSS before predicting (after setup) and after: what the
            # prediction's batches added to the process's high-water mark
            rss_before_predict_mb=rss0,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
    out["load_after"] = loadavg()
    return out


def _run_child(cfg: dict, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.update(cfg.get("env", {}))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# A set of configurations, interleaved over rounds
# --------------------------------------------------------------------------


def run_set(name: str, rounds: int, extra: dict | None = None, timeout=900) -> dict:
    """Run every configuration of set ``name``, ``rounds`` times interleaved."""
    configs = [(label, {**cfg, **(extra or {})}) for label, cfg in SETS[name]]
    per_round: list[list[dict]] = []
    for r in range(rounds):
        row = []
        for label, cfg in configs:
            res = _run_child(cfg, timeout)
            res["label"] = label
            row.append(res)
            rate = res.get("images_per_s", float("nan"))
            print(
                f"  round {r + 1} {label}: {rate:.1f} img/s, load {loadavg()[0]}",
                file=sys.stderr,
                flush=True,
            )
        per_round.append(row)
    summary = []
    for i, (label, cfg) in enumerate(configs):
        rates = [row[i].get("images_per_s") for row in per_round]
        ratios = [
            row[i]["images_per_s"] / row[0]["images_per_s"]
            for row in per_round
            if "images_per_s" in row[i] and "images_per_s" in row[0]
        ]
        cpu = [row[i].get("cpu_ms_per_image") for row in per_round]
        rss = [
            row[i]["peak_rss_mb"] - row[i]["rss_before_predict_mb"]
            for row in per_round
            if "peak_rss_mb" in row[i]
        ]
        loads = [row[i].get("load_before", [None])[0] for row in per_round]
        errors = [row[i]["error"] for row in per_round if "error" in row[i]]
        summary.append(
            {
                "label": label,
                "config": cfg,
                "images_per_s": [None if v is None else round(v, 1) for v in rates],
                "median_images_per_s": _median(rates),
                "median_ratio_to_reference": _median(ratios),
                "cpu_ms_per_image": _median(cpu),
                "load_1min": loads,
                **({"predict_rss_increase_mb": _median(rss)} if rss else {}),
                **({"errors": errors} if errors else {}),
            }
        )
    return {
        "script": f"benchmarks/levers.py --set {name} --rounds {rounds}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "set": name,
        "rounds": per_round,
        "summary": summary,
    }


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(result: dict) -> str:
    lines = [
        f"**{result['set']}** ({len(result['rounds'])} rounds)",
        "",
        "| configuration | images/s per round | median ratio to first "
        "| CPU ms/image | load (1 min) per round |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for s in result["summary"]:
        ratio = s["median_ratio_to_reference"]
        cpu = s["cpu_ms_per_image"]
        rss = s.get("predict_rss_increase_mb")
        label = s["label"] + (f" (+{rss:.0f} MB peak RSS)" if rss is not None else "")
        lines.append(
            f"| {label} | {s['images_per_s']} "
            f"| {'n/a' if ratio is None else f'{ratio:.2f}x'} "
            f"| {'n/a' if cpu is None else f'{cpu:.2f}'} | {s['load_1min']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", choices=sorted(SETS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=None, help="training faces")
    parser.add_argument(
        "--suffix",
        default="",
        help="appended to the file name, e.g. _avx2 for another machine kind",
    )
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    if args.list or not args.set:
        for name, configs in SETS.items():
            print(name + ": " + "; ".join(label for label, _ in configs))
        return 0
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    extra = {"n": args.n} if args.n else None
    for name in args.set:
        result = run_set(name, args.rounds, extra)
        print(table(result) + "\n", flush=True)
        out = RESULTS_DIR / f"levers_{name}{args.suffix}.json"
        out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
