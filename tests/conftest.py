"""Shared test setup: the code folders that ship separately are put on sys.path the way their
runtimes see them (SageMaker puts model_code/ on the path, Lambda puts lambda/ on it)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "model_code", ROOT / "lambda", ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

SHARED_DATA = ROOT.parent / "shared" / "data"
