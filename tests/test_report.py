"""Tests of skfer._report: the report, train and evaluate commands."""

import argparse
import inspect
import json
import os
import re
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pytest

import skfer.__main__
from skfer._report import (
    add_evaluate_parser,
    add_report_parser,
    add_train_parser,
    fit_with_progress,
    parse_models,
)

#: tiny settings: the whole report in well under a minute
QUICK = ["--n-train", "210", "--n-test", "70", "--epochs", "2", "--filter-steps", "5"]


def _local_main(argv):
    """skfer.__main__.main with the three sub-commands, until it is wired."""
    parser = argparse.ArgumentParser(prog="skfer")
    parser.add_argument("--debug", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    add_report_parser(sub)
    add_train_parser(sub)
    add_evaluate_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"skfer: error: {exc}", file=sys.stderr)
        return 1


def cli(argv):
    if "add_report_parser" in inspect.getsource(skfer.__main__):
        return skfer.__main__.main(argv)
    return _local_main(argv)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    status = cli(["report", "--out", str(out), "--quiet", *QUICK])
    assert status == 0
    return out


def test_report_writes_page_figures_metrics_and_models(report):
    names = {p.name for p in report.iterdir()}
    assert {"index.html", "metrics.json", "curves.png", "activations_cnn.png"} <= names
    for model in ("cnn", "dnn", "ensemble"):
        assert f"{model}.joblib" in names
        assert f"confusion_{model}_Test.png" in names
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics["models"]) == {"cnn", "dnn", "ensemble"}
    scores = metrics["models"]["cnn"]["scores"]["Test"]
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "recall_disgust"):
        assert 0.0 <= scores[key] <= 1.0
    assert set(scores["recall"]) >= {"Disgust", "Fear"}
    assert metrics["models"]["cnn"]["training_seconds"] > 0
    assert metrics["seeds"]["networks"] == 0
    assert metrics["versions"]["tensorflow"] and metrics["versions"]["scikit-learn"]

    page = (report / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(not re.match(r"[a-z]+:|/", link) for link in links)
    assert all((report / link).is_file() for link in links)
    assert page.count("<img") == len([n for n in names if n.endswith(".png")])
    assert "<figcaption>" in page and "recall Disgust" in page


def test_evaluate_scores_a_saved_model(report, tmp_path, capsys):
    out = tmp_path / "scores.json"
    status = cli(
        ["evaluate", str(report / "cnn.joblib"), "--n-test", "70", "--json", str(out)]
    )
    assert status == 0
    assert "Test" in capsys.readouterr().out
    metrics = json.loads((report / "metrics.json").read_text())
    expected = metrics["models"]["cnn"]["scores"]["Test"]["accuracy"]
    got = json.loads(out.read_text())["scores"]["Test"]["accuracy"]
    assert got == pytest.approx(expected)


def test_train_writes_a_loadable_model(tmp_path, capsys):
    from skfer import load_model

    out = tmp_path / "dnn.joblib"
    argv = ["train", "--model", "dnn", "--n-train", "140", "--epochs", "1"]
    assert cli([*argv, "--out", str(out), "--quiet"]) == 0
    assert "saved" in capsys.readouterr().out
    assert load_model(out).predict(np.zeros((2, 2304), np.uint8)).shape == (2,)
    # an existing file is not replaced without --force
    assert cli([*argv, "--out", str(out), "--quiet"]) == 1
    assert "--force" in capsys.readouterr().err


def test_ctrl_c_keeps_the_best_model_so_far(tiny_cnn, expressions, tmp_path):
    from skfer import load_model, save_model
    from skfer._tf import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    X, y = expressions
    clf = tiny_cnn(epochs=5)
    result = fit_with_progress(clf, X, y, quiet=True, callbacks=[Interrupt()])
    assert result.interrupted and result.epochs == 2
    assert result.best_epoch in (1, 2)
    assert len(clf.history_["loss"]) == 2 and clf.callbacks is None
    assert clf.predict(X[:3]).shape == (3,)
    path = save_model(clf, tmp_path / "cnn.joblib")
    assert load_model(path).n_iter_ == 2


def test_ctrl_c_before_the_first_epoch_is_raised(tiny_cnn, expressions):
    from skfer._tf import keras

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt

    X, y = expressions
    with pytest.raises(KeyboardInterrupt):
        fit_with_progress(tiny_cnn(), X, y, quiet=True, callbacks=[Interrupt()])


def _assert_one_line_error(status, capsys, match):
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert len(err.splitlines()) == 1, err
    assert err.startswith("skfer: error:") and re.search(match, err), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "name, cls, size",
    [
        ("vgg", "FERVGGClassifier", ("block_filters", (8, 16, 32))),
        ("resnet", "FERResNetClassifier", ("stage_filters", (8, 16, 32))),
        ("densenet", "FERDenseNetClassifier", ("block_layers", (2, 2, 2))),
    ],
)
def test_train_modern_network_on_synthetic_faces(tmp_path, name, cls, size):
    import skfer

    out = tmp_path / f"{name}.joblib"
    argv = ["train", "--model", name, "--n-train", "140", "--epochs", "1"]
    assert cli([*argv, "--out", str(out), "--quiet"]) == 0
    model = skfer.load_model(out)
    assert isinstance(model, getattr(skfer, cls)) and model.n_iter_ == 1
    param, quick = size  # the small network of the synthetic faces
    assert tuple(getattr(model, param)) == quick
    assert model.predict(np.zeros((2, 2304), np.uint8)).shape == (2,)


