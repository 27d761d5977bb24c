"""PublicTest accuracy of one fitted network under each test-time augmentation.

Evaluates a shipped network (``--model pretrained:fer2013-vgg``, the default),
a run of ``accuracy.py`` (``--model RUN``: its saved model, or its weights
kept in ``benchmarks/models/``) or a saved estimator (``--model
path/model.joblib``) with
``tta=False`` (the face alone), ``"flip"`` (face and mirror, 2 views) and
``"flip+shift"`` (those and both moved 2 pixels up, down, left and right, 10
views). Nothing is trained or chosen here: the network is fixed and the three
modes were fixed before measuring (the shift TTA follows the crops averaged at
test time by Khaireddin & Chen 2021, scaled to the 4-pixel shifts the network
was trained with). The result, with per-class recall of ``--tta`` (the
headline, default ``"flip+shift"``; or a candidate of ``tta_select.py`` by
name, such as ``flip+grid``, once that script has chosen it on held-out
faces) and the accuracy of every mode, goes to
``benchmarks/results/accuracy/<name>.json``, a row of the README's table::

    .venv/bin/python benchmarks/tta.py --model pretrained:fer2013-vgg

Exits non-zero only when it cannot run.
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
    REPO,
    RESULTS_DIR,
    load_fitted,
    load_training_subset,
    machine,
)
from accuracy import _final_metrics, _write_json  # noqa: E402
from tta_select import CANDIDATES, tta_param  # noqa: E402

MODES = (False, "flip", "flip+shift")


def _stem(spec: str) -> str:
    """A short name for the network of ``spec`` (``load_fitted``'s argument)."""
    if spec.startswith("pretrained:"):
        return spec.split(":", 1)[1]
    if spec.endswith(".joblib"):
        return Path(spec).parent.name
    return spec


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="pretrained:fer2013-vgg")
    parser.add_argument(
        "--tta",
        choices=[c for c in CANDIDATES if c != "none"],
        default="flip+shift",
        help="the headline mode: flip, flip+shift or a candidate of tta_select.py",
    )
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    try:
        estimator, what, card = load_fitted(args.model)
        X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    except (FileNotFoundError, ValueError) as exc:
        print(f"tta: cannot run: {exc}", file=sys.stderr)
        return 2
    clf = estimator[-1] if hasattr(estimator, "steps") else estimator
    stem = _stem(args.model)
    name = args.name or f"{stem}-tta-{args.tta.replace('+', '-')}"

    by_mode, seconds = {}, {}
    for mode in [m for m in MODES if m != args.tta] + [args.tta]:
        clf.set_params(tta=tta_param(mode) if mode else mode)
        t0 = time.perf_counter()
        final = _final_metrics(estimator, X_pub, y_pub)  # the headline's last
        seconds[str(mode)] = round(time.perf_counter() - t0, 2)
        by_mode[str(mode)] = final["public_test_accuracy"]
        print(
            f"tta={mode!r}: PublicTest {by_mode[str(mode)]:.4f}, {seconds[str(mode)]} s"
        )
    final["public_test_accuracy_by_tta"] = by_mode
    final["predict_seconds_by_tta"] = seconds
    final["tta"] = args.tta
    trained = ""
    if card.get("results_file"):
        trained = f" (trained by run {Path(card['results_file']).stem})"
    state = {
        "name": name,
        "description": f"{what}{trained} with `tta={args.tta!r}` (evaluated only)",
        "command": "benchmarks/tta.py " + " ".join(sys.argv[1:] or argv or []),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "config": {"recipe": "tta", "model": args.model, "tta": args.tta},
        "n_public_test_faces": len(y_pub),
        "train_seconds": 0.0,
        "final": final,
        "epochs": [],
    }
    run_file = RESULTS_DIR / "accuracy" / f"{stem}.json"
    if card.get("train_minutes"):  # the training run of the shipped weights
        state["train_seconds"] = 60.0 * float(card["train_minutes"])
        final["epochs_run"] = card.get("epochs")
    elif run_file.is_file():  # a run of accuracy.py: its own training
        run = json.loads(run_file.read_text())
        state["train_seconds"] = float(run.get("train_seconds", 0.0))
        final["epochs_run"] = (run.get("final") or {}).get("epochs_run")
    out = RESULTS_DIR / "accuracy" / f"{name}.json"
    _write_json(out, state)
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
