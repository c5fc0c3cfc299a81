"""The delivery pipeline (`-c pipeline=true`): what it runs, in which order, in which accounts,
read from the synthesized SentimentPipeline template. Placeholders as in the committed snapshot:
dev 111111111111, prod 222222222222, eu-west-1, example-org/sentiment-on-sagemaker."""
from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace

import pytest

from sentiment.checks.bench_synth import CDK, cdk_environment
from sentiment.checks.smoke import parse_args as smoke_args
from sentiment.evaluation.drift_core import Profile, ReviewFigures, summarize
from sentiment.paths import ROOT
from stacks.config import ConfigError, DeploymentConfig
from stacks.delivery import build_pipeline, recorded_context
from stacks.pipeline_stack import DRIFT_PROFILE_COMMAND, PIPELINE_STACK_NAME, TEST_COMMAND
from stacks.review.snapshot import CONFIGURATIONS, PLACEHOLDER_PIPELINE, app_context, normalize, snapshot_path

DEV, PROD, REGION = "111111111111", "222222222222", "eu-west-1"
PIPELINE = CONFIGURATIONS["pipeline"]


def synthesize_pipeline(outdir: Path, context: dict) -> SimpleNamespace:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App
    from aws_cdk.assertions import Template

    app = App(context=app_context(context), outdir=str(outdir))
    stack = build_pipeline(app, app.node.try_get_context)
    app.synth()
    template_json = json.loads((outdir / stack.template_file).read_text())
    (pipeline,) = [r["Properties"] for r in template_json["Resources"].values()
                   if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return SimpleNamespace(outdir=outdir, stack=stack, json=template_json, template=Template.from_json(template_json),
                           stages={stage["Name"]: stage["Actions"] for stage in pipeline["Stages"]},
                           stage_names=[stage["Name"] for stage in pipeline["Stages"]], properties=pipeline)


@pytest.fixture(scope="module")
def pipeline_app(fixtures_dir, tmp_path_factory):
    # No pretrained channel, as the synth fixture's stacks have none, so that the stages can be
    # compared with them (test_a_stage_deploys_the_stacks_make_deploy_does).
    return synthesize_pipeline(tmp_path_factory.mktemp("pipeline.out"),
                               {**PIPELINE, "trainingData": str(fixtures_dir / "dataset"), "pretrainedCheckpoint": ""})


def joined(value) -> str:
    """A Fn::Join / Fn::Sub of literals and AWS::Partition, as CloudFormation resolves it in aws."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        assert value["Ref"] == "AWS::Partition", value
        return "aws"
    if "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${AWS::Partition}", "aws")
    separator, parts = value["Fn::Join"]
    return separator.join(joined(part) for part in parts)


def run_orders(actions, predicate) -> list[int]:
    return [action["RunOrder"] for action in actions if predicate(action)]


def is_deploy(action) -> bool:
    return action["ActionTypeId"]["Provider"] == "CloudFormation"


# Order -----------------------------------------------------------------------------------------

def test_stages_run_source_build_self_update_assets_dev_prod(pipeline_app):
    """The pipeline updates itself before it deploys anything, and prod comes after dev."""
    assert pipeline_app.stage_names == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]


def test_dev_deploys_state_model_web_then_smoke_tests_them(pipeline_app):
    actions = pipeline_app.stages["Dev"]
    deploys = [action["Name"] for action in sorted(actions, key=lambda a: a["RunOrder"]) if is_deploy(action)]
    (smoke,) = run_orders(actions, lambda a: a["Name"] == "SmokeDev")

    assert deploys == [f"Sentiment{kind}-dev.{step}" for kind in ("State", "Model", "Web")
                       for step in ("Prepare", "Deploy")]
    assert max(run_orders(actions, is_deploy)) < smoke


def test_prod_waits_for_approval_deploys_then_smoke_tests(pipeline_app):
    """Nothing reaches prod before a person approves; the smoke test runs on what was deployed."""
    actions = pipeline_app.stages["Prod"]
    (approval,) = [action for action in actions if action["ActionTypeId"]["Category"] == "Approval"]
    (smoke,) = run_orders(actions, lambda a: a["Name"] == "SmokeProd")

    assert approval["Name"] == "PromoteToProd"
    assert approval["RunOrder"] < min(run_orders(actions, is_deploy))
    assert max(run_orders(actions, is_deploy)) < smoke
    assert [a["Name"] for a in actions if is_deploy(a)] == [f"Sentiment{kind}-prod.{step}"
                                                            for kind in ("State", "Model", "Web")
                                                            for step in ("Prepare", "Deploy")]


def test_the_pipeline_is_v2_and_mutates_itself(pipeline_app):
    """V2 is what docs/deployment.md prices (per action-minute); self-mutation keeps the pipeline
    in step with the branch, with the CDK CLI that package.json pins."""
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    spec, _, _ = build_spec(pipeline_app, "SelfMutate", "UpdatePipeline")

    assert pipeline_app.properties["PipelineType"] == "V2"
    assert f"npm install -g aws-cdk@{pinned}" in spec["phases"]["install"]["commands"]


# Accounts --------------------------------------------------------------------------------------

def deploy_roles(pipeline_app, stage: str) -> set[str]:
    return {joined(action["RoleArn"]) for action in pipeline_app.stages[stage] if is_deploy(action)}


def test_dev_and_prod_deploy_through_their_accounts_bootstrap_roles(pipeline_app):
    """`cdk bootstrap --trust <pipeline account>` in each account creates these roles; the
    pipeline deploys nothing through roles of its own."""
    assert deploy_roles(pipeline_app, "Dev") == {f"arn:aws:iam::{DEV}:role/cdk-hnb659fds-deploy-role-{DEV}-{REGION}"}
    assert deploy_roles(pipeline_app, "Prod") == {f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role-{PROD}-{REGION}"}


def test_a_custom_bootstrap_qualifier_names_the_roles(fixtures_dir, tmp_path):
    app = synthesize_pipeline(tmp_path, {**PIPELINE, "trainingData": str(fixtures_dir / "dataset"),
                                         "@aws-cdk/core:bootstrapQualifier": "acme12345"})

    assert deploy_roles(app, "Prod") == {f"arn:aws:iam::{PROD}:role/cdk-acme12345-deploy-role-{PROD}-{REGION}"}


def test_a_permissions_boundary_reaches_the_pipelines_own_roles(fixtures_dir, tmp_path):
    """A landing zone that requires the boundary on every role would refuse the pipeline's roles
    (CodeBuild projects, actions, self-mutation, assets) without it."""
    app = synthesize_pipeline(tmp_path, {**PIPELINE, "trainingData": str(fixtures_dir / "dataset"),
                                         "permissionsBoundary": "acme-workload-boundary"})
    roles = app.template.find_resources("AWS::IAM::Role")

    assert roles and {json.dumps(role["Properties"].get("PermissionsBoundary")) for role in roles.values()} == \
        {json.dumps(f"arn:aws:iam::{DEV}:policy/acme-workload-boundary")}


def manifest_environment(outdir: Path, artifact: str) -> str:
    return json.loads((outdir / "manifest.json").read_text())["artifacts"][artifact]["environment"]


def test_the_pipeline_lives_in_the_dev_account_unless_pipeline_account_is_set(pipeline_app, fixtures_dir):
    from aws_cdk import App

    assert manifest_environment(pipeline_app.outdir, PIPELINE_STACK_NAME) == f"aws://{DEV}/{REGION}"
    app = App(context=app_context({**PIPELINE, "trainingData": str(fixtures_dir / "dataset"),
                                   "pipelineAccount": "333333333333"}))
    assert build_pipeline(app, app.node.try_get_context).account == "333333333333"


def test_artifacts_are_encrypted_with_a_rotated_key_the_stage_accounts_may_use(pipeline_app):
    """cross_account_keys: the dev and prod deploy roles read the artifacts through the key."""
    (key,) = pipeline_app.template.find_resources("AWS::KMS::Key").values()
    principals = json.dumps(key["Properties"]["KeyPolicy"])

    assert key["Properties"]["EnableKeyRotation"] is True
    assert f":iam::{DEV}:role/cdk-hnb659fds-deploy-role-" in principals
    assert f":iam::{PROD}:role/cdk-hnb659fds-deploy-role-" in principals


# Steps -----------------------------------------------------------------------------------------

def build_spec(pipeline_app, action_name: str, stage: str) -> dict:
    (action,) = [a for a in pipeline_app.stages[stage] if a["Name"] == action_name]
    project = pipeline_app.json["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    return json.loads(project["Properties"]["Source"]["BuildSpec"]), project, action


def test_synth_tests_synthesizes_and_lints_and_stops_at_the_first_failure(pipeline_app):
    """The README's test command, then the templates: `make synth` runs cdk-nag (a finding fails
    synthesis), cfn-lint reads what the stages deploy. CodeBuild stops at a failing command."""
    spec, _, _ = build_spec(pipeline_app, "Synth", "Build")
    commands = spec["phases"]["build"]["commands"]
    readme = (ROOT / "README.md").read_text()

    assert re.search(rf"^{re.escape(TEST_COMMAND)}\s+# the test suite", readme, re.MULTILINE)
    assert commands[0] == TEST_COMMAND
    (synth,) = [index for index, command in enumerate(commands) if "-c pipeline=true" in command]
    (lint,) = [index for index, command in enumerate(commands) if "cfn-lint" in command]
    assert commands.index("make prepare") < synth < lint
    assert "cdk.out/assembly-*/*.template.json" in commands[lint]
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_the_synth_step_passes_the_deploy_time_context_again(pipeline_app):
    """A setting given on the one-time `cdk deploy` command line survives every later synth and
    self-mutation; cdk.json keeps the project's defaults, which `make test` checks."""
    spec, _, _ = build_spec(pipeline_app, "Synth", "Build")
    (synth,) = [command for command in spec["phases"]["build"]["commands"] if command.startswith("node_modules/.bin/cdk synth")]

    for key in ("sourceRepository", "sourceConnectionArn", "devAccount", "prodAccount", "region", "alarmTopicArn"):
        assert f"-c {key}={PIPELINE[key]}" in synth
    # The fixture's empty pretrainedCheckpoint (no channel) is recorded too, so it keeps meaning
    # no channel on every run; a path of the deploying machine (trainingData) is not.
    assert "-c pretrainedCheckpoint= " in synth
    assert synth.count("-c ") == 1 + 6 + 1 and "trainingData" not in synth



