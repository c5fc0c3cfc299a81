"""cfn-lint finds nothing in any committed snapshot: both stacks of the dev stage, the prod
stage and prod with every option on (tests/stacks/test_template_snapshot.py keeps them equal to
what the app synthesizes). A rule the project accepts is ignored in .cfnlintrc.yaml, with its
reason on its line."""
from __future__ import annotations

import re

from stacks.review.lint_templates import CONFIG_FILE, lint, snapshot_templates, table
from stacks.review.snapshot import CONFIGURATIONS, snapshot_path, stacks_of


def test_no_cfn_lint_finding_in_any_snapshot():
    paths = snapshot_templates()
    assert set(paths) >= {snapshot_path(configuration, stack) for configuration in CONFIGURATIONS
                          for stack in stacks_of(configuration)}

    findings = lint(paths)

    assert findings == [], table(findings)


def test_cfn_lint_reports_a_broken_template(tmp_path):
    """The check above can fail: a property the resource type does not have is an error."""
    broken = tmp_path / "broken.template.json"
    broken.write_text('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Colour": "red"}}}}')

    assert [finding.rule for finding in lint([broken])] == ["E3002"]


def test_every_ignored_rule_says_why():
    lines = [line for line in CONFIG_FILE.read_text().splitlines() if re.match(r"\s+- [EWI]\d{4}", line)]

    assert lines, "ignore_checks lists no rule; drop this test with the config's last entry"
    for line in lines:
        assert re.match(r"\s+- [EWI]\d{4}\s+# \S.{20,}", line), f"no reason given: {line.strip()}"
