"""Run a planned experiment: its training, then the evaluations fixed for it.

A plan is a JSON file in ``benchmarks/plans/``, committed before its run (the
commit dates it; the CHANGELOG says why), that lists the steps in order::

    {
      "name": "vgg64-bf16-e60-s18",
      "fixed": "CHANGELOG, stop 42",
      "steps": [
        {"script": "accuracy.py",
         "args": ["--recipe", "vgg", "--seed", "18", "...",
                  "--checkpoint", "wip-checkpoints/vgg64-bf16-e60-s18"],
         "creates": "benchmarks/results/accuracy/vgg64-bf16-e60-s18.json"},
        {"script": "make_pretrained.py",
         "args": ["--run", "vgg64-bf16-e60-s18", "--out", "benchmarks/models"],
         "creates": "benchmarks/models/vgg64_bf16_e60_s18.json"}
      ]
    }

Each step runs one script of ``benchmarks/`` with its arguments, from the
repository root, and is done once the file it ``creates`` exists (for a
results file with a ``"final"`` entry, once that is no longer ``null``: a
training run still going writes its file every epoch). Done steps are
skipped, so after an interruption the same command resumes the plan where
it stopped; a training step given ``--checkpoint`` resumes from its last
epoch. A step that exits non-zero, or ends without its file done, stops the
plan with exit status 1, naming the step and its log (``runs/logs/`` by
default, one file per step, appended to)::

    .venv/bin/python benchmarks/plan.py benchmarks/plans/NAME.json --list
    nohup .venv/bin/python benchmarks/plan.py benchmarks/plans/NAME.json &

Given several plan files, it runs them one after the other, stopping at the
first that does not finish.

A plan file that cannot be read, or a step without a known script, a list
of string arguments or a ``creates`` path inside the repository, is refused
before anything runs (exit status 2); so is a second run of a plan while
one is going (a lock file beside the logs). A training step whose
checkpoint another run of ``accuracy.py`` holds (one started by hand, say)
is refused by ``accuracy.py`` itself, which stops the plan.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOGS = REPO / "runs" / "logs"
sys.path.insert(0, str(HERE))

from _common import hold_lock  # noqa: E402


def read_plan(path: Path, *, scripts: Path = HERE) -> dict:
    """The plan in ``path``, checked: a name and a list of well-formed steps."""
    try:
        plan = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("name"), str):
        raise ValueError(f'{path}: a plan is an object with a "name" string')
    steps = plan.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError(f'{path}: "steps" must be a non-empty list')
    for i, step in enumerate(steps, 1):
        where = f"{path}: step {i}"
        if not isinstance(step, dict):
            raise ValueError(f"{where}: a step is an object, got {step!r}")
        script = step.get("script")
        if not isinstance(script, str) or not (scripts / script).is_file():
            raise ValueError(f"{where}: no script {script!r} in {scripts}")
        args = step.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f'{where}: "args" must be a list of strings')
        creates = step.get("creates")
        if not isinstance(creates, str) or Path(creates).is_absolute():
            raise ValueError(
                f'{where}: "creates" must be a path relative to the repository, '
                f"got {creates!r}"
            )
        if ".." in Path(creates).parts:
            raise ValueError(f'{where}: "creates" leaves the repository: {creates}')
    return plan


def is_done(path: Path) -> bool:
    """Whether a step's file is there and, if a results file, final."""
    if not path.is_file():
        return False
    if path.suffix != ".json":
        return True
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    return not (isinstance(state, dict) and "final" in state and state["final"] is None)


def run_plan(
    plan: dict,
    *,
    repo: Path = REPO,
    scripts: Path = HERE,
    logs: Path = LOGS,
    python: str = sys.executable,
    echo=print,
) -> int:
    """Run the steps of ``plan`` not done yet, in order; 0 once all are done."""
    logs.mkdir(parents=True, exist_ok=True)
    for i, step in enumerate(plan["steps"], 1):
        creates = repo / step["creates"]
        label = f"step {i} ({step['script']})"
        if is_done(creates):
            echo(f"{label}: done, {step['creates']}")
            continue
        log = logs / f"{plan['name']}-{i}-{Path(step['script']).stem}.log"
        echo(f"{label}: running, log {log}")
        start = time.monotonic()
        with log.open("a") as out:
            code = subprocess.call(
                [python, str(scripts / step["script"]), *step.get("args", [])],
                cwd=repo,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        minutes = (time.monotonic() - start) / 60
        if code != 0:
            echo(f"{label}: exit status {code} after {minutes:.1f} min; see {log}")
            return 1
        if not is_done(creates):
            echo(f"{label}: ended without {step['creates']} done; see {log}")
            return 1
        echo(f"{label}: done in {minutes:.1f} min, {step['creates']}")
    echo(f"plan {plan['name']}: all {len(plan['steps'])} steps done")
    return 0


def main(argv=None, *, repo: Path = REPO, scripts: Path = HERE) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "plans", type=Path, nargs="+", help="plan files, run one after the other"
    )
    parser.add_argument(
        "--list", action="store_true", help="say which steps are done; run nothing"
    )
    parser.add_argument("--logs", type=Path, default=LOGS, help="folder of step logs")
    args = parser.parse_args(argv)
    try:
        plans = [read_plan(path, scripts=scripts) for path in args.plans]
    except ValueError as exc:
        print(f"plan: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for plan in plans:
            for i, step in enumerate(plan["steps"], 1):
                state = "done" if is_done(repo / step["creates"]) else "to run"
                print(f"{plan['name']} step {i} ({step['script']}): {state}, "
                      f"{step['creates']}")  # fmt: skip
        return 0
    args.logs.mkdir(parents=True, exist_ok=True)
    for plan in plans:
        lock_file = args.logs / f"{plan['name']}.lock"
        lock = hold_lock(lock_file)
        if lock is None:
            print(
                f"plan: {plan['name']} is already running ({lock_file})",
                file=sys.stderr,
            )
            return 2
        with lock:
            code = run_plan(
                plan,
                repo=repo,
                scripts=scripts,
                logs=args.logs,
                echo=lambda m: print(m, flush=True),
            )
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