def synth_step_commands(app) -> list[str]:
    spec, _, _ = build_spec(app, "Synth", "Build")
    return spec["phases"]["build"]["commands"]


def write_drift_profile(path: Path) -> Path:
    """A small valid profile: the stages' synthesis only needs one it can read."""
    reference = [ReviewFigures(40 + i % 60, i % 3, False, (i % 10) / 10) for i in range(200)]
    chances = {100: {"unknown_token_rate": 0.003, "length": 0.12, "not_english": 0.0, "score": 0.12}}
    profile = Profile({"mode": "default", "vocab_size": 30000, "max_tokens": 400, "truncation": "head_tail",
                       "stem": False, "stopwords": []}, ("the", "film", "good"), summarize(reference), chances)
    path.write_text(profile.dumps(), encoding="utf-8")
    return path


def test_the_synth_step_writes_no_drift_profile_while_no_stage_checks_drift(pipeline_app):
    """The committed pipeline's configuration leaves driftCheck off in both stages (cdk.json's
    default), so its synth step, and its snapshot, spend no time on a profile nothing reads."""
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert shipped["driftCheck"] is False and "driftCheck" not in PIPELINE
    assert not any(block.get("driftCheck") for block in shipped["stages"].values())

    assert DRIFT_PROFILE_COMMAND not in synth_step_commands(pipeline_app)


