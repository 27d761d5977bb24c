"""Packaging for skfer: scikit-learn-compatible facial expression recognition."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "skfer" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="skfer",
    version=VERSION,
    description=(
        "scikit-learn-compatible facial expression recognition (FER2013) "
        "with Keras CNN/DNN classifiers and inspection displays"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["skfer", "skfer.*"]),
    # the pretrained network's float16 weights and card (skfer.load_pretrained)
    package_data={"skfer": ["_weights/*.npz", "_weights/*.json"]},
    # Lower bounds are the versions the test-suite ran against (README,
    # "Tested versions"); older ones may work but are untested. No upper
    # bounds: none of these is known to break skfer yet.
    install_requires=[
        "numpy>=2.4",
        "scikit-learn>=1.9",  # __sklearn_tags__, ensure_all_finite
        "tensorflow>=2.21",  # Keras 3 as keras
        "keras>=3.15",
        "scikeras>=0.13",
        "imbalanced-learn>=0.14",  # the sampler protocol of the mirror step
        "matplotlib>=3.11",
        "joblib>=1.6",
        "pillow>=13.0",  # image-folder loader
    ],
    extras_require={
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "ruff>=0.6",
            "tf2onnx>=1.17",
            "onnxruntime>=1.32",
            "opencv-python-headless>=4.14,<5",
            "scikit-image>=0.26",  # test photos (skimage.data.astronaut)
            "dask[distributed]>=2026.8",
            "pandas>=3.1",  # scikit-learn's pandas input checks, photo tables
        ],
        "export": ["tf2onnx>=1.17", "onnxruntime>=1.32"],
        # FaceCropper, skfer predict; OpenCV 5 dropped the Haar cascades
        "photos": ["opencv-python-headless>=4.14,<5"],
        "docs": [
            "sphinx>=7",
            "numpydoc>=1.7",
            "sphinx-gallery>=0.16",
            "opencv-python-headless>=4.14,<5",
            "scikit-image>=0.26",
            "pandas>=3.1",
            "dask[distributed]>=2026.8",
        ],
        # joblib's dask backend and the TensorFlow-threads worker plugin
        "distributed": ["dask[distributed]>=2026.8"],
    },
    entry_points={"console_scripts": ["skfer=skfer.__main__:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
