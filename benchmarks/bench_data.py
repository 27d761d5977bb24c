"""How fast, and in how much memory, does skfer parse FER2013?

Measures on the shared ``fer2013.csv.gz`` (32,144 rows, ~74M grey levels):

- ``skfer parse``: ``load_fer2013(path, cache=False)``, the vectorised parser;
- ``skfer cached load``: ``load_fer2013(path)`` when the cache in ``data_home``
  (a temporary folder) already holds the parsed arrays (this includes the
  SHA-256 of the source file that keys the cache);
- ``pandas + str.split``: the naive baseline, ``pd.read_csv`` then
  ``np.array(df.pixels.str.split().tolist(), dtype=np.uint8)``;
- ``pandas + np.fromstring``: ``pd.read_csv`` then ``np.fromstring(s, sep=" ")``
  per row.

Every measurement runs in a fresh Python process that imports what it needs
(numpy, skfer, pandas), records its peak RSS so far (``ru_maxrss``, the
"baseline"), runs the load once, and reports the wall time and its peak RSS
after. The table shows the absolute peak RSS and the increment over that
baseline (which includes the returned arrays themselves, 74 MB of pixels).
Times are the best wall-clock time of ``--repeat`` processes, with the CPU
time of that run (all threads: skfer decompresses in a second thread), which
is less sensitive to other jobs on a shared machine. The pandas baselines need
pandas, which is not a dependency of skfer: they are skipped without it, and
``--quick`` skips them too.

Run from the repository root::

    .venv/bin/python benchmarks/bench_data.py            # ~40 s
    .venv/bin/python benchmarks/bench_data.py --quick    # skfer only, ~10 s

The data is found like the tests find it: the environment variable
``SKFER_FER2013`` (a file or a folder), else ``../shared/data/fer2013``
relative to the repository root. Writes ``benchmarks/results/data.json``.
Exits non-zero only when it cannot run (no data, or skfer fails).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "data.json"
NAMES = ("fer2013.csv.gz", "fer2013.csv")


def find_data() -> Path | None:
    """Return the FER2013 CSV, from ``$SKFER_FER2013`` or ``../shared``."""
    env = os.environ.get("SKFER_FER2013")
    base = Path(env) if env else REPO.parent / "shared" / "data" / "fer2013"
    if base.is_file():
        return base
    for name in NAMES:
        if (base / name).is_file():
            return base / name
    return None


# --------------------------------------------------------------------------
# What runs in each child process
# --------------------------------------------------------------------------


def _child(what: str, path: str, data_home: str) -> dict:
    import resource

    import numpy as np

    from skfer.datasets import load_fer2013

    if what.startswith("pandas"):
        import pandas as pd
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start, cpu_start = time.perf_counter(), time.process_time()
    if what == "skfer-parse":
        X, y = load_fer2013(path, cache=False, return_X_y=True)
    elif what == "skfer-cached":
        X, y = load_fer2013(path, data_home=data_home, return_X_y=True)
    elif what == "pandas-split":
        df = pd.read_csv(path)
        X = np.array(df["pixels"].str.split().tolist(), dtype=np.uint8)
        y = df["emotion"].to_numpy()
    elif what == "pandas-fromstring":
        df = pd.read_csv(path)
        X = np.stack([np.fromstring(s, dtype=np.uint8, sep=" ") for s in df["pixels"]])
        y = df["emotion"].to_numpy()
    else:
        raise ValueError(what)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "baseline_rss_mb": baseline_kb / 1024,
        "peak_rss_mb": peak_kb / 1024,
        "increment_mb": (peak_kb - baseline_kb) / 1024,
        "shape": list(X.shape),
        "checksum": [int(X.sum(dtype=np.int64)), int(np.asarray(y).sum())],
    }


def _measure(what: str, path: Path, data_home: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", what, str(path), data_home],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    return {
        **best,
        "seconds_all": [round(r["seconds"], 3) for r in runs],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "increment_mb": max(r["increment_mb"] for r in runs),
    }


def _has_pandas() -> bool:
    code = "import pandas"
    return subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


def run(quick: bool = False, repeat: int | None = None) -> dict:
    """Run the measurements and return them as a JSON-able dict.

    Parameters
    ----------
    quick : bool, default=False
        Skip the slow pandas baselines and measure each case once.
    repeat : int, default=None
        Processes per measurement (best time kept); default 1 if ``quick``
        else 3 for skfer (the baselines always run once).

    Returns
    -------
    results : dict
        ``machine``, ``data`` and one entry per measurement in ``results``.

    Raises
    ------
    FileNotFoundError
        If the FER2013 file cannot be found.
    RuntimeError
        If an skfer measurement fails.
    """
    path = find_data()
    if path is None:
        raise FileNotFoundError(
            "FER2013 not found: set SKFER_FER2013 or provide ../shared/data/fer2013."
        )
    repeat = repeat or (1 if quick else 3)
    out = {
        "script": "benchmarks/bench_data.py" + (" --quick" if quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        },
        "data": {"path": str(path), "bytes": path.stat().st_size},
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="skfer-bench-") as home:
        cases = [("skfer parse", "skfer-parse", repeat)]
        # one untimed load writes the cache; then the cached loads are timed
        _measure("skfer-cached", path, home, 1)
        cases.append(("skfer cached load", "skfer-cached", repeat))
        if not quick:
            if _has_pandas():
                cases += [
                    ("pandas + np.fromstring", "pandas-fromstring", 1),
                    ("pandas + str.split", "pandas-split", 1),
                ]
            else:
                out["skipped"] = "pandas baselines: pandas is not installed"
        for name, what, n in cases:
            try:
                out["results"][name] = _measure(what, path, home, n)
            except RuntimeError:
                if what.startswith("skfer"):
                    raise
                out.setdefault("failed", []).append(name)
    out["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    reference = out["results"]["skfer parse"]["checksum"]
    for result in out["results"].values():
        result["same_arrays_as_skfer"] = result["checksum"] == reference
    return out


def table(results: dict) -> str:
    """Format the results as a markdown table."""
    lines = [
        "| measurement | best time (s) | its CPU time (s) | all runs (s) "
        "| peak RSS (MB) | RSS increment (MB) | same arrays |",
        "| --- | ---: | ---: | --- | ---: | ---: | :---: |",
    ]
    for name, r in results["results"].items():
        lines.append(
            f"| {name} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} "
            f"| {r['seconds_all']} "
            f"| {r['peak_rss_mb']:.0f} | {r['increment_mb']:.0f} "
            f"| {'yes' if r['same_arrays_as_skfer'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skfer only, one run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per case")
    parser.add_argument("--json", type=Path, default=RESULTS, help="output file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    try:
        results = run(quick=args.quick, repeat=args.repeat)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"bench_data: cannot run: {exc}", file=sys.stderr)
        return 2
    print(table(results))
    print(
        f"\n{results['data']['path']}; load average "
        f"{results['machine']['load_average_before']} before, "
        f"{results['machine']['load_average_after']} after; "
        f"{results['machine']['cpus']} CPUs."
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