def test_stages_that_check_drift_get_their_profile_written_before_synthesis(fixtures_dir, tmp_path):
    """Synthesis refuses driftCheck without a readable profile, and CodeBuild's checkout has none:
    when the pipeline is deployed with the check on (recorded, so every run passes it again), the
    synth step writes the profile after the dataset and before `cdk synth`. The deploying machine's
    profile path is not passed again: CodeBuild reads the default path, which the step wrote."""
    profile = write_drift_profile(tmp_path / "profile.json")
    app = synthesize_pipeline(tmp_path / "cdk.out", {
        **PIPELINE, "trainingData": str(fixtures_dir / "dataset"), "endpointMode": "realtime",
        "dataCapture": "true", "driftCheck": "true", "driftProfile": str(profile)})
    for stage in (app.stack.dev_stage, app.stack.prod_stage):
        assert stage.deployment.web.node.try_find_child("DriftCheck") is not None

    commands = synth_step_commands(app)
    (synth,) = [index for index, command in enumerate(commands) if command.startswith("node_modules/.bin/cdk synth")]
    assert commands.count(DRIFT_PROFILE_COMMAND) == 1
    assert commands.index("make prepare") < commands.index(DRIFT_PROFILE_COMMAND) < synth
    assert "-c driftCheck=true" in commands[synth] and "driftProfile" not in commands[synth]


