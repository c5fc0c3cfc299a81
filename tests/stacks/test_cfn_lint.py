"""cfn-lint finds nothing in any synthesized template: both stacks, in the default serverless
configuration and the all-options real-time one (the two snapshot configurations). A rule the
project accepts is ignored in .cfnlintrc.yaml, with its reason on its line."""
from __future__ import annotations

import re

from sentiment.checks.lint_templates import CONFIG_FILE, lint, table


def test_no_cfn_lint_finding_in_either_configuration(default_app, options_app):
    paths = [app.outdir / f"{stack}.template.json" for app in (default_app, options_app)
             for stack in ("SentimentModel", "SentimentWeb")]

    findings = lint(paths)

    assert findings == [], table(findings)


def test_every_ignored_rule_says_why():
    lines = [line for line in CONFIG_FILE.read_text().splitlines() if re.match(r"\s+- [EWI]\d{4}", line)]

    assert lines, "ignore_checks lists no rule; drop this test with the config's last entry"
    for line in lines:
        assert re.match(r"\s+- [EWI]\d{4}\s+# \S.{20,}", line), f"no reason given: {line.strip()}"
