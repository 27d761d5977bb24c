# Two commands do everything on a fresh machine:
#   make report -- create/update .venv, install skfer, run the main job: train the
#                  CNN, the DNN and their ensemble on synthetic faces and write a
#                  browsable report to report/index.html
#   make test   -- create/update .venv, install skfer[dev], lint and run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skfer-installed

.PHONY: venv demo report test lint bench docs clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(PY) -m skfer demo

report: venv
	$(PY) -m skfer report --out report --force

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# one pytest worker per core (pytest-xdist); worksteal evens out the few
# minute-long subprocess tests. `.venv/bin/pytest` alone runs serially.
test: lint
	$(PY) -m pytest -n auto --dist worksteal --durations=25

DOCS_STAMP := $(VENV)/.skfer-docs-installed

$(DOCS_STAMP): $(STAMP) setup.py
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# the API reference and the example gallery (run on quick synthetic data)
docs: $(DOCS_STAMP)
	MPLBACKEND=Agg $(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: venv
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache report
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst docs/_gen_*.rst
