"""The project's pinned CDK CLI (package.json, `make node`) synthesizes the app offline, as a
person running `cdk synth` or `cdk deploy` would."""
from __future__ import annotations

import json
import subprocess

import pytest

from sentiment.checks.bench_synth import CDK, ROOT, cdk_environment
from stacks.review.snapshot import CONFIGURATIONS, normalize, snapshot_path, stacks_of

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


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cli_synthesizes_each_stage_offline_as_its_committed_snapshots(tmp_path, fixtures_dir, stage):
    """What `cdk synth`/`cdk deploy -c stage=...` send is what review saw: the CLI reads settings
    the in-process synthesis does not (cdk.json's top-level versionReporting, for one; in
    `context` it is ignored and every stack gains an AWS::CDK::Metadata resource), and it merges
    `-c stage=prod` into cdk.json's context the way the app expects."""
    assert CONFIGURATIONS[stage]["stage"] == stage
    context = [f"trainingData={fixtures_dir / 'dataset'}"] + \
        ([] if stage == "dev" else [f"{key}={value}" for key, value in CONFIGURATIONS[stage].items()])
    result = cdk_synth(tmp_path, *context)

    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {name for name, artifact in manifest["artifacts"].items()
              if artifact["type"] == "aws:cloudformation:stack"}
    assert stacks == set(stacks_of(stage))
    for stack in stacks_of(stage):
        synthesized = json.loads((tmp_path / "cdk.out" / f"{stack}.template.json").read_text())
        committed = json.loads(snapshot_path(stage, stack).read_text())
        assert "AWS::CDK::Metadata" not in {r["Type"] for r in synthesized["Resources"].values()}
        assert normalize(synthesized) == committed, f"{stack}: `cdk synth` differs from its snapshot"


def test_cli_stops_on_a_missing_dataset_naming_the_command_that_prepares_it(tmp_path):
    result = cdk_synth(tmp_path, f"trainingData={tmp_path / 'no-data'}")

    assert result.returncode != 0
    assert "run `make prepare` (sentiment prepare" in result.stderr
    assert "Traceback" not in result.stderr
