"""Fixtures for the infrastructure tests: the CDK app synthesized in-process, once per distinct
configuration, from small stand-ins (tests/support.py's synthesize)."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from support import Synthesized, make_dataset, make_model_dir, synthesize

from stacks.review.snapshot import CONFIGURATIONS


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("infra-fixtures")
    make_dataset(root / "dataset")
    make_dataset(root / "dataset-changed", content=b"\x93NUMPY other reviews")
    make_model_dir(root / "model")
    return root


@pytest.fixture(scope="session")
def synth(fixtures_dir, tmp_path_factory):
    """synth(**context) -> Synthesized, cached per configuration for the whole session."""
    cache: dict[tuple, Synthesized] = {}

    def run(**overrides) -> Synthesized:
        overrides.setdefault("trainingData", str(fixtures_dir / "dataset"))
        # No `pretrained` channel unless a test asks for one: the app as tested stays the same
        # whether or not this checkout holds models/pretrained (tests/stacks/test_pretrained_checkpoint.py).
        overrides.setdefault("pretrainedCheckpoint", "")
        key = tuple(sorted((k, str(v)) for k, v in overrides.items()))
        if key not in cache:
            cache[key] = synthesize(tmp_path_factory.mktemp("cdk.out"), overrides)
        return cache[key]

    return run


# The snapshot configuration with every option switched away from its default.
ALL_OPTIONS = CONFIGURATIONS["all-options"]


@pytest.fixture(scope="session")
def default_app(synth) -> Synthesized:
    """The dev stage as cdk.json ships it (no -c stage): training, a serverless endpoint, a
    disposable artifacts bucket."""
    return synth()


@pytest.fixture(scope="session")
def prod_app(synth) -> Synthesized:
    """-c stage=prod: training, two real-time instances updated through the canary."""
    return synth(**CONFIGURATIONS["prod"])


@pytest.fixture(scope="session")
def options_app(synth) -> Synthesized:
    """prod with autoscaling, WAF, alarm email and a disposable bucket all switched on."""
    return synth(**ALL_OPTIONS)


@pytest.fixture(scope="session")
def artifact_app(synth, fixtures_dir) -> Synthesized:
    """A locally trained model directory deployed as an asset; no cloud training."""
    return synth(modelArtifact=str(fixtures_dir / "model"))


@pytest.fixture
def sagemaker(monkeypatch):
    """(client, stubber): a SageMaker client whose every call must be one the test gave the
    Stubber (checked against the real API model), and all of them used by the end."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
