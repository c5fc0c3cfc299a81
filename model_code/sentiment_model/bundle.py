"""What the code/ folder of a model.tar.gz holds: the serving entry script (inference.py), the
whole sentiment_model package it imports, and requirements.txt (packages the inference container
installs at start). No list of modules to keep in step: the package ships as it is.

Written by a training job into its model folder (SageMaker archives that folder as it is) and
by sentiment.packaging whenever it builds model.tar.gz from a model folder."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SERVING_ENTRY = "inference.py"
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def entry_folder() -> Path:
    """The folder holding the entry scripts that go with this package: beside it in a checkout
    and in a training job's source folder; an installed wheel keeps them as data (pyproject.toml)."""
    beside = PACKAGE.parent
    if (beside / SERVING_ENTRY).is_file():
        return beside
    return Path(sys.prefix) / "share" / "sentiment-on-sagemaker" / "model_code"
# Only the seed text pipeline (stemming, HTML parsing) needs packages beyond the inference
# container's torch and numpy.
SEED_REQUIREMENTS = ("nltk>=3.8,<4", "beautifulsoup4>=4.12,<5")


def serving_requirements(preprocessing_settings: dict) -> tuple[str, ...]:
    """Requirements for a model whose preprocessing.json holds preprocessing_settings."""
    seed = preprocessing_settings.get("stem") or preprocessing_settings.get("mode") == "seed"
    return SEED_REQUIREMENTS if seed else ()


def write_serving_code(model_dir: Path, preprocessing_settings: dict) -> Path:
    """code/ in model_dir: the serving entry script and this package."""
    code = Path(model_dir) / "code"
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    shutil.copyfile(entry_folder() / SERVING_ENTRY, code / SERVING_ENTRY)
    shutil.copytree(PACKAGE, code / PACKAGE.name, ignore=SKIPPED)
    (code / "requirements.txt").write_text(
        "# Packages the inference container installs before loading the model.\n"
        + "".join(f"{line}\n" for line in serving_requirements(preprocessing_settings)))
    return code
