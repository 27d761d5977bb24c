"""How many photos per second does skfer turn into expressions, end to end?

End to end is: read the file (Pillow), find the faces (OpenCV's Haar
cascade), crop them to 48x48 and classify them with the study's CNN
(``FERCNNClassifier()``, 4.1M parameters, fitted for one epoch on synthetic
faces: its weights do not change its speed). Four kinds of photo, built from
``skimage.data.astronaut()`` and the real FER2013 JPEGs:

- ``fer2013 48x48``: the 70 JPEGs of ``images-sample`` (pass-through, no
  detection);
- ``portrait 512x512``: the astronaut as PNG (one face);
- ``group 1536x512``: three astronauts side by side, JPEG (three faces);
- ``camera 4032x3024``: the astronaut scaled to a 12-megapixel JPEG (one
  large face), like a phone photo.

Each kind is measured three ways:

- ``crop``: ``FaceCropper(faces="all").crop(paths)``, no model;
- ``batched``: ``predict_photos(clf, paths)``, one model call per 64 photos;
- ``one by one``: ``predict_photos(clf, [path])`` per photo, one model call
  per photo, as a per-face loop does;

plus two levers: for the portraits, ``crop, scale_factor=1.2`` (a coarser
search over face sizes than the default 1.1); for the camera photos, ``crop,
full resolution``: detection on the full image (``detect_max_side=None``),
which the default avoids by decoding large JPEGs at a reduced scale and
detecting on a 640-pixel copy.

Times are the best of ``--repeat`` runs after one warm-up call, with the CPU
time (all threads) of that run, which is less sensitive to other jobs on a
shared machine. Files are read from a temporary folder that is in the page
cache (no disk time).

Run from the repository root::

    .venv/bin/python benchmarks/bench_photos.py           # ~2 min on 2 cores
    .venv/bin/python benchmarks/bench_photos.py --quick   # ~40 s

Needs ``opencv-python-headless<5`` and ``scikit-image``. Writes
``benchmarks/results/photos.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "photos.json"
sys.path.insert(0, str(REPO))


def _fer_images() -> list[Path]:
    env = os.environ.get("SKFER_FER2013")
    base = Path(env) if env else REPO.parent / "shared" / "data" / "fer2013"
    if base.is_file():
        base = base.parent
    return sorted((base / "images-sample").rglob("*.jpg"))


def make_photos(folder: Path, n: int) -> dict[str, tuple[list[Path], int]]:
    """Write the photo sets; return ``{kind: (paths, faces per photo)}``."""
    import cv2
    from PIL import Image
    from skimage.data import astronaut

    face = astronaut()
    kinds: dict[str, tuple[list[Path], int]] = {}
    fer = _fer_images()
    if fer:
        kinds["fer2013 48x48"] = (fer, 1)
    big = cv2.resize(face, (3024, 3024), interpolation=cv2.INTER_CUBIC)
    camera = cv2.copyMakeBorder(big, 0, 0, 504, 504, cv2.BORDER_REPLICATE)
    sources = {
        "portrait 512x512": (face, ".png", 1, n),
        "group 1536x512": (np.hstack([face] * 3), ".jpg", 3, n),
        "camera 4032x3024": (camera, ".jpg", 1, max(2, n // 4)),
    }
    for kind, (image, suffix, faces, count) in sources.items():
        first = folder / f"{kind.split()[0]}-0{suffix}"
        Image.fromarray(image).save(first, quality=90)
        paths = [first]
        for i in range(1, count):
            paths.append(first.with_name(f"{kind.split()[0]}-{i}{suffix}"))
            shutil.copyfile(first, paths[-1])
        kinds[kind] = (paths, faces)
    return kinds


def fitted_cnn():
    """The study's CNN, fitted one epoch on synthetic faces."""
    from skfer import FERCNNClassifier
    from skfer.datasets import make_expressions

    X, y = make_expressions(256, random_state=0)
    return FERCNNClassifier(epochs=1, validation_fraction=0, random_state=0).fit(X, y)


