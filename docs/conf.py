"""Sphinx configuration of the skfer documentation.

Build (from the repository root)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

The example gallery is run on the quick synthetic defaults; add
``-D plot_gallery=0`` to skip running the examples. Nothing here reaches the
network: no intersphinx inventories, no remote images or fonts.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))

# The gallery must run on the quick synthetic defaults, whatever the shell
# that builds the docs has set; SKFER_DOCS_FER2013=1 opts in to FER2013.
if os.environ.get("SKFER_DOCS_FER2013") != "1":
    os.environ.pop("SKFER_FER2013", None)
os.environ["MPLBACKEND"] = "Agg"

import matplotlib

matplotlib.use("Agg")

from skfer_docs import (
    GENERATED_API,
    check_api_complete,
    data_docstring,
    skip_member,
    validate_docstring,
    write_generated,
)

import skfer

# -- Project ------------------------------------------------------------------

project = "skfer"
author = "the skfer developers"
copyright = "the skfer developers"
version = release = skfer.__version__

# -- General ------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "sphinxext",
    "Thumbs.db",
    ".DS_Store",
    "_gen_*.rst",  # generated includes (skfer_docs.write_generated), not pages
]
default_role = "literal"
nitpicky = False  # no intersphinx: references to other projects stay plain text

# -- API reference ------------------------------------------------------------

write_generated(DOCS)  # before autosummary reads the sources
autosummary_generate = ["api.rst", *GENERATED_API.values()]
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Validation is done per kind of object by skfer_docs.validate_docstring
# (classes and functions need Examples, methods do not), so numpydoc's own
# validation is left off; set SKFER_DOCS_VALIDATE=0 to silence it.
skfer_validate_docstrings = os.environ.get("SKFER_DOCS_VALIDATE", "1") != "0"

# -- Example gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "skfer_docs.GalleryOrder",
    "doc_module": ("skfer",),
    "backreferences_dir": "generated/backreferences",
    "log_level": {"backreference_missing": "debug"},
    "remove_config_comments": True,
    "min_reported_time": 1,
    "download_all_examples": False,
    "show_memory": False,
}

# -- HTML -----------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"skfer {release}"
html_theme_options = {
    "description": "scikit-learn-compatible facial expression recognition",
    "fixed_sidebar": True,
    "show_relbars": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
    "font_family": "sans-serif",
    "head_font_family": "sans-serif",
    "code_font_family": "monospace",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_static_path = []
html_show_sourcelink = False


def setup(app):
    app.add_config_value("skfer_validate_docstrings", True, "env")
    app.connect("builder-inited", check_api_complete)
    app.connect("autodoc-skip-member", skip_member)
    app.connect("autodoc-process-docstring", data_docstring, priority=400)
    app.connect("autodoc-process-docstring", validate_docstring)
