"""The project's pinned CDK CLI (package.json, `make node`) synthesizes the app offline, as a
person running `cdk synth` or `cdk deploy` would."""
from __future__ import annotations

import json
import subprocess

import pytest

from sentiment.checks.bench_synth import CDK, ROOT, cdk_environment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CDK.exists(), reason="node_modules missing; `make node` installs the CDK CLI"),
]


def cdk_synth(tmp_path, *context: str) -> subprocess.CompletedProcess:
    command = [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(tmp_path / "cdk.out")]
    for pair in context:
        command += ["--context", pair]
    return subprocess.run(command, cwd=ROOT, env=cdk_environment(), capture_output=True, text=True,
                          timeout=300, check=False)


def test_cli_synthesizes_both_stacks_offline(tmp_path, fixtures_dir):
    result = cdk_synth(tmp_path, f"trainingData={fixtures_dir / 'dataset'}")

    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {name for name, artifact in manifest["artifacts"].items()
              if artifact["type"] == "aws:cloudformation:stack"}
    assert stacks == {"SentimentModel", "SentimentWeb"}


def test_cli_stops_on_a_missing_dataset_naming_the_command_that_prepares_it(tmp_path):
    result = cdk_synth(tmp_path, f"trainingData={tmp_path / 'no-data'}")

    assert result.returncode != 0
    assert "run `make prepare` (sentiment prepare" in result.stderr
    assert "Traceback" not in result.stderr
