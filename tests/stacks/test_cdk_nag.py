"""cdk-nag's AwsSolutions pack runs on every synthesis (stacks/application.py). An error-level
finding already fails synthesis; this also refuses warnings, in every mode."""
from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("app_fixture", ["default_app", "prod_app", "options_app", "artifact_app"])
def test_no_unacknowledged_finding(app_fixture, request):
    report_file = request.getfixturevalue(app_fixture).outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {"pluginReports": []}

    findings = [(violation["ruleName"], construct["constructPath"])
                for plugin in report["pluginReports"] for violation in plugin["violations"]
                for construct in violation["violatingConstructs"]]
    assert findings == []
