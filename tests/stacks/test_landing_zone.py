"""Deploying into a company's landing zone: its own bootstrap qualifier, a permissions boundary
on every role, fixed accounts and region per stage, and a prod that cannot be deleted by
accident or left without an alarm destination. One synthesis of prod with all of them set."""
from __future__ import annotations

import json

import pytest

from stacks.config import ConfigError, DeploymentConfig
from stacks.review.snapshot import CONFIGURATIONS

QUALIFIER = "acme12345"
BOUNDARY = "acme-workload-boundary"
DEV_ACCOUNT, PROD_ACCOUNT, REGION = "111111111111", "222222222222", "eu-west-1"
ON_CALL = f"arn:aws:sns:{REGION}:{PROD_ACCOUNT}:on-call"


@pytest.fixture(scope="module")
def landing_zone_app(synth):
    return synth(**{"stage": "prod", "@aws-cdk/core:bootstrapQualifier": QUALIFIER,
                    "permissionsBoundary": BOUNDARY, "devAccount": DEV_ACCOUNT, "prodAccount": PROD_ACCOUNT,
                    "region": REGION, "alarmTopicArn": ON_CALL})


def roles(template_json) -> dict[str, dict]:
    return {logical_id: resource for logical_id, resource in template_json["Resources"].items()
            if resource["Type"] == "AWS::IAM::Role"}


def test_a_custom_bootstrap_qualifier_synthesizes(landing_zone_app):
    """A landing zone bootstraps with its own qualifier; no name or cdk-nag acknowledgement may
    assume CDK's default, or synthesis fails on the deployment role's unacknowledged finding."""
    templates = "".join(map(str, landing_zone_app.templates))

    assert f"cdk-{QUALIFIER}-assets-" in templates
    assert "hnb659fds" not in templates


def test_every_role_has_the_permissions_boundary(landing_zone_app):
    """A landing zone's SCPs typically deny creating a role without the boundary: one role
    missing it (CDK's custom-resource providers are the usual culprits) fails the deploy."""
    for template in landing_zone_app.templates:
        for logical_id, role in roles(template).items():
            # A bare policy name is a policy of the account the stage deploys into.
            assert role["Properties"].get("PermissionsBoundary") == \
                f"arn:aws:iam::{PROD_ACCOUNT}:policy/{BOUNDARY}", logical_id


def test_no_role_has_a_boundary_unless_configured(default_app):
    """Without the key the roles are as before: a boundary that does not exist fails the deploy."""
    for template in default_app.templates:
        assert not [logical_id for logical_id, role in roles(template).items()
                    if "PermissionsBoundary" in role["Properties"]]


@pytest.mark.parametrize("value", ["arn:aws:iam::123456789012:policy/teams/acme-boundary", "acme-boundary"])
def test_the_boundary_is_a_policy_arn_or_name(tmp_path, value):
    (tmp_path / "manifest.json").write_text("{}")
    config = DeploymentConfig.from_context({"permissionsBoundary": value, "trainingData": str(tmp_path)}.get)

    assert config.permissions_boundary == value


@pytest.mark.parametrize("value", ["arn:aws:iam::1234:policy/x", "arn:aws:s3:::bucket", "two words"])
def test_a_bad_boundary_is_a_one_line_error(tmp_path, value):
    with pytest.raises(ConfigError, match="^permissionsBoundary must be an IAM policy ARN"):
        DeploymentConfig.from_context({"permissionsBoundary": value, "trainingData": str(tmp_path)}.get)


def environments(app) -> dict[str, str]:
    manifest = json.loads((app.outdir / "manifest.json").read_text())
    return {name: manifest["artifacts"][name]["environment"] for name in app.stack_names}


def test_prod_stacks_are_bound_to_the_prod_account_and_region(landing_zone_app):
    """The CDK CLI refuses to deploy a stack into another account than its own: prod deployed
    with dev's credentials fails instead of creating a second prod in dev's account."""
    assert set(environments(landing_zone_app).values()) == {f"aws://{PROD_ACCOUNT}/{REGION}"}


def test_each_stage_takes_its_own_account(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    context = {"devAccount": DEV_ACCOUNT, "prodAccount": PROD_ACCOUNT, "trainingData": str(tmp_path),
               "alarmTopicArn": ON_CALL}

    assert DeploymentConfig.from_context({**context, "stage": "dev"}.get).account == DEV_ACCOUNT
    assert DeploymentConfig.from_context({**context, "stage": "prod"}.get).account == PROD_ACCOUNT


def test_without_accounts_the_stacks_stay_environment_agnostic(default_app):
    """CI and the committed snapshots synthesize without credentials or accounts."""
    assert set(environments(default_app).values()) == {"aws://unknown-account/unknown-region"}


@pytest.mark.parametrize(("key", "value"), [("prodAccount", "12345"), ("devAccount", "12345678901a"),
                                            ("prodAccount", 123456789012), ("region", "Europe")])
def test_a_bad_account_or_region_is_a_one_line_error(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"^{key} must be a"):
        DeploymentConfig.from_context({key: value, "trainingData": str(tmp_path)}.get)


def stack_properties(app) -> dict[str, dict]:
    manifest = json.loads((app.outdir / "manifest.json").read_text())
    return {name: manifest["artifacts"][name].get("properties", {})
            for name in app.stack_names}


def test_prod_stacks_have_termination_protection(prod_app, default_app):
    """A stray `cdk destroy -c stage=prod` or console click must not delete the live service;
    dev stays disposable."""
    assert all(properties.get("terminationProtection") for properties in stack_properties(prod_app).values())
    assert not any(properties.get("terminationProtection") for properties in stack_properties(default_app).values())


def test_prod_without_an_alarm_destination_is_a_one_line_error(tmp_path):
    """Prod's alarms would go off with nobody told; `make deploy STAGE=prod` stops at synthesis."""
    with pytest.raises(ConfigError, match="^prod needs an alarm destination: set alarmEmail .* or alarmTopicArn"):
        DeploymentConfig.from_context({"stage": "prod", "trainingData": str(tmp_path)}.get)


def test_every_service_alarm_notifies_the_alarm_topic(prod_app):
    """The company's on-call topic hears of every alarm and of its return to OK."""
    topic = CONFIGURATIONS["prod"]["alarmTopicArn"]
    for alarm in prod_app.web.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [topic]
        assert alarm["Properties"]["OKActions"] == [topic]


def test_the_canary_rollback_alarms_notify_the_alarm_topic(prod_app):
    """A rollback is news for on-call while it happens, not only when the deploy fails later."""
    topic = CONFIGURATIONS["prod"]["alarmTopicArn"]
    prod_app.model.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "sentiment-prod-rollback-5xx", "AlarmActions": [topic], "OKActions": [topic]})
    prod_app.model.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "sentiment-prod-rollback-latency", "AlarmActions": [topic], "OKActions": [topic]})


def test_an_alarm_topic_is_used_as_is(prod_app):
    """The topic exists already (the landing zone's); the stacks neither create nor own it."""
    prod_app.web.resource_count_is("AWS::SNS::Topic", 0)
    prod_app.model.resource_count_is("AWS::SNS::Topic", 0)


@pytest.mark.parametrize("value", ["arn:aws:sqs:eu-west-1:222222222222:queue", "on-call"])
def test_a_bad_alarm_topic_is_a_one_line_error(tmp_path, value):
    with pytest.raises(ConfigError, match="^alarmTopicArn must be an SNS topic ARN"):
        DeploymentConfig.from_context({"alarmTopicArn": value, "trainingData": str(tmp_path)}.get)
