"""The committed templates in tests/snapshots/ match what the app synthesizes now, so every
infrastructure change shows up in review as a JSON diff. Refresh with `make snapshot`."""
from __future__ import annotations

import difflib

import pytest

from stacks.review import snapshot as snapshot_templates


@pytest.mark.parametrize("configuration", sorted(snapshot_templates.CONFIGURATIONS))
def test_snapshot_is_current(configuration, tmp_path):
    templates = snapshot_templates.synthesize(snapshot_templates.CONFIGURATIONS[configuration], tmp_path)

    assert set(templates) == set(snapshot_templates.stacks_of(configuration))
    for stack in templates:
        path = snapshot_templates.snapshot_path(configuration, stack)
        expected = path.read_text() if path.exists() else ""
        actual = snapshot_templates.render(templates[stack])
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                 str(path), "synthesized", n=2))[:60])
        assert actual == expected, f"{path} is stale; run `make snapshot` and commit it:\n{diff}"


def test_normalization_hides_content_hashes_only():
    template = {"Code": {"S3Key": "ab" * 32 + ".zip"}, "JobName": "sentiment-prod-0123456789abcdef",
                "Prefix": "training-data/0123456789abcdef/", "Checkpoint": "pretrained/0123456789abcdef/",
                "Instance": "ml.c5.2xlarge", "Endpoint": "sentiment-prod", "Alarm": "sentiment-prod-rollback-5xx"}

    assert snapshot_templates.normalize(template) == {
        "Code": {"S3Key": "<content-hash>.zip"}, "JobName": "sentiment-prod-<inputs-hash>",
        "Prefix": "training-data/<dataset-hash>/", "Checkpoint": "pretrained/<checkpoint-hash>/",
        "Instance": "ml.c5.2xlarge", "Endpoint": "sentiment-prod", "Alarm": "sentiment-prod-rollback-5xx"}


def test_a_configuration_that_is_gone_leaves_no_snapshot_behind():
    """Every committed template belongs to a current configuration and stack, so what review
    reads (and what the cfn-lint test lints) is exactly what the app synthesizes."""
    committed = {path.relative_to(snapshot_templates.SNAPSHOT_DIR).as_posix()
                 for path in snapshot_templates.SNAPSHOT_DIR.glob("*/*.template.json")}

    assert committed == {f"{configuration}/{stack}.template.json" for configuration in snapshot_templates.CONFIGURATIONS
                         for stack in snapshot_templates.stacks_of(configuration)}
