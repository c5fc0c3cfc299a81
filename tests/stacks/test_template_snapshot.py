"""The committed templates in tests/snapshots/ match what the app synthesizes now, so every
infrastructure change shows up in review as a JSON diff. Refresh with `make snapshot`."""
from __future__ import annotations

import difflib

import pytest

from sentiment.infra import snapshot as snapshot_templates


@pytest.mark.parametrize("configuration", sorted(snapshot_templates.CONFIGURATIONS))
def test_snapshot_is_current(configuration, tmp_path):
    templates = snapshot_templates.synthesize(snapshot_templates.CONFIGURATIONS[configuration], tmp_path)

    for stack in snapshot_templates.STACKS:
        path = snapshot_templates.snapshot_path(configuration, stack)
        expected = path.read_text() if path.exists() else ""
        actual = snapshot_templates.render(templates[stack])
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                 str(path), "synthesized", n=2))[:60])
        assert actual == expected, f"{path} is stale; run `make snapshot` and commit it:\n{diff}"


def test_normalization_hides_content_hashes_only():
    template = {"Code": {"S3Key": "ab" * 32 + ".zip"}, "JobName": "sentiment-0123456789abcdef",
                "Prefix": "training-data/0123456789abcdef/", "Instance": "ml.c5.2xlarge"}

    assert snapshot_templates.normalize(template) == {
        "Code": {"S3Key": "<content-hash>.zip"}, "JobName": "sentiment-<inputs-hash>",
        "Prefix": "training-data/<dataset-hash>/", "Instance": "ml.c5.2xlarge"}