def test_make_drift_profile_writes_where_the_stacks_read_for_the_served_model():
    """The target writes driftProfile's default path, from the Makefile's model and IMDb source
    (the ones `make prepare` and the stacks use), so the synth step needs no flags."""
    dry_run = subprocess.run(["make", "-n", "drift-profile", "MODEL=build/other-model", "IMDB=/data/imdb"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    (command,) = [line.split() for line in dry_run.splitlines() if " drift --write-profile " in line]
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"]["driftProfile"]
    (default,) = [field.default for field in fields(DeploymentConfig) if field.name == "drift_profile"]

    assert command[0].endswith("/sentiment")
    assert ROOT / command[command.index("--write-profile") + 1] == default == ROOT / shipped
    assert command[command.index("--model") + 1] == "build/other-model"
    assert command[command.index("--reference") + 1] == "/data/imdb"


def test_recorded_context_is_what_cdk_json_does_not_say_without_local_paths():
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"]
    context = {**shipped, "stage": "prod", "pipeline": "true", "devAccount": DEV, "canary": shipped["canary"],
               "trainingData": "/home/someone/data/processed", "modelArtifact": "models/default",
               "@aws-cdk/core:bootstrapQualifier": "acme12345"}

    assert recorded_context(context.get) == {"devAccount": DEV, "modelArtifact": "models/default",
                                             "@aws-cdk/core:bootstrapQualifier": "acme12345"}


def test_steps_get_a_git_clone_through_the_connection_under_both_prefixes(pipeline_app):
    """The test suite reads `git ls-files`, so the source is a clone, which the synth and smoke
    projects make through the connection. IAM matches an action's prefix to the ARN's: a
    codeconnections ARN needs codeconnections:UseConnection, which CDK does not grant."""
    (source,) = pipeline_app.stages["Source"]
    connection = PIPELINE["sourceConnectionArn"]
    users = set()
    for logical_id, policy in pipeline_app.template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.endswith(":UseConnection") for action in actions):
                assert sorted(actions) == ["codeconnections:UseConnection", "codestar-connections:UseConnection"]
                assert statement["Resource"] == connection
                users.add(policy["Properties"]["Roles"][0]["Ref"])

    assert source["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    # The source action's role, the synth project's and the two smoke projects', no other.
    prefixes = ("PipelineSource", "PipelineBuildSynth", "PipelineDevSmokeDev", "PipelineProdSmokeProd")
    assert len(users) == len(prefixes)
    assert all(any(user.startswith(prefix) for user in users) for prefix in prefixes)


def test_each_smoke_step_reads_its_own_stages_urls(pipeline_app):
    """SITE_URL and API_URL come from that stage's web stack outputs, the ones smoke.py needs."""
    for stage in ("Dev", "Prod"):
        spec, _, action = build_spec(pipeline_app, f"Smoke{stage}", stage)
        (web_deploy,) = [a for a in pipeline_app.stages[stage] if a["Name"] == f"SentimentWeb-{stage.lower()}.Deploy"]
        variables = {v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])}

        assert variables == {"SITE_URL": f"#{{{web_deploy['Namespace']}.SiteUrl}}",
                             "API_URL": f"#{{{web_deploy['Namespace']}.ApiUrl}}"}
        assert spec["phases"]["build"]["commands"] == ['.venv/bin/sentiment smoke --site-url "$SITE_URL" '
                                                       '--api-url "$API_URL"']


