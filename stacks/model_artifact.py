"""A model trained elsewhere (a model.tar.gz or the unpacked directory), promoted into the
retained artifacts bucket and served from there.

CDK can only ship a file as an asset, into the bootstrap bucket, which belongs to CDK: anyone may
re-bootstrap or empty it, and it keeps no history a reviewer can follow. So the asset is only the
way in: a copy step puts the archive at `models/<sha256 of the archive>/model.tar.gz` in the
stage's artifacts bucket (versioned, retained in prod), and the endpoint's model reads that key.
The key is content-addressed: the same model promoted twice is one object, a new model a new one,
and `cdk diff` shows the hash that changes. The archive is byte-for-byte reproducible
(sentiment.packaging), so the hash names the model, not the moment it was packed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from sentiment.packaging import build_model_archive
from stacks.encryption import WRITE_OBJECTS, allow_key
from stacks.log_groups import log_group
from stacks.packaging import packaging_dir
from stacks.sagemaker_role import SageMakerRole
from stacks.state_stack import MODELS_PREFIX


def promoted_model_key(archive: Path) -> str:
    """models/<sha256>/model.tar.gz: where a model archive lives in the artifacts bucket."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return f"{MODELS_PREFIX}{digest}/model.tar.gz"


class ModelArtifact(Construct):
    def __init__(self, scope: Construct, id_: str, *, path: Path, bucket: s3.IBucket, role: SageMakerRole,
                 log_retention_days: int, encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, id_)
        # A folder gets its serving code (code/, from model_code/) as it is archived.
        path = build_model_archive(path, packaging_dir(self) / "model.tar.gz")
        self.s3_asset = s3_assets.Asset(self, "ModelTarball", path=str(path))
        self.s3_key = promoted_model_key(path)
        source_arn = f"arn:{Aws.PARTITION}:s3:::{self.s3_asset.s3_bucket_name}/{self.s3_asset.s3_object_key}"
        copy = {
            "service": "S3", "action": "copyObject",
            "parameters": {"CopySource": f"{self.s3_asset.s3_bucket_name}/{self.s3_asset.s3_object_key}",
                           "Bucket": bucket.bucket_name, "Key": self.s3_key,
                           # The asset's tags (none) are not copied: no tagging permissions needed.
                           "TaggingDirective": "REPLACE"},
            "physical_resource_id": cr.PhysicalResourceId.of(self.s3_key),
        }
        # Our role: no managed policies, logs to a group with retention.
        copy_role = iam.Role(self, "PromoteRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        logs = log_group(self, "PromoteLogs", retention_days=log_retention_days)
        logs.grant_write(copy_role)
        if encryption_key:
            allow_key(encryption_key, copy_role, WRITE_OBJECTS)
        # Delete does nothing: a promoted model stays in the bucket (in prod, for good).
        self.copy = cr.AwsCustomResource(
            self, "Promote",
            on_create=cr.AwsSdkCall(**copy), on_update=cr.AwsSdkCall(**copy),
            policy=cr.AwsCustomResourcePolicy.from_statements([
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[source_arn]),
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(self.s3_key)]),
            ]),
            role=copy_role, log_group=logs,
            install_latest_aws_sdk=False,
        )
        role.allow_read_object(bucket.arn_for_objects(self.s3_key))
        self.model_data_url = bucket.s3_url_for_object(self.s3_key)
