"""Deploying into a company's landing zone: its own bootstrap qualifier, a permissions boundary
on every role, fixed accounts and region per stage, and a prod that cannot be deleted by
accident or left without an alarm destination. One synthesis of prod with all of them set."""
from __future__ import annotations

import pytest

QUALIFIER = "acme12345"


@pytest.fixture(scope="module")
def landing_zone_app(synth):
    return synth(**{"stage": "prod", "@aws-cdk/core:bootstrapQualifier": QUALIFIER})


def test_a_custom_bootstrap_qualifier_synthesizes(landing_zone_app):
    """A landing zone bootstraps with its own qualifier; no name or cdk-nag acknowledgement may
    assume CDK's default, or synthesis fails on the deployment role's unacknowledged finding."""
    templates = f"{landing_zone_app.model_json}{landing_zone_app.web_json}"

    assert f"cdk-{QUALIFIER}-assets-" in templates
    assert "hnb659fds" not in templates