def test_the_smoke_command_takes_the_urls_the_step_passes():
    args = smoke_args(["--site-url", "https://d1.cloudfront.net", "--api-url", "https://x.execute-api/dev"])

    assert (args.site_url, args.api_url) == ("https://d1.cloudfront.net", "https://x.execute-api/dev")


# Stages ----------------------------------------------------------------------------------------

def stage_templates(outdir: Path, stage: str) -> dict[str, dict]:
    """Stack name -> template of a stage's nested cloud assembly."""
    assembly = next(outdir.glob(f"assembly-*-{stage}"))
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {artifact["properties"]["stackName"]: json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
            for artifact in manifest["artifacts"].values() if artifact["type"] == "aws:cloudformation:stack"}


def test_each_stage_takes_its_block_of_cdk_json(pipeline_app):
    """Both stage configs come from the same context, stage forced: cdk.json's `stages` apply
    (dev serverless, prod real-time behind WAF)."""
    dev, prod = stage_templates(pipeline_app.outdir, "Dev"), stage_templates(pipeline_app.outdir, "Prod")
    types = {name: Counter(r["Type"] for r in t["Resources"].values()) for name, t in {**dev, **prod}.items()}

    assert set(dev) == {"SentimentState-dev", "SentimentModel-dev", "SentimentWeb-dev"}
    assert set(prod) == {"SentimentState-prod", "SentimentModel-prod", "SentimentWeb-prod"}
    assert "ServerlessConfig" in json.dumps(dev["SentimentModel-dev"])
    assert "ServerlessConfig" not in json.dumps(prod["SentimentModel-prod"])
    assert types["SentimentWeb-prod"]["AWS::WAFv2::WebACL"] == 1 and types["SentimentWeb-dev"]["AWS::WAFv2::WebACL"] == 0


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_stage_deploys_the_stacks_make_deploy_does(pipeline_app, synth, stage):
    """The snapshot leaves the stages' templates out because they are the stage snapshots' stacks:
    same names, resources, logical ids and IAM statements as `make deploy STAGE=<stage>` with the
    same context, so the pipeline updates a stage deployed by hand in place. Only names CDK derives
    from the construct path differ (the API's Lambda permissions and deployment)."""
    by_hand = synth(**{**PLACEHOLDER_PIPELINE, "pipeline": False, "stage": stage})
    piped = stage_templates(pipeline_app.outdir, stage.capitalize())
    path_named = {"AWS::Lambda::Permission", "AWS::ApiGateway::Deployment"}

    for name, template in zip(by_hand.stack_names, by_hand.templates):
        ours, theirs = template["Resources"], piped[name]["Resources"]
        assert Counter(r["Type"] for r in ours.values()) == Counter(r["Type"] for r in theirs.values()), name
        assert {k for k, r in ours.items() if r["Type"] not in path_named} == \
            {k for k, r in theirs.items() if r["Type"] not in path_named}, name
        policies = {k: r["Properties"] for k, r in ours.items() if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role")}
        assert policies == {k: theirs[k]["Properties"] for k in policies}, name
        assert template.get("Outputs") == piped[name].get("Outputs"), name


def test_a_stage_alone_is_checked_by_cdk_nag(fixtures_dir, tmp_path):
    """Each stage registers cdk-nag itself: an unacknowledged finding in a stage's stack fails
    synthesis even where the app adds no checks."""
    from aws_cdk import App
    from aws_cdk import aws_s3 as s3

    from stacks.delivery_stage import DeliveryStage

    app = App(context=app_context({**PIPELINE, "trainingData": str(fixtures_dir / "dataset")}), outdir=str(tmp_path))
    stage = DeliveryStage(app, "Dev", config=DeploymentConfig.from_context(app.node.try_get_context))
    s3.Bucket(stage.deployment.state, "Unreviewed")

    with pytest.raises(Exception, match="Dev/SentimentState-dev/Unreviewed"):
        app.synth()


def test_no_unacknowledged_cdk_nag_finding(pipeline_app):
    report_file = pipeline_app.outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {"pluginReports": []}

    assert [v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]] == []


