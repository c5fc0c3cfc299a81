"""Where the project's folders are. The package is installed in editable mode from the
repository, so every path is computed once from this file, never from the working directory."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL_CODE = ROOT / "model_code"      # what ships to SageMaker as code/
LAMBDA_CODE = ROOT / "lambda"         # what ships to Lambda
WEBSITE = ROOT / "website"            # the static site
DEFAULT_MODEL = ROOT / "models" / "default"
SHARED_IMDB = ROOT.parent / "shared" / "data" / "imdb"   # a local copy of the reviews, where one exists
