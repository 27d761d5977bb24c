"""The README's table of FER2013 results, made from ``results/accuracy/*.json``.

Each finished run of ``benchmarks/accuracy.py`` (and each ensemble of
``benchmarks/ensemble.py``) is one row: what was trained, its PublicTest
accuracy, per-class recall of the weakest and strongest classes, epochs,
training minutes and machine, linked to its result file. Runs still going
(no ``"final"`` in their file yet) are printed with their latest epoch,
marked as such, but never written to the README: their files are not
committed until the run ends, so a README row would link to nothing in a
clone.

Training minutes count every network a row's accuracy rests on: a run
fine-tuned from another (``--init-from``) or distilled from a teacher
ensemble shows its own minutes and, in brackets, the minutes in all, with
those of its source and teachers (recursively); an ensemble counts each run
among its members and their sources once.

    .venv/bin/python benchmarks/accuracy_table.py          # print the table
    .venv/bin/python benchmarks/accuracy_table.py --write  # update README.md
                                                           # (finished runs)

``--write`` replaces what stands between the README's
``<!-- accuracy-table:start -->`` and ``<!-- accuracy-table:end -->``
markers; ``tests/test_benchmarks.py`` checks the README matches the files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import MODERN  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "accuracy"
PACKAGED = REPO / "skfer" / "_weights"
README = REPO / "README.md"
START, END = "<!-- accuracy-table:start -->", "<!-- accuracy-table:end -->"


#: what each recipe of accuracy.py trains
RECIPES = {
    "vgg": "`FERVGGClassifier()`: VGG-style + batch norm, AdamW, cosine, "
    "flips + 4 px shifts, label smoothing 0.1, mirror TTA",
    "resnet": "`FERResNetClassifier()`: residual network + batch norm, AdamW, "
    "cosine, flips + 4 px shifts, label smoothing 0.1, mirror TTA",
    "densenet": "`FERDenseNetClassifier()`: densely connected network + batch "
    "norm, AdamW, cosine, flips + 4 px shifts, label smoothing 0.1, mirror TTA",
    "study-cnn": "the study's CNN and recipe: `MirrorSampler` + "
    "`FERCNNClassifier()`, Adam, early stopping",
    "study-dnn": "the study's DNN and recipe: `MirrorSampler` + "
    "`FERDNNClassifier()`, Adam, early stopping",
}


def _what(state: dict) -> str:
    if state.get("description"):
        return state["description"]
    config = state["config"]
    what = RECIPES.get(config["recipe"], config["recipe"])
    if config.get("precision", "float32") != "float32":
        what += f" ({config['precision']})"
    if config.get("params"):
        what += ", with " + ", ".join(
            f"`{k}={v!r}`" for k, v in sorted(config["params"].items())
        )
    if config.get("n_train"):
        what += f", {config['n_train']} Training faces"
    if config.get("holdout"):
        share = config["holdout"]
        what += f", {share:.0%} of the Training faces held out (`--holdout`)"
    if config.get("init_from"):
        what += f", fine-tuned from `{config['init_from']}`"
    if config.get("swa"):
        what += ", weights averaged over its epochs (SWA)"
    if config.get("teacher"):
        teacher = config["teacher"]
        names = ", ".join(
            f"`{m.removeprefix('pretrained:')}`" for m in teacher["members"]
        )
        what += (
            f", distilled from the soft vote of {names} (teacher weight "
            f"{teacher['weight']:g}, temperature {teacher['temperature']:g})"
        )
    return what + f", seed {config.get('seed')}"


def minutes_to(state: dict, target: float = 0.60) -> float | None:
    """Training minutes at the end of the first epoch at ``target`` PublicTest.

    Measured with the estimator's own prediction (TTA where it has it).
    None for a run that did not reach it, or that started from a trained
    network (``--init-from``: the minutes would not count its training).
    """
    if state["config"].get("init_from"):
        return None
    tta = state["config"].get("recipe") in MODERN
    key = "public_test_accuracy_tta" if tta else "public_test_accuracy"
    for row in state.get("epochs", []):
        if row.get(key, 0.0) >= target:
            return row["train_minutes"]
    return None


def _source(spec: str) -> dict | None:
    """The result file of the run behind ``spec`` (a run or ``pretrained:NAME``).

    None when there is none (a run trained elsewhere or not recorded).
    """
    if spec.startswith("pretrained:"):
        card = PACKAGED / (spec.removeprefix("pretrained:").replace("-", "_") + ".json")
        if not card.is_file():
            return None
        results_file = json.loads(card.read_text()).get("results_file")
        path = REPO / results_file if results_file else None
    else:
        path = RESULTS / f"{spec}.json"
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text())


def lineage(state: dict) -> dict[str, float]:
    """Training seconds of each run that ``state``'s accuracy rests on, by name.

    A run counts itself and, if fine-tuned (``init_from``), its source's
    lineage and, if distilled, its teachers'; an evaluation (``tta``) its
    model's; an ensemble the union of its members' (a run shared by two
    members counts once).
    """
    config = state.get("config", {})
    recipe = config.get("recipe")
    if recipe == "ensemble":
        runs: dict[str, float] = {}
        for member in config.get("members", []):
            source = _source(member)
            if source is not None:
                runs.update(lineage(source))
        return runs
    if recipe == "tta":
        source = _source(config.get("model", ""))
        return {} if source is None else lineage(source)
    sources = list((config.get("teacher") or {}).get("members", []))
    if config.get("init_from"):
        sources.append(config["init_from"])
    runs: dict[str, float] = {}
    for spec in sources:
        source = _source(spec)
        if source is not None:
            runs.update(lineage(source))
    runs[state["name"]] = float(state.get("train_seconds", 0.0))
    return runs


def training_minutes(state: dict) -> str:
    """The table's training minutes of ``state`` (see the module docstring)."""
    own = float(state.get("train_seconds", 0.0)) / 60
    runs = lineage(state)
    total = sum(runs.values()) / 60 if runs else own
    if state.get("config", {}).get("recipe") == "ensemble":
        return f"{total:.0f}"
    if round(total) != round(own):
        return f"{own:.0f} ({total:.0f} in all)"
    return f"{own:.0f}"


