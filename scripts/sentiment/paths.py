"""Where the project's folders are, computed once from this file, never from the working
directory. In a checkout (the editable install) they are the repository's own folders; an
installed wheel carries copies of the ones the command needs under sentiment/bundled/."""
from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]
IN_CHECKOUT = (_CHECKOUT / "model_code" / "sentiment_model").is_dir()
ROOT = _CHECKOUT if IN_CHECKOUT else Path(sys.prefix) / "share" / "sentiment-on-sagemaker"
MODEL_CODE = ROOT / "model_code"      # what ships to SageMaker: the entry scripts (and sentiment_model/ in a checkout)
LAMBDA_CODE = ROOT / "lambda"         # what ships to Lambda
WEBSITE = ROOT / "website"            # the static site
DEFAULT_MODEL = ROOT / "models" / "default"
SHARED_IMDB = _CHECKOUT.parent / "shared" / "data" / "imdb"   # a local copy of the reviews, where one exists
