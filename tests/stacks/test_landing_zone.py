"""Deploying into a company's landing zone: its own bootstrap qualifier, a permissions boundary
on every role, fixed accounts and region per stage, and a prod that cannot be deleted by
accident or left without an alarm destination. One synthesis of prod with all of them set."""
from __future__ import annotations

import pytest

from stacks.config import ConfigError, DeploymentConfig

QUALIFIER = "acme12345"
BOUNDARY = "acme-workload-boundary"


@pytest.fixture(scope="module")
def landing_zone_app(synth):
    return synth(**{"stage": "prod", "@aws-cdk/core:bootstrapQualifier": QUALIFIER,
                    "permissionsBoundary": BOUNDARY})


def roles(template_json) -> dict[str, dict]:
    return {logical_id: resource for logical_id, resource in template_json["Resources"].items()
            if resource["Type"] == "AWS::IAM::Role"}


def test_a_custom_bootstrap_qualifier_synthesizes(landing_zone_app):
    """A landing zone bootstraps with its own qualifier; no name or cdk-nag acknowledgement may
    assume CDK's default, or synthesis fails on the deployment role's unacknowledged finding."""
    templates = f"{landing_zone_app.model_json}{landing_zone_app.web_json}"

    assert f"cdk-{QUALIFIER}-assets-" in templates
    assert "hnb659fds" not in templates


def test_every_role_has_the_permissions_boundary(landing_zone_app):
    """A landing zone's SCPs typically deny creating a role without the boundary: one role
    missing it (CDK's custom-resource providers are the usual culprits) fails the deploy."""
    for template in (landing_zone_app.model_json, landing_zone_app.web_json):
        for logical_id, role in roles(template).items():
            assert role["Properties"].get("PermissionsBoundary") == {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"},
                f":policy/{BOUNDARY}"]]}, logical_id


def test_no_role_has_a_boundary_unless_configured(default_app):
    """Without the key the roles are as before: a boundary that does not exist fails the deploy."""
    for template in (default_app.model_json, default_app.web_json):
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