def _row(path: Path) -> tuple[float, str]:
    state = json.loads(path.read_text())
    link = f"[{path.stem}](benchmarks/results/accuracy/{path.name})"
    what = _what(state)
    cpu = state.get("machine", {}).get("processor") or "?"
    cpus = state.get("machine", {}).get("cpus")
    where = f"{cpus} CPUs ({cpu})" if cpus else cpu
    final = state.get("final")
    if final is None:
        rows = state.get("epochs", [])
        last = rows[-1] if rows else {}
        acc = last.get("public_test_accuracy_tta", last.get("public_test_accuracy"))
        to60 = minutes_to(state)
        text = (
            f"| {link} | {what} | running: {acc} after epoch {len(rows)} | | "
            f"{'' if to60 is None else f'{to60:.0f}'} | "
            f"{len(rows)} of {state['config'].get('epochs')} | "
            f"{training_minutes(state)} | {where} |"
        )
        return -1.0, text
    recall = final["per_class_recall"]
    worst = min(recall, key=recall.get)
    best = max(recall, key=recall.get)
    epochs = final.get("epochs_run", len(state.get("epochs", [])))
    epochs = "" if epochs is None else epochs
    to60 = minutes_to(state)
    text = (
        f"| {link} | {what} | **{final['public_test_accuracy']:.4f}** | "
        f"{worst} {recall[worst]:.2f}, {best} {recall[best]:.2f} | "
        f"{'' if to60 is None else f'{to60:.0f}'} | {epochs} | "
        f"{training_minutes(state)} | {where} |"
    )
    return final["public_test_accuracy"], text


def _finished(path: Path) -> bool:
    return json.loads(path.read_text()).get("final") is not None


def table(*, finished_only: bool = False) -> str:
    """The markdown table, best PublicTest accuracy first.

    ``finished_only`` leaves out the runs still going.
    """
    paths = sorted(RESULTS.glob("*.json"))
    if finished_only:
        paths = [p for p in paths if _finished(p)]
    rows = sorted((_row(p) for p in paths), reverse=True)
    head = [
        "| run | what | PublicTest accuracy | recall: worst, best class "
        "| minutes to 0.60 | epochs | training minutes | machine |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    return "\n".join(head + [text for _, text in rows])


def updated_readme(text: str) -> str:
    """``text`` (the README) with the table of finished runs between the markers."""
    try:
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"README.md lacks the markers {START} ... {END}") from None
    return f"{before}{START}\n{table(finished_only=True)}\n{END}{after}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help="update README.md (finished runs only)",
    )
    args = parser.parse_args(argv)
    if args.write:
        README.write_text(updated_readme(README.read_text()))
        print(f"updated {README}")
    else:
        print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
