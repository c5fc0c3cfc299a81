"""Fixtures shared by every test area (helpers that tests import live in tests/support.py)."""
import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from support import CHROMIUM, CHROMIUM_ARGS, synthetic_reviews, write_jsonl

from sentiment.paths import DEFAULT_MODEL


@pytest.fixture(scope="session")
def tiny_imdb(tmp_path_factory):
    """Folder with train.jsonl.gz and test.jsonl.gz of synthetic reviews."""
    root = tmp_path_factory.mktemp("imdb")
    write_jsonl(root / "train.jsonl.gz", synthetic_reviews(600, seed=1))
    write_jsonl(root / "test.jsonl.gz", synthetic_reviews(200, seed=2))
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tiny_imdb, tmp_path_factory):
    """A processed dataset folder made by `sentiment prepare` from tiny_imdb."""
    from sentiment.data import prepare as prepare_data

    out = tmp_path_factory.mktemp("processed")
    assert prepare_data.main(["--source", str(tiny_imdb), "--out", str(out), "--vocab-size", "200",
                              "--max-tokens", "60", "--workers", "2", "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_dataset, tmp_path_factory):
    """A model directory trained by model_code/train.py for a few seconds on tiny_dataset."""
    from sentiment_model import training

    model_dir = tmp_path_factory.mktemp("model")
    output = tmp_path_factory.mktemp("output")
    assert training.main(["--data-dir", str(tiny_dataset), "--model-dir", str(model_dir),
                       "--output-data-dir", str(output), "--epochs", "6", "--batch-size", "32",
                       "--embedding-dim", "16", "--hidden-dim", "16", "--lr", "0.01",
                       "--patience", "6", "--threads", "1", "--quiet"]) == 0
    return model_dir


@pytest.fixture(scope="session")
def stack_model(request):
    """models/default when it has been trained, else a seconds-long model built by the tests."""
    if (DEFAULT_MODEL / "model.pt").is_file():
        return DEFAULT_MODEL
    return request.getfixturevalue("tiny_model_dir")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---------------------------------------------------------------------------------------------
# The SageMaker toolkits (`make toolkits`; Java 17 for TorchServe). Their tests skip where they
# are not installed, and fail instead in CI, which sets SENTIMENT_REQUIRE_TOOLKITS=1.
# ---------------------------------------------------------------------------------------------

def _unavailable(reason: str) -> None:
    if os.environ.get("SENTIMENT_REQUIRE_TOOLKITS") == "1":
        pytest.fail(f"{reason}, and SENTIMENT_REQUIRE_TOOLKITS=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def serving_toolkit():
    """The serving toolkit and TorchServe's Python side, for handlers driven in-process."""
    if importlib.util.find_spec("sagemaker_pytorch_serving_container") is None or importlib.util.find_spec("ts") is None:
        _unavailable("the SageMaker serving toolkit is not installed (make toolkits)")


@pytest.fixture(scope="session")
def serving_stack(serving_toolkit):
    """Everything the real serving stack needs: the toolkit, TorchServe and Java."""
    from sentiment.local.toolkit_server import missing_requirements

    missing = missing_requirements()
    if missing:
        _unavailable("the real serving stack needs " + " and ".join(missing))


@pytest.fixture(scope="session")
def training_toolkit():
    """The SageMaker training toolkit with the PyTorch training image's entry module."""
    if importlib.util.find_spec("sagemaker_training") is None or importlib.util.find_spec("sagemaker_pytorch_container") is None:
        _unavailable("the SageMaker training toolkit is not installed (make toolkits)")