def test_make_estimator_resnet_on_fer2013_keeps_the_recipe():
    from skfer import FERDenseNetClassifier, FERResNetClassifier
    from skfer._report._training import make_estimator

    est = make_estimator("resnet", synthetic=False, epochs=3, seed=5)
    assert isinstance(est, FERResNetClassifier)
    assert (est.epochs, est.random_state) == (3, 5)
    assert est.get_params()["stage_filters"] == FERResNetClassifier().stage_filters
    with pytest.raises(ValueError, match=r"make_estimator builds.*'densenet'"):
        make_estimator("ensemble", synthetic=True)
    dense = make_estimator("densenet", synthetic=False, seed=2)
    assert dense.get_params() == FERDenseNetClassifier(random_state=2).get_params()


def test_unknown_model_name(tmp_path, capsys):
    status = cli(["report", "--models", "cnn,svm", "--out", str(tmp_path / "r")])
    _assert_one_line_error(status, capsys, "unknown model name.*'svm'")
    assert parse_models(" DNN , cnn") == ["cnn", "dnn"]
    assert parse_models("ensemble,vgg") == ["vgg", "ensemble"]
    assert parse_models("ensemble,resnet,VGG") == ["vgg", "resnet", "ensemble"]
    assert parse_models("densenet,cnn") == ["cnn", "densenet"]


def test_unreadable_data(tmp_path, capsys):
    bad = tmp_path / "fer2013.csv"
    bad.write_bytes(b"\x00\x01 not a csv \xff")
    status = cli(["report", "--data", str(bad), "--out", str(tmp_path / "r")])
    _assert_one_line_error(status, capsys, "cannot read FER2013 data")
    status = cli(["report", "--data", str(tmp_path / "missing"), "--out", "r"])
    _assert_one_line_error(status, capsys, "cannot read FER2013 data")


def test_output_folder_with_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("mine")
    status = cli(["report", "--out", str(tmp_path), "--quiet", *QUICK])
    _assert_one_line_error(status, capsys, "already holds files.*--force")
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


@pytest.mark.parametrize("content", [b"just text\n", "dict"])
def test_evaluate_refuses_a_file_that_is_not_a_skfer_model(tmp_path, capsys, content):
    path = tmp_path / "model.joblib"
    if content == "dict":
        joblib.dump({"weights": [1, 2]}, path)
    else:
        path.write_bytes(content)
    status = cli(["evaluate", str(path), "--n-test", "70"])
    _assert_one_line_error(status, capsys, "not a skfer model|no skfer classifier")


def test_bad_input_exits_non_zero_without_traceback_in_a_process(tmp_path):
    # the real command: only meaningful once skfer.__main__ is wired
    if "add_report_parser" not in inspect.getsource(skfer.__main__):
        pytest.skip("skfer.__main__ does not add the report commands yet")
    proc = subprocess.run(
        [sys.executable, "-m", "skfer", "report", "--models", "svm"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("skfer: error: unknown model")
    assert "Traceback" not in proc.stderr


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed; CI must install Debian's chromium")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.mark.slow
def test_report_opens_in_a_headless_browser(report, tmp_path):
    chromium = _chromium()
    url = (report / "index.html").resolve().as_uri()
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [chromium, *flags, "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load script did not run"
    n_ok, n_images = map(int, loaded.groups())
    assert n_images >= 8 and n_ok == n_images

    shot = report / "screenshot.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
