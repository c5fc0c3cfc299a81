#!/usr/bin/env python3
"""Refreshes tests/snapshots/: the synthesized CloudFormation templates, committed so that a pull
request that changes the infrastructure shows the change as reviewable JSON.

Content hashes (assets, the dataset, the training job's name) are replaced by placeholders, so
the snapshot changes when the infrastructure does, not when a line of model, proxy or site code
does. tests/stacks/test_template_snapshot.py fails while the snapshot is stale.

    sentiment snapshot          # or: make snapshot
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from sentiment.paths import ROOT

SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
# Each snapshot is cdk.json's configuration plus these overrides: each stage as it ships (prod
# with the alarm destination it requires: a placeholder on-call topic), and prod with every other
# option switched away from its default (WAF, alarm mail, autoscaling, throttling, a disposable bucket,
# X-Ray tracing, placement in a VPC), and the delivery pipeline with placeholder accounts, repository and connection.
# The pipeline's snapshot is its own stack only: its Dev and Prod stages deploy the stacks of
# add_stacks, which the stage snapshots already show (tests/stacks/test_pipeline.py checks that
# each stage's stacks are the ones `make deploy` synthesizes for the same context).
PLACEHOLDER_ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:on-call"
PLACEHOLDER_PIPELINE = {
    "pipeline": True, "sourceRepository": "example-org/sentiment-on-sagemaker",
    "sourceConnectionArn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/"
                           "00000000-0000-4000-8000-000000000000",
    "devAccount": "111111111111", "prodAccount": "222222222222", "region": "eu-west-1",
    "alarmTopicArn": "arn:aws:sns:eu-west-1:222222222222:on-call",
}
CONFIGURATIONS = {
    "dev": {"stage": "dev"},
    "prod": {"stage": "prod", "alarmTopicArn": PLACEHOLDER_ALARM_TOPIC},
    "all-options": {"stage": "prod", "endpointMode": "realtime", "instanceType": "ml.c5.large",
                    "instanceCount": 2, "maxInstanceCount": 5, "targetInvocationsPerInstance": 250,
                    "waf": True, "wafRateLimit": 500, "alarmEmail": "ops@example.com", "dev": True,
                    "apiRateLimit": 7, "apiBurstLimit": 9, "tracing": True,
                    "vpcSubnetIds": "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719",
                    "vpcSecurityGroupIds": "sg-0a1b2c3d4e5f60718"},
    "pipeline": {"stage": "dev", **PLACEHOLDER_PIPELINE},
}
_HASHES = [
    (re.compile(r"[0-9a-f]{64}"), "<content-hash>"),
    (re.compile(r"\b(sentiment-[a-z]+-)[0-9a-f]{16}\b"), r"\1<inputs-hash>"),
    (re.compile(r"training-data/[0-9a-f]{16}/"), "training-data/<dataset-hash>/"),
    (re.compile(r"pretrained/[0-9a-f]{16}/"), "pretrained/<checkpoint-hash>/"),
]


def stacks_of(configuration: str) -> tuple[str, ...]:
    """The stack names a snapshot configuration synthesizes (they carry its stage; the pipeline's
    is the pipeline stack alone)."""
    from stacks.config import stack_names

    if CONFIGURATIONS[configuration].get("pipeline"):
        from stacks.pipeline_stack import PIPELINE_STACK_NAME

        return (PIPELINE_STACK_NAME,)
    return stack_names(CONFIGURATIONS[configuration]["stage"])


# Settings the CDK CLI reads from cdk.json's top level and hands the app as context (its
# defaults when absent). In-process synthesis passes the same, so the snapshot is what
# `cdk synth`/`cdk deploy` produce: path metadata, for one, changes the API deployment's id.
CLI_SETTINGS = {
    "versionReporting": ("aws:cdk:version-reporting", True),
    "pathMetadata": ("aws:cdk:enable-path-metadata", True),
    "assetMetadata": ("aws:cdk:enable-asset-metadata", True),
}


def app_context(overrides: dict) -> dict:
    """The context the CDK CLI would give app.py: its settings, cdk.json's context, overrides."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    settings = {key: cdk_json.get(setting, default) for setting, (key, default) in CLI_SETTINGS.items()}
    return {**settings, **cdk_json["context"], **overrides}


def normalize(value):
    """The template with every content-derived hash replaced by a placeholder."""
    if isinstance(value, dict):
        return {normalize(key): normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, str):
        for pattern, placeholder in _HASHES:
            value = pattern.sub(placeholder, value)
    return value


def snapshot_path(configuration: str, stack: str) -> Path:
    return SNAPSHOT_DIR / configuration / f"{stack}.template.json"


def render(template: dict) -> str:
    return json.dumps(normalize(template), indent=1, sort_keys=True) + "\n"


def synthesize(overrides: dict, workdir: Path) -> dict[str, dict]:
    """Templates by stack name for cdk.json's context plus overrides, with a stand-in dataset and a
    stand-in pretrained checkpoint: the templates show the `pretrained` channel as a deployment with
    models/pretrained has it, whether or not this checkout holds that folder."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    from stacks.application import build
    from stacks.config import DeploymentConfig
    from stacks.delivery import build_pipeline

    dataset = workdir / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    (dataset / "manifest.json").write_text("{}")
    checkpoint = workdir / "pretrained"
    checkpoint.mkdir(parents=True, exist_ok=True)
    (checkpoint / "model.pt").write_bytes(b"stand-in weights")
    context = app_context({"trainingData": str(dataset), "pretrainedCheckpoint": str(checkpoint), **overrides})
    app = App(context=context, outdir=str(workdir / "cdk.out"))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    # As app.py: the pipeline stack (its stages' templates lie in nested assemblies, not read here).
    stacks = (build_pipeline(app, app.node.try_get_context),) if config.pipeline else build(app, config).stacks
    app.synth()
    return {stack.stack_name: json.loads((workdir / "cdk.out" / stack.template_file).read_text())
            for stack in stacks}


def normalized_templates(configurations: list[str] | None = None,
                         context: dict[str, str] | None = None) -> dict[tuple[str, str], dict]:
    """(configuration, stack) -> the template synthesized now, normalized like the snapshots,
    for these configurations (default: all) with `context` on top of each one's overrides."""
    out = {}
    for configuration in configurations or CONFIGURATIONS:
        with tempfile.TemporaryDirectory() as workdir:
            overrides = {**CONFIGURATIONS[configuration], **(context or {})}
            for stack, template in synthesize(overrides, Path(workdir)).items():
                out[(configuration, stack)] = normalize(template)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    written = set()
    for (configuration, stack), template in normalized_templates().items():
        path = snapshot_path(configuration, stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template))
        written.add(path)
        print(f"wrote {path.relative_to(ROOT)}")
    # A configuration or stack that no longer exists leaves no stale template behind.
    for path in sorted(set(SNAPSHOT_DIR.glob("*/*.template.json")) - written):
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}")
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
