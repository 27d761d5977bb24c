"""Package a network trained by ``benchmarks/accuracy.py`` as a pretrained model.

Reads the fitted estimator that ``accuracy.py`` saved for run ``--run``
(``runs/accuracy/<run>/model.joblib``, or the ``"model_file"`` its result
file names when ``--checkpoint`` put it elsewhere) and its result file
(``benchmarks/results/accuracy/<run>.json``), writes its weights as float16
to ``skfer/_weights/<file>.npz`` and a card ``<file>.json`` (hyper-parameters
in float32 precision, SHA-256, the training command and result file, the
per-epoch curve), then loads it back with :func:`skfer.load_pretrained` and
measures the PublicTest accuracy of the shipped weights, which goes on the
card next to the accuracy of the original float32/bfloat16 network::

    .venv/bin/python benchmarks/make_pretrained.py --run vgg-bf16-e70-s0

With ``--out benchmarks/models`` the weights go there instead, under the
run's name, outside the package: that is how a finished run is kept for
ensembles built in later sessions (``runs/`` is not committed), e.g.
``ensemble.py --runs pretrained:fer2013-vgg vgg-f32-e70-s1``. Such a file is
3.3 MB (float16; 10.8 MB for the 64-512-filter VGG), so only runs meant
as ensemble members are kept.

Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    MODELS_DIR,
    REPO,
    RESULTS_DIR,
    load_training_subset,
    run_model_file,
)

WEIGHTS_DIR = REPO / "skfer" / "_weights"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="run name of accuracy.py")
    parser.add_argument("--name", default=None, help="pretrained name")
    parser.add_argument(
        "--out",
        type=Path,
        default=WEIGHTS_DIR,
        help=f"folder (default: the package's; {MODELS_DIR.relative_to(REPO)} "
        "keeps an ensemble member)",
    )
    args = parser.parse_args(argv)
    if args.name is None:
        args.name = "fer2013-vgg" if args.out == WEIGHTS_DIR else args.run
    result_file = RESULTS_DIR / "accuracy" / f"{args.run}.json"
    model_file = run_model_file(args.run)
    for path in (result_file, model_file):
        if not path.is_file():
            print(f"make_pretrained: cannot run: {path} not found", file=sys.stderr)
            return 2
    result = json.loads(result_file.read_text())
    if result.get("final") is None:
        print(f"make_pretrained: run {args.run} has not finished", file=sys.stderr)
        return 2

    from skfer import load_model
    from skfer.pretrained import _load_package, _package

    clf = load_model(model_file)
    info = {
        "n_train_faces": result["n_train_faces"],
        "trained_by": result["command"],
        "results_file": str(result_file.relative_to(REPO)),
        "training_precision": result["config"]["precision"],
        "epochs": len(result["epochs"]),
        "train_minutes": round(result["train_seconds"] / 60, 1),
        "machine": result["machine"],
        "public_test_accuracy_trained_network": result["final"]["public_test_accuracy"],
        "history": {
            k: [row[k] for row in result["epochs"]]
            for k in ("loss", "accuracy", "learning_rate")
            if all(k in row for row in result["epochs"])
        },
    }
    card_file = _package(clf, args.out, args.name, info)
    card = json.loads(card_file.read_text())
    npz = args.out / card["weights_file"]

    X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    shipped = _load_package(npz, card)
    card["public_test_accuracy"] = round(float(shipped.score(X_pub, y_pub)), 4)
    shipped.set_params(tta=False)
    card["public_test_accuracy_no_tta"] = round(float(shipped.score(X_pub, y_pub)), 4)
    card_file.write_text(json.dumps(card, indent=1) + "\n")
    print(
        f"{npz} ({npz.stat().st_size / 1e6:.1f} MB), PublicTest accuracy "
        f"{card['public_test_accuracy']} "
        f"(no TTA {card['public_test_accuracy_no_tta']}; "
        f"trained network {card['public_test_accuracy_trained_network']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
