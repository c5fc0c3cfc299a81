"""The security scanners' step (scripts/sentiment/checks/audit.py): high findings fail it, acknowledged ones need a
reason, and a machine that cannot reach the vulnerability data says so instead of passing quietly."""
import pytest

from sentiment.checks import audit


def report(*dependencies):
    return {"dependencies": list(dependencies), "fixes": []}


VULNERABLE = {"name": "somepkg", "version": "1.0", "vulns": [
    {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "fix_versions": ["1.1"], "description": "x"}]}
CLEAN = {"name": "otherpkg", "version": "2.0", "vulns": []}
UNREACHABLE = {"name": "somepkg", "skip_reason": "Dependency not found on PyPI and could not be audited: somepkg (1.0)"}


def test_a_known_vulnerability_fails_the_step_and_names_the_fix():
    passed, text = audit.summarize_pip_audit(report(VULNERABLE, CLEAN), {}, require_data=False)
    assert not passed
    assert "somepkg 1.0: GHSA-aaaa-bbbb-cccc (fixed in 1.1)" in text


def test_an_acknowledged_vulnerability_passes_by_id_or_alias():
    for key in ("GHSA-aaaa-bbbb-cccc", "CVE-2026-0001"):
        passed, text = audit.summarize_pip_audit(report(VULNERABLE), {key: "never called"}, require_data=False)
        assert passed and "1 acknowledged" in text


def test_unreachable_vulnerability_data_is_reported_loudly():
    passed, text = audit.summarize_pip_audit(report(UNREACHABLE), {}, require_data=False)
    assert passed
    assert "0 of 1 installed packages audited" in text and "were not checked" in text
    passed, _ = audit.summarize_pip_audit(report(UNREACHABLE), {}, require_data=True)
    assert not passed


def test_an_acknowledgement_without_a_reason_is_refused():
    with pytest.raises(SystemExit, match="needs a reason"):
        audit.acknowledged_vulnerabilities({"pip-audit": {"ignore": [{"id": "GHSA-x", "reason": " "}]}})


def test_the_code_has_no_high_severity_bandit_finding():
    passed, text = audit.run_bandit()
    assert passed, text
