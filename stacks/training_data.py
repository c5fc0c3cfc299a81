"""The prepared dataset (scripts/prepare_data.py output) copied to a content-addressed prefix."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Size
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from sentiment.packaging import tree_hash
from stacks.uploads import upload


class TrainingData(Construct):
    def __init__(self, scope: Construct, id_: str, *, bucket: s3.IBucket, data_dir: Path,
                 retention_days: int) -> None:
        super().__init__(scope, id_)
        self.data_hash = tree_hash(data_dir)
        # One prefix per dataset version: a training job keeps reading exactly what it was
        # started on, and a changed dataset changes the prefix, hence the job's name.
        self.s3_prefix = f"training-data/{self.data_hash[:16]}/"
        self.s3_uri = bucket.s3_url_for_object(self.s3_prefix)
        self.s3_deployment = upload(
            self, "Upload",
            sources=[s3_deployment.Source.asset(str(data_dir), exclude=["__pycache__"])],
            destination=bucket,
            retention_days=retention_days,
            destination_key_prefix=self.s3_prefix,
            prune=False,
            retain_on_delete=False,
            memory_limit=1024,
            ephemeral_storage_size=Size.gibibytes(2),
        )
