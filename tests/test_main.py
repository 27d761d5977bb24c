import subprocess
import sys

from skfer.__main__ import main


def test_demo_trains_and_reports_accuracy(capsys):
    status = main(
        ["demo", "--n-train", "140", "--n-test", "70", "--epochs", "1", "--quiet"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "test accuracy:" in out and "trained 1 epochs" in out


def test_bad_arguments_exit_non_zero_with_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "skfer", "demo", "--n-train", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("skfer: error: n_samples")
    assert "Traceback" not in proc.stderr


def test_import_skfer_does_not_import_tensorflow():
    code = (
        "import sys, skfer; "
        "print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_tensorflow_import_is_quiet_by_default():
    code = "import skfer._tf as t; t.tf.constant(1) + 1"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={
            k: v
            for k, v in __import__("os").environ.items()
            if k != "TF_CPP_MIN_LOG_LEVEL"
        },
    )
    assert proc.stderr == ""