# Configuration ---------------------------------------------------------------------------------

REQUIRED = ("sourceRepository", "sourceConnectionArn", "devAccount", "prodAccount", "region")


@pytest.mark.parametrize("key", REQUIRED)
def test_a_missing_key_is_a_one_line_error(tmp_path, key):
    (tmp_path / "manifest.json").write_text("{}")
    context = {**PIPELINE, "trainingData": str(tmp_path)}
    del context[key]

    with pytest.raises(ConfigError, match=f"^pipeline=true needs {key}: ") as raised:
        DeploymentConfig.from_context(context.get)
    assert "\n" not in str(raised.value)


def test_every_missing_key_is_named_at_once(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")

    with pytest.raises(ConfigError, match="^pipeline=true needs " + ", ".join(REQUIRED) + ":"):
        DeploymentConfig.from_context({"pipeline": "true", "trainingData": str(tmp_path)}.get)


def test_prod_needs_an_alarm_destination_in_the_pipeline_too(fixtures_dir):
    """The pipeline parses prod as `make deploy STAGE=prod` would: prod's rule still holds."""
    from aws_cdk import App

    context = {key: value for key, value in PIPELINE.items() if key != "alarmTopicArn"}
    app = App(context=app_context({**context, "trainingData": str(fixtures_dir / "dataset")}))

    with pytest.raises(ConfigError, match="^prod needs an alarm destination"):
        build_pipeline(app, app.node.try_get_context)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("sourceConnectionArn", "arn:aws:iam::111111111111:role/x", "a CodeConnections connection ARN"),
    ("sourceRepository", "sentiment-on-sagemaker", "a GitHub repository as owner/name"),
    ("sourceBranch", "", "a branch name"),
    ("pipelineAccount", "1234", "a 12-digit AWS account id"),
])
def test_a_bad_pipeline_value_is_a_one_line_error(tmp_path, key, value, message):
    (tmp_path / "manifest.json").write_text("{}")

    with pytest.raises(ConfigError, match=f"^{key} must be {message}"):
        DeploymentConfig.from_context({**PIPELINE, key: value, "trainingData": str(tmp_path)}.get)


@pytest.mark.parametrize("arn", [
    "arn:aws:codeconnections:eu-west-1:111111111111:connection/39e4c34d-e13a-4e94-a886-ea67651bf042",
    "arn:aws:codestar-connections:eu-west-1:111111111111:connection/39e4c34d-e13a-4e94-a886-ea67651bf042",
])
def test_both_connection_arn_spellings_are_accepted(tmp_path, arn):
    (tmp_path / "manifest.json").write_text("{}")
    config = DeploymentConfig.from_context({**PIPELINE, "sourceConnectionArn": arn, "trainingData": str(tmp_path)}.get)

    assert (config.source_connection_arn, config.source_branch, config.delivery_account) == (arn, "main", DEV)


# The CDK CLI -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not CDK.exists(), reason="node_modules missing; `make node` installs the CDK CLI")
def test_cli_synthesizes_the_pipeline_as_its_committed_snapshot(tmp_path, fixtures_dir):
    """`cdk synth -c pipeline=true`, as the pipeline's own synth step and the one-time
    `cdk deploy` run it, writes the pipeline stack review saw and both stages' assemblies."""
    context = {**PIPELINE, "trainingData": str(fixtures_dir / "dataset")}
    command = [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(tmp_path / "cdk.out")]
    for key, value in context.items():
        command += ["--context", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    result = subprocess.run(command, cwd=ROOT, env=cdk_environment(), capture_output=True, text=True,
                            timeout=300, check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {name for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"}
    assert stacks == {PIPELINE_STACK_NAME}
    synthesized = json.loads((tmp_path / "cdk.out" / f"{PIPELINE_STACK_NAME}.template.json").read_text())
    assert normalize(synthesized) == json.loads(snapshot_path("pipeline", PIPELINE_STACK_NAME).read_text())
    assert set(stage_templates(tmp_path / "cdk.out", "Prod")) == {"SentimentState-prod", "SentimentModel-prod",
                                                                   "SentimentWeb-prod"}
