"""The delivery pipeline (CDK Pipelines): a push to the configured branch is tested, synthesized
and checked, deployed to dev and smoke-tested there, then, after a person approves, deployed to
prod and smoke-tested again. The pipeline updates itself first when its own definition changed.

    Source -> Build (Synth) -> UpdatePipeline -> Assets -> Dev (+ SmokeDev)
           -> Prod (PromoteToProd, deploy, SmokeProd)

`cdk deploy -c pipeline=true ... SentimentPipeline` creates it once (docs/deployment.md, "Delivery
pipeline"; stacks/delivery.py builds it from the context); from then on pushes deploy.
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from aws_cdk import Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import REPO_ROOT, DeploymentConfig
from stacks.delivery_stage import DeliveryStage
from stacks.pipeline_nag import acknowledge_pipeline_findings
from stacks.web_stack import SentimentWebStack

PIPELINE_STACK_NAME = "SentimentPipeline"
# The README's test command: the whole suite. On the build image the browser tests (no chromium)
# and the SageMaker toolkit tests (no Java 17) skip; the GitHub workflow runs those.
TEST_COMMAND = "make test"
SYNTH_INSTALL = ["make venv node"]
DRIFT_PROFILE_COMMAND = "make drift-profile"
# The CDK CLI is called directly (not through make) so each recorded context value is one shell word.
CLI_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_CLI_TELEMETRY": "true",
           "CDK_DISABLE_VERSION_CHECK": "1"}


def synth_commands(context: Mapping[str, str], *, drift_profile: bool = False) -> list[str]:
    """The synth step's build commands; CodeBuild stops at the first that fails. drift_profile:
    a stage turns driftCheck on, so its synthesis reads the profile `make drift-profile` writes."""
    pairs = " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in {"pipeline": "true", **context}.items())
    return [
        TEST_COMMAND,
        # The training channel (data/processed) from the official IMDb archive; seeded, so the same
        # archive gives the same dataset hash and an unchanged recipe does not retrain.
        "make prepare",
        # build/drift/profile.json (driftProfile's default) for models/default, against the IMDb
        # archive prepare just cached; only when a stage checks drift (no profile, no synthesis).
        *([DRIFT_PROFILE_COMMAND] if drift_profile else []),
        # cdk-nag runs on every stack (a finding fails synthesis); the templates go to cdk.out/.
        f"node_modules/.bin/cdk synth --no-notices --quiet {pairs}",
        # cfn-lint with the project's rules on exactly the templates the pipeline deploys.
        ".venv/bin/cfn-lint --config-file .cfnlintrc.yaml -- cdk.out/*.template.json cdk.out/assembly-*/*.template.json",
    ]


# CDK Pipelines' default image (Ubuntu 22.04), with the runtimes the Makefile expects.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIMES = {"version": "0.2", "phases": {"install": {"runtime-versions": {"python": "3.11", "nodejs": "20"}}}}
# PyPI's Linux torch wheel pulls in CUDA (gigabytes) that the CPU-only tests never use.
SYNTH_ENV = {"PIP_EXTRA_INDEX_URL": "https://download.pytorch.org/whl/cpu", **CLI_ENV}
# Self-mutation deploys the pipeline with the CDK CLI the project pins, not whatever is newest.
CDK_CLI_VERSION = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]


class SentimentPipelineStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, dev: DeploymentConfig, prod: DeploymentConfig,
                 synth_context: Mapping[str, str], **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        # A git clone, not a zip of the files: the test suite reads `git ls-files`.
        source = pipelines.CodePipelineSource.connection(dev.source_repository, dev.source_branch,
                                                         connection_arn=dev.source_connection_arn,
                                                         code_build_clone_output=True)
        self.pipeline = pipelines.CodePipeline(
            self, "Pipeline", pipeline_name="sentiment-delivery",
            # Dev and prod are other accounts: their deploy roles must read the artifacts.
            cross_account_keys=True, enable_key_rotation=True, cli_version=CDK_CLI_VERSION,
            # One CodeBuild project publishes every file asset, in one action: fewer projects, roles
            # and action-minutes than one of each per asset.
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=codebuild.BuildSpec.from_object(RUNTIMES)),
            # The test suite runs on every core (pytest -n auto): 8 vCPUs, 15 GB.
            synth_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.LARGE)),
            synth=pipelines.ShellStep("Synth", input=source, env=SYNTH_ENV, install_commands=SYNTH_INSTALL,
                                      commands=synth_commands(synth_context, drift_profile=dev.drift_check or prod.drift_check),
                                      primary_output_directory="cdk.out"),
        )
        self.dev_stage = DeliveryStage(self, "Dev", config=dev)
        self.pipeline.add_stage(self.dev_stage, post=[smoke_step("SmokeDev", source, self.dev_stage.deployment.web)])
        self.prod_stage = DeliveryStage(self, "Prod", config=prod)
        self.pipeline.add_stage(
            self.prod_stage,
            pre=[pipelines.ManualApprovalStep("PromoteToProd", comment=(
                "Dev passed its smoke test. Approve to deploy this commit to prod (read the change sets "
                "of the Prod stage, or `sentiment diff`, first)."))],
            post=[smoke_step("SmokeProd", source, self.prod_stage.deployment.web)])
        self.pipeline.build_pipeline()
        grant_connection_by_its_prefix(self.pipeline, dev.source_connection_arn)
        acknowledge_pipeline_findings(self.pipeline)


def smoke_step(name: str, source: pipelines.IFileSetProducer, web: SentimentWebStack) -> pipelines.ShellStep:
    """`sentiment smoke` against a deployed stage's site and API, from its stack outputs. Only the
    package and requests are installed: the smoke test needs nothing else."""
    return pipelines.ShellStep(
        name, input=source,
        env_from_cfn_outputs={"SITE_URL": web.site_url_output, "API_URL": web.api_url_output},
        install_commands=["python -m venv .venv", ".venv/bin/pip install --quiet --no-deps .",
                          '.venv/bin/pip install --quiet "requests>=2.31,<3"'],
        commands=['.venv/bin/sentiment smoke --site-url "$SITE_URL" --api-url "$API_URL"'],
    )


def grant_connection_by_its_prefix(pipeline: pipelines.CodePipeline, connection_arn: str) -> None:
    """IAM matches an action's service prefix to the resource's, and CDK grants only
    codestar-connections:UseConnection; connections created since July 2024 have codeconnections
    ARNs. Every policy that grants such a connection also grants codeconnections:UseConnection."""
    if ":codeconnections:" not in connection_arn:
        return
    stack = Stack.of(pipeline)
    for policy in pipeline.node.find_all():
        if isinstance(policy, iam.Policy) and "codestar-connections:UseConnection" in json.dumps(stack.resolve(policy.document)):
            policy.add_statements(iam.PolicyStatement(actions=["codeconnections:UseConnection"], resources=[connection_arn]))