def _timed(fn, repeat: int) -> dict:
    fn()  # warm-up: cascade loading, TensorFlow tracing
    runs = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        n_faces = fn()
        runs.append((time.perf_counter() - start, time.process_time() - cpu, n_faces))
    seconds, cpu_seconds, n_faces = min(runs)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "faces": int(n_faces),
        "seconds_all": [round(r[0], 3) for r in runs],
    }


def run(quick: bool = False, repeat: int | None = None) -> dict:
    """Run the measurements; return a JSON-able dict."""
    import cv2
    from _common import loadavg, machine

    from skfer.faces import FaceCropper, predict_photos

    repeat = repeat or (1 if quick else 3)
    n = 8 if quick else 32
    out = {
        "script": "benchmarks/bench_photos.py" + (" --quick" if quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            **machine(),
            "opencv": cv2.__version__,
            "opencv_threads": cv2.getNumThreads(),
            "load_average_before": loadavg(),
        },
        "model": "FERCNNClassifier() (the study's CNN, 4,087,323 parameters)",
        "results": {},
    }
    clf = fitted_cnn()
    cropper = FaceCropper(faces="all")

    def crop(paths, c=cropper):
        return lambda: len(c.crop(paths)[0])

    def batched(paths):
        return lambda: int((predict_photos(clf, paths).label >= 0).sum())

    def one_by_one(paths):
        return lambda: sum(
            int((predict_photos(clf, [p]).label >= 0).sum()) for p in paths
        )

    with tempfile.TemporaryDirectory(prefix="skfer-photos-") as tmp:
        for kind, (paths, faces) in make_photos(Path(tmp), n).items():
            modes = {"crop": crop, "batched": batched, "one by one": one_by_one}
            if kind.startswith("portrait"):
                coarse = FaceCropper(faces="all", scale_factor=1.2)
                modes["crop, scale_factor=1.2"] = lambda p, c=coarse: crop(p, c)
            if kind.startswith("camera"):
                full = FaceCropper(faces="all", detect_max_side=None)
                modes["crop, full resolution"] = lambda p, c=full: crop(p, c)
            for mode, make in modes.items():
                subset = paths[:2] if mode == "crop, full resolution" else paths
                result = _timed(make(subset), 1 if "full" in mode else repeat)
                result.update(
                    photos=len(subset),
                    expected_faces=faces * len(subset),
                    photos_per_s=len(subset) / result["seconds"],
                    cpu_ms_per_photo=1000 * result["cpu_seconds"] / len(subset),
                )
                out["results"][f"{kind} | {mode}"] = result
                print(
                    f"{kind:18s} {mode:22s} {result['photos_per_s']:8.1f} photos/s "
                    f"({result['faces']} faces)",
                    file=sys.stderr,
                )
    out["machine"]["load_average_after"] = loadavg()
    return out


def table(results: dict) -> str:
    """Format the results as a markdown table."""
    lines = [
        "| photos | mode | photos/s | CPU ms/photo | faces found / expected "
        "| all runs (s) |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for name, r in results["results"].items():
        kind, mode = name.split(" | ")
        lines.append(
            f"| {kind} | {mode} | {r['photos_per_s']:.1f} "
            f"| {r['cpu_ms_per_photo']:.0f} | {r['faces']} / {r['expected_faces']} "
            f"| {r['seconds_all']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer photos, 1 run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per case")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"JSON file (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    results = run(quick=args.quick, repeat=args.repeat)
    print(table(results))
    m = results["machine"]
    print(
        f"\n{m['cpus']} CPUs ({m['processor']}), OpenCV {m['opencv']} "
        f"({m['opencv_threads']} threads), load average before/after "
        f"{m['load_average_before'][0]} / {m['load_average_after'][0]}"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
