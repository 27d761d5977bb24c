"""skfer's benchmarks on this machine, each side by side with its baseline.

One command measures, in one run:

- **data**: parse time and peak RSS of the full shared ``fer2013.csv.gz``
  against the naive ``pandas.read_csv`` + ``str.split`` parse, and the cached
  load time (``benchmarks/bench_data.py``'s ``run``; ``--quick`` skips the
  pandas baseline, which takes ~1 minute and ~5.5 GB);
- **training throughput** (images/s in steady state: training steps timed
  by a Keras callback after 3 warm-up steps, across epoch boundaries left
  out) of ``FERCNNClassifier.fit`` / ``FERDNNClassifier.fit`` with their
  defaults against a plain Keras ``model.fit`` of the same architecture on
  float32 NumPy arrays the way the study trained (``X / 255`` float32, the
  CNN's input reshaped to ``(n, 48, 48, 1)``, one-hot labels, the same batch
  size 128);
- **inference throughput**: ``predict_proba`` against ``model.predict`` on the
  study's float32 input (Keras's default batch size, 32);
- **inspection** (if ``skfer.inspection`` is importable): saliency maps per
  second per method, and filter-ascent seconds per layer;
- **memory**: peak RSS (``ru_maxrss``) of a fit of
  ``make_pipeline(MirrorSampler(), FERCNNClassifier(epochs=1))`` on all
  28,709 Training faces (57,418 with their mirrors), against the study-style
  preparation (mirrored copies concatenated, ``X / 255`` as float32) and
  ``model.fit``. ``--quick`` stops both fits after 5 training steps: the data
  side of the peak is all there, the full epoch is not run.

Per round, skfer's four throughput measurements run one after the other in
one fresh process and the baseline's in another (so that neither side
inherits the other's TensorFlow state); the sides alternate which goes
first, and the ratio reported is the median over rounds of skfer / baseline
within the same round. The machine's 2 cores are shared, so
the table also gives the process CPU time per image (less sensitive to other
jobs) and the 1-minute load average at the start of each measurement.

Run from the repository root::

    .venv/bin/python benchmarks/run.py --quick     # a few minutes
    .venv/bin/python benchmarks/run.py             # ~1 hour on 2 busy cores

Writes ``benchmarks/results/<name>.json`` and ``benchmarks/results/<name>.md``
(``<name>``: ``quick`` or ``full`` unless ``--name``) and prints the table.
Exits non-zero only when it cannot run (no data, or a section fails to run
at all); sections that fail are reported in the table and the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import levers  # noqa: E402
from _common import (  # noqa: E402
    REPO,
    RESULTS_DIR,
    find_data,
    load_training_subset,
    loadavg,
    machine,
)

# --------------------------------------------------------------------------
# Sizes of the two modes
# --------------------------------------------------------------------------

MODES = {
    "quick": {
        "rounds": 2,
        "cnn_train_faces": 1024,  # ~8 steps of 128 per epoch, 2 epochs
        "dnn_train_faces": 4096,
        "predict_faces": 2048,
        "predict_reps": 2,
        "memory_steps": 5,  # stop the full-data fits after 5 steps
        "saliency_faces": {"gradient": 256, "gradcam": 256, "smoothgrad": 16},
        "filter_layers": ("conv1", "conv6"),
        "filter_count": 16,
        "filter_steps": 50,
    },
    "full": {
        "rounds": 3,
        "cnn_train_faces": 3072,
        "dnn_train_faces": 16384,
        "predict_faces": 4096,
        "predict_reps": 3,
        "memory_steps": None,  # one whole epoch
        "saliency_faces": {"gradient": 1024, "gradcam": 1024, "smoothgrad": 64},
        "filter_layers": ("conv1", "conv2", "conv3", "conv4", "conv5", "conv6"),
        "filter_count": None,  # all filters
        "filter_steps": 200,  # the study's setting
    },
}


# --------------------------------------------------------------------------
# Child processes: inspection and memory (throughput children: levers.py)
# --------------------------------------------------------------------------


def _child_inspection(cfg: dict) -> dict:
    try:
        from skfer.inspection import filter_patterns, saliency_maps
    except ImportError as exc:
        return {"available": False, "reason": f"ImportError: {exc}"}
    try:
        from skfer.inspection import SaliencyExplainer
    except ImportError:
        SaliencyExplainer = None
    from skfer import FERCNNClassifier

    X, y = load_training_subset(2048, seed=0)
    # the study's CNN, briefly trained: speed does not depend on the weights
    est = FERCNNClassifier(epochs=1, validation_fraction=0.0, random_state=0)
    est.fit(X[:512], y[:512])
    out = {"available": True, "load_before": loadavg(), "saliency": {}, "filters": {}}
    for method, n in cfg["saliency_faces"].items():
        Xs = X[:n]
        if SaliencyExplainer is not None:  # build once, call many times
            explain = SaliencyExplainer(est, method=method)
            explain(Xs[:8], random_state=0)  # compile
            t0, c0 = time.perf_counter(), time.process_time()
            maps = explain(Xs, random_state=0)
        else:
            saliency_maps(est, Xs[:8], method=method, random_state=0)
            t0, c0 = time.perf_counter(), time.process_time()
            maps = saliency_maps(est, Xs, method=method, random_state=0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out["saliency"][method] = {
            "faces": n,
            "maps_per_s": n / wall,
            "cpu_ms_per_map": 1000 * cpu / n,
            "shape": list(maps.shape),
        }
    names = {layer.name for layer in est.model_.layers}
    for conv in cfg["filter_layers"]:
        layer = f"{conv}_act" if f"{conv}_act" in names else conv
        t0, c0 = time.perf_counter(), time.process_time()
        patterns, _ = filter_patterns(
            est,
            layer,
            filters=cfg["filter_count"],
            steps=cfg["filter_steps"],
            random_state=0,
        )
        out["filters"][layer] = {
            "filters": int(patterns.shape[0]),
            "steps": cfg["filter_steps"],
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
        }
    out["load_after"] = loadavg()
    return out


def _child_memory(cfg: dict) -> dict:
    import resource

    import numpy as np

    X, y = load_training_subset(None)
    steps = cfg.get("steps")
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if steps and batch + 1 >= steps:
                self.model.stop_training = True

    t0 = time.perf_counter()
    if cfg["side"] == "skfer":
        from imblearn.pipeline import make_pipeline

        from skfer import FERCNNClassifier, MirrorSampler

        clf = FERCNNClassifier(epochs=1, random_state=0, callbacks=[StopAfter()])
        make_pipeline(MirrorSampler(), clf).fit(X, y)
    else:
        from _common import study_cnn

        # the study's preparation: mirrors appended, X / 255 as float32 images
        flipped = X.reshape(-1, 48, 48)[:, :, ::-1].reshape(len(X), -1)
        Xm = np.concatenate([X, flipped])
        ym = np.concatenate([y, y])
        Xf = (Xm / 255.0).astype("float32").reshape(-1, 48, 48, 1)
        Y = keras.utils.to_categorical(ym, 7)
        model = study_cnn(seed=0)
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(
            Xf,
            Y,
            batch_size=128,
            epochs=1,
            validation_split=0.1,
            verbose=0,
            callbacks=[StopAfter()],
        )
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - t0,
        "faces": int(2 * len(X)),
        "steps": steps or "one epoch",
        "load": loadavg(),
    }


def _child(kind: str, cfg: dict) -> dict:
    if kind == "inspection":
        return _child_inspection(cfg)
    if kind == "memory":
        return _child_memory(cfg)
    raise ValueError(kind)


def _run_child(kind: str, cfg: dict, timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(
        f"[{time.strftime('%H:%M:%S')} load {loadavg()[0]}] {msg}",
        file=sys.stderr,
        flush=True,
    )


def section_data(quick: bool) -> dict:
    import bench_data

    _log("data: parsing FER2013 (bench_data.run)")
    return bench_data.run(quick=quick)


def _compare(items: dict, rounds: int, timeout: float) -> dict:
    """Measure skfer and its baseline on every item, round after round.

    ``items`` maps a key to ``(skfer_config, baseline_config)`` (levers.py
    configurations). Per round, each side runs all its items in one fresh
    process (so neither side inherits the other's TensorFlow state); the two
    sides alternate which goes first. Ratios are taken within a round.
    """
    keys = list(items)
    runs = {k: {"skfer": [], "baseline": []} for k in keys}
    for r in range(rounds):
        order = ("skfer", "baseline") if r % 2 == 0 else ("baseline", "skfer")
        for side in order:
            cfgs = [items[k][0 if side == "skfer" else 1] for k in keys]
            res = levers._run_child({"what": "multi", "items": cfgs}, timeout)
            if "error" in res:
                raise RuntimeError(f"{side}: {res['error']}")
            for k, item in zip(keys, res["items"], strict=True):
                runs[k][side].append(item)
            rates = ", ".join(
                f"{k} {item['images_per_s']:.0f}"
                for k, item in zip(keys, res["items"], strict=True)
            )
            _log(f"  round {r + 1} {side}: images/s {rates}")
    return {k: _summarise(runs[k], *items[k]) for k in keys}


def _summarise(runs: dict, skfer_cfg: dict, base_cfg: dict) -> dict:
    pairs = list(zip(runs["skfer"], runs["baseline"], strict=True))
    ratios = [s["images_per_s"] / b["images_per_s"] for s, b in pairs]
    cpu_ratios = [b["cpu_ms_per_image"] / s["cpu_ms_per_image"] for s, b in pairs]

    def side(name):
        rs = runs[name]
        return {
            "images_per_s": statistics.median(r["images_per_s"] for r in rs),
            "images_per_s_rounds": [round(r["images_per_s"], 1) for r in rs],
            "cpu_ms_per_image": statistics.median(r["cpu_ms_per_image"] for r in rs),
            "load_1min_rounds": [r["load_before"][0] for r in rs],
        }

    return {
        "skfer": side("skfer"),
        "baseline": side("baseline"),
        "ratio_median": statistics.median(ratios),
        "ratio_rounds": [round(x, 2) for x in ratios],
        "cpu_ratio_median": statistics.median(cpu_ratios),
        "skfer_config": skfer_cfg,
        "baseline_config": base_cfg,
    }


def section_throughput(mode: dict) -> dict:
    rounds = mode["rounds"]
    items = {}
    for net in ("cnn", "dnn"):
        n = mode[f"{net}_train_faces"]
        items[f"train_{net}"] = (
            {"what": "train", "mode": "skfer", "net": net, "n": n, "defaults": True},
            {"what": "train", "mode": "keras", "net": net, "n": n},
        )
    for net in ("cnn", "dnn"):
        n = mode["predict_faces"]
        common = {
            "what": "predict",
            "net": net,
            "n": n,
            "n_pred": n,
            "reps": mode["predict_reps"],
        }
        items[f"predict_{net}"] = (
            {**common, "mode": "skfer"},
            {**common, "mode": "keras"},
        )
    _log(f"training and inference throughput ({rounds} rounds)")
    return _compare(items, rounds, timeout=3600)


def section_inspection(mode: dict) -> dict:
    _log("inspection: saliency maps and filter ascent")
    cfg = {
        k: mode[k]
        for k in ("saliency_faces", "filter_layers", "filter_count", "filter_steps")
    }
    cfg["filter_layers"] = list(cfg["filter_layers"])
    return _run_child("inspection", cfg, timeout=3600)


def section_memory(mode: dict) -> dict:
    steps = mode["memory_steps"]
    what = f"{steps} steps" if steps else "one epoch"
    _log(f"memory: full-data fit with mirroring ({what})")
    out = {}
    for side in ("skfer", "baseline"):
        out[side] = _run_child("memory", {"side": side, "steps": steps}, timeout=7200)
        _log(f"  {side}: peak RSS {out[side]['peak_rss_mb']:.0f} MB")
    return out


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


def _fmt(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)


def table(res: dict) -> str:
    rows = [
        "| measurement | skfer | baseline | skfer / baseline | load (1 min) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    data = res["sections"].get("data")
    if isinstance(data, dict) and "results" in data:
        r = data["results"]
        parse = r.get("skfer parse")
        naive = r.get("pandas + str.split")
        load = f"{data['machine']['load_average_before'][0]}"
        if parse:
            base_t = f"{naive['seconds']:.1f} s" if naive else "not run (--quick)"
            ratio = (
                f"{naive['seconds'] / parse['seconds']:.1f}x faster" if naive else ""
            )
            rows.append(
                f"| parse full fer2013.csv.gz: time | {parse['seconds']:.1f} s "
                f"| {base_t} | {ratio} | {load} |"
            )
            base_m = f"{naive['peak_rss_mb']:.0f} MB" if naive else "not run (--quick)"
            ratio = (
                f"{naive['peak_rss_mb'] / parse['peak_rss_mb']:.1f}x less"
                if naive
                else ""
            )
            rows.append(
                f"| parse: peak RSS | {parse['peak_rss_mb']:.0f} MB | {base_m} "
                f"| {ratio} | {load} |"
            )
        cached = r.get("skfer cached load")
        if cached:
            rows.append(f"| cached load | {cached['seconds']:.2f} s | | | {load} |")
    elif data is not None:
        rows.append(f"| data | failed: {str(data)[:80]} | | | |")
    thr = res["sections"].get("throughput")
    labels = {
        "train_cnn": "CNN fit, images/s (steady state)",
        "train_dnn": "DNN fit, images/s (steady state)",
        "predict_cnn": "CNN predict_proba vs model.predict, images/s",
        "predict_dnn": "DNN predict_proba vs model.predict, images/s",
    }
    if isinstance(thr, dict) and "error" not in thr:
        for key, label in labels.items():
            p = thr.get(key)
            if not p:
                continue
            s, b = p["skfer"], p["baseline"]
            rows.append(
                f"| {label} | {s['images_per_s']:.0f} | {b['images_per_s']:.0f} "
                f"| **{p['ratio_median']:.2f}x** (rounds {p['ratio_rounds']}) "
                f"| {s['load_1min_rounds']} / {b['load_1min_rounds']} |"
            )
            rows.append(
                f"| ↳ CPU ms per image | {s['cpu_ms_per_image']:.2f} "
                f"| {b['cpu_ms_per_image']:.2f} | {p['cpu_ratio_median']:.2f}x | |"
            )
    elif thr is not None:
        rows.append(f"| throughput | failed: {thr.get('error', '')[:80]} | | | |")
    ins = res["sections"].get("inspection")
    if isinstance(ins, dict) and ins.get("available"):
        load = ins["load_before"][0]
        for method, r in ins["saliency"].items():
            rows.append(
                f"| saliency maps/s, {method} ({r['faces']} faces) "
                f"| {r['maps_per_s']:.1f} | | | {load} |"
            )
        for layer, r in ins["filters"].items():
            rows.append(
                f"| filter ascent, {layer} ({r['filters']} filters, "
                f"{r['steps']} steps): seconds | {r['seconds']:.1f} | | | {load} |"
            )
    elif ins is not None:
        why = ins.get("reason") or ins.get("error", "")
        rows.append(f"| saliency / filter ascent | not available ({why[:60]}) | | | |")
    mem = res["sections"].get("memory")
    if isinstance(mem, dict) and "skfer" in mem:
        s, b = mem["skfer"], mem["baseline"]
        what = (
            "one epoch"
            if s["steps"] == "one epoch"
            else f"{s['steps']} steps only (--quick)"
        )
        rows.append(
            f"| peak RSS, full Training fit with mirrors ({s['faces']} faces, {what}) "
            f"| {s['peak_rss_mb']:.0f} MB | {b['peak_rss_mb']:.0f} MB "
            f"| {b['peak_rss_mb'] / s['peak_rss_mb']:.2f}x less | {s['load'][0]} / "
            f"{b['load'][0]} |"
        )
    elif mem is not None:
        rows.append(
            f"| memory | {mem.get('skipped') or mem.get('error', '')[:80]} | | | |"
        )
    return "\n".join(rows)


# --------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes")
    parser.add_argument("--name", help="results name (default: quick or full)")
    parser.add_argument("--rounds", type=int, help="rounds per comparison")
    parser.add_argument(
        "--only",
        action="append",
        choices=["data", "throughput", "inspection", "memory"],
        help="run only these sections (repeatable)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], json.loads(args.child[1]))))
        return 0
    if find_data() is None:
        print(
            "run.py: cannot run: FER2013 not found (set SKFER_FER2013 or provide "
            "../shared/data/fer2013)",
            file=sys.stderr,
        )
        return 2
    mode_name = "quick" if args.quick else "full"
    mode = dict(MODES[mode_name])
    if args.rounds:
        mode["rounds"] = args.rounds
    name = args.name or mode_name
    cmd = "benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res = {
        "script": cmd.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "mode": mode_name,
        "settings": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in mode.items()
        },
        "load_average_before": loadavg(),
        "sections": {},
    }
    sections = {
        "data": lambda: section_data(args.quick),
        "throughput": lambda: section_throughput(mode),
        "inspection": lambda: section_inspection(mode),
        "memory": lambda: section_memory(mode),
    }
    t_start = time.perf_counter()
    failures = 0
    for key, fn in sections.items():
        if args.only and key not in args.only:
            continue
        try:
            res["sections"][key] = fn()
        except Exception as exc:  # reported; the other sections still run
            failures += 1
            traceback.print_exc()
            res["sections"][key] = {"error": f"{type(exc).__name__}: {exc}"}
    res["load_average_after"] = loadavg()
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    md = (
        f"# skfer benchmarks ({mode_name}), {res['date']}\n\n"
        f"`{res['script']}` on {res['machine']['cpus']} CPUs "
        f"({res['machine']['processor']}); load average "
        f"{res['load_average_before']} before, {res['load_average_after']} after; "
        f"{res['seconds'] / 60:.1f} minutes.\n\n"
        + table(res)
        + "\n\nRatios: median over rounds of skfer / baseline measured back to back "
        "(fresh processes, alternating order). CPU ms per image: process CPU time "
        "over the same steps (all threads); its ratio is baseline / skfer.\n"
    )
    print(md)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS_DIR / f"{name}.md").write_text(md)
    print(f"wrote {RESULTS_DIR / (name + '.json')} and {name}.md")
    ran = [k for k in sections if not args.only or k in args.only]
    return 1 if failures == len(ran) else 0


if __name__ == "__main__":
    sys.exit(main())
