"""Composes the delivery pipeline for app.py (`-c pipeline=true`) and the tools that synthesize
it: both stages' configs from one context, and the context the pipeline must pass again."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from aws_cdk import App, Environment, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from stacks.application import permissions_boundary
from stacks.config import REPO_ROOT, DeploymentConfig, context_keys
from stacks.pipeline_stack import PIPELINE_STACK_NAME, SentimentPipelineStack

BOOTSTRAP_QUALIFIER = "@aws-cdk/core:bootstrapQualifier"
# Not passed again: the pipeline forces each stage, and the dataset is prepared in the build.
NOT_RECORDED = ("stage", "pipeline")
PATH_KEYS = ("trainingData", "pretrainedCheckpoint", "modelArtifact", "driftProfile")


def build_pipeline(app: App, get: Callable[[str], Any]) -> SentimentPipelineStack:
    """The pipeline stack for the context `get` reads, each stage's config parsed from it as
    `make deploy STAGE=<stage>` would (ConfigError for the first bad value), with cdk-nag on the
    pipeline stack (each stage registers its own)."""
    dev, prod = (DeploymentConfig.from_context(stage_lookup(get, stage)) for stage in ("dev", "prod"))
    stack = SentimentPipelineStack(app, PIPELINE_STACK_NAME, dev=dev, prod=prod, synth_context=recorded_context(get),
                                   env=Environment(account=dev.delivery_account, region=dev.region),
                                   description="Sentiment service: the delivery pipeline (dev, then prod after approval)")
    # As the stages' stacks: the project's cost tag, and the landing zone's boundary on every role.
    Tags.of(stack).add("project", "sentiment-on-sagemaker")
    if dev.permissions_boundary:
        iam.PermissionsBoundary.of(stack).apply(permissions_boundary(stack, dev.permissions_boundary))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def stage_lookup(get: Callable[[str], Any], stage: str) -> Callable[[str], Any]:
    """The context lookup with `stage` forced, so cdk.json's `stages.<stage>` block applies."""
    return lambda key: stage if key == "stage" else get(key)


def recorded_context(get: Callable[[str], Any]) -> dict[str, str]:
    """The context the pipeline is deployed with beyond cdk.json's (the one-time `cdk deploy -c
    ...`), which its synth step passes again on every run: cdk.json keeps the project's defaults
    (its tests check them), and a self-mutation cannot drop a setting. A path is kept only when
    relative (a file of the checkout), not when it names a file of the deploying machine."""
    shipped = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    recorded = {}
    for key in [*context_keys(), BOOTSTRAP_QUALIFIER]:
        value = get(key)
        if key in NOT_RECORDED or value is None or value == shipped.get(key):
            continue
        if key in PATH_KEYS and (not isinstance(value, str) or PurePath(value).is_absolute()):
            continue
        recorded[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return recorded
