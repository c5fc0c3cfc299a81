"""The bucket for everything SageMaker reads and writes: training data, job output, models."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.log_groups import auto_delete_objects_logs
from stacks.nag import acknowledge


class ArtifactsBucket(Construct):
    def __init__(self, scope: Construct, id_: str, *, bucket_name: str, destroy_on_delete: bool,
                 encryption_key: kms.IKey | None = None,
                 log_retention_days: int) -> None:
        super().__init__(scope, id_)
        self.s3_bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=bucket_name,
            # The company's key where the stage has one; S3 Bucket Keys cut the KMS requests (and
            # their cost) to about one per object batch instead of one per object.
            encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key, bucket_key_enabled=True if encryption_key else None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # Old versions of retrained models and replaced datasets are not worth keeping long.
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30),
                                              abort_incomplete_multipart_upload_after=Duration.days(7))],
            removal_policy=RemovalPolicy.DESTROY if destroy_on_delete else RemovalPolicy.RETAIN,
            auto_delete_objects=destroy_on_delete,
        )
        acknowledge(self.s3_bucket, id="AwsSolutions-S1",
                    reason="Only SageMaker and CloudFormation touch this bucket, and CloudTrail records "
                           "those API calls; server access logs would need a second bucket to pay for.")
        if destroy_on_delete:
            auto_delete_objects_logs(self.s3_bucket, retention_days=log_retention_days)


    def expire_prefix(self, prefix: str, *, days: int) -> None:
        """Objects under prefix are deleted `days` after they are written, and their old versions
        (versioning keeps one when an object expires) a day later."""
        self.s3_bucket.add_lifecycle_rule(id=f"expire-{prefix.strip('/')}", prefix=prefix,
                                          expiration=Duration.days(days),
                                          noncurrent_version_expiration=Duration.days(1))
