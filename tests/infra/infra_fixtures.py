"""Fixtures for the infrastructure tests (a pytest plugin: test modules name it in
`pytest_plugins`, which keeps tests/conftest.py the only module called `conftest`).

Synthesizes the CDK app in-process, once per distinct configuration, from small fixtures.

Every synthesis reads cdk.json's context first (as the CDK CLI does) and runs cdk-nag, so any
unacknowledged finding fails the test that asked for that configuration.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from snapshot_templates import CONFIGURATIONS

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def make_dataset(folder: Path, content: bytes = b"\x93NUMPY fixture") -> Path:
    """Just enough of scripts/prepare_data.py's output for synthesis: a manifest and a file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"format_version": 1, "files": ["train.ids.npy"]}))
    (folder / "train.ids.npy").write_bytes(content)
    return folder


def make_model_dir(folder: Path) -> Path:
    """An unpacked model.tar.gz: weights, config and the serving code."""
    (folder / "code").mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_bytes(b"weights")
    (folder / "model_config.json").write_text("{}")
    (folder / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (folder / "code" / "requirements.txt").write_text("")
    return folder


class Synthesized:
    """The app's templates for one configuration, as plain JSON and as assertion Templates."""

    def __init__(self, outdir: Path, model_stack, web_stack):
        from aws_cdk.assertions import Template
        self.outdir = outdir
        self.model_json = json.loads((outdir / f"{model_stack.artifact_id}.template.json").read_text())
        self.web_json = json.loads((outdir / f"{web_stack.artifact_id}.template.json").read_text())
        self.model = Template.from_json(self.model_json)
        self.web = Template.from_json(self.web_json)


def synthesize(outdir: Path, overrides: dict) -> Synthesized:
    from aws_cdk import App

    from stacks.application import build
    from stacks.config import DeploymentConfig

    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **overrides}
    app = App(context=context, outdir=str(outdir))
    model_stack, web_stack = build(app, DeploymentConfig.from_context(app.node.try_get_context))
    app.synth()
    return Synthesized(outdir, model_stack, web_stack)


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
        key = tuple(sorted((k, str(v)) for k, v in overrides.items()))
        if key not in cache:
            cache[key] = synthesize(tmp_path_factory.mktemp("cdk.out"), overrides)
        return cache[key]

    return run


# The snapshot's second configuration: every option switched away from its default.
ALL_OPTIONS = CONFIGURATIONS["all-options"]


@pytest.fixture(scope="session")
def default_app(synth) -> Synthesized:
    """Training mode with a serverless endpoint, as cdk.json ships."""
    return synth()


@pytest.fixture(scope="session")
def options_app(synth) -> Synthesized:
    """Real-time endpoint with autoscaling, WAF, alarm email and dev mode all switched on."""
    return synth(**ALL_OPTIONS)


@pytest.fixture(scope="session")
def artifact_app(synth, fixtures_dir) -> Synthesized:
    """A locally trained model directory deployed as an asset; no cloud training."""
    return synth(modelArtifact=str(fixtures_dir / "model"))
