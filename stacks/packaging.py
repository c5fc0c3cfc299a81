"""Where the stacks build their archives (sentiment.packaging builds them, reproducibly)."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Stage
from constructs import Construct


def packaging_dir(scope: Construct) -> Path:
    """Where archives are built before CDK stages them: inside the cloud assembly, so they go
    when cdk.out does."""
    return Path(Stage.of(scope).outdir) / "packaging"
