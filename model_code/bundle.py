"""What the code/ folder of a model.tar.gz holds: the inference handlers, the modules they
import, and requirements.txt (packages the inference container installs at start).

Written by a training job into its model folder (SageMaker archives that folder as it is) and
by sentiment.packaging whenever it builds model.tar.gz from a model folder."""
from __future__ import annotations

import shutil
from pathlib import Path

MODEL_CODE = Path(__file__).resolve().parent
SERVING_MODULES = ("inference.py", "toolkit_adapter.py", "artifact.py", "network.py", "ngrams.py", "preprocessing.py",
                   "explain.py", "bundle.py")
# Only the seed text pipeline (stemming, HTML parsing) needs packages beyond the inference
# container's torch and numpy.
SEED_REQUIREMENTS = ("nltk>=3.8,<4", "beautifulsoup4>=4.12,<5")


def serving_requirements(preprocessing_settings: dict) -> tuple[str, ...]:
    """Requirements for a model whose preprocessing.json holds preprocessing_settings."""
    seed = preprocessing_settings.get("stem") or preprocessing_settings.get("mode") == "seed"
    return SEED_REQUIREMENTS if seed else ()


def write_serving_code(model_dir: Path, preprocessing_settings: dict) -> Path:
    code = Path(model_dir) / "code"
    code.mkdir(parents=True, exist_ok=True)
    for name in SERVING_MODULES:
        shutil.copyfile(MODEL_CODE / name, code / name)
    (code / "requirements.txt").write_text(
        "# Packages the inference container installs before loading the model.\n"
        + "".join(f"{line}\n" for line in serving_requirements(preprocessing_settings)))
    return code
