"""State: what must outlive the stacks that use it, in a stack of its own.

The artifacts bucket holds every trained and promoted model, the training data and the captured
traffic. The model stack, which replaces endpoints, models and training jobs as a matter of
course, only references it: deleting or recreating the model stack (a failed first deploy, a
rename, a move to another account layout) cannot take the models with it. In prod the bucket is
retained even when this stack goes; in dev it is disposable like everything else.

The model package group `sentiment-<stage>` (the registry) is state too.

An existing deployment whose bucket still lives in the model stack moves it here with
`cdk import` (docs/deployment.md, "The stateful stack").
"""
from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from stacks.artifacts_bucket import ArtifactsBucket
from stacks.config import DeploymentConfig

# Prefixes of the artifacts bucket with a lifecycle of their own.
DATA_CAPTURE_PREFIX = "data-capture/"
# Promoted models, one folder per content hash (stacks/model_artifact.py): never expired.
MODELS_PREFIX = "models/"


def artifacts_bucket_name(scope: IConstruct, name_prefix: str) -> str:
    """sentiment-<stage>-artifacts-<account>-<region>: fixed, so the stacks that use the bucket
    name it without a cross-stack export (an export pins the producer: CloudFormation refuses to
    change it while another stack imports it), and IAM policies and reviews read a plain name."""
    stack = Stack.of(scope)
    return f"{name_prefix}-artifacts-{stack.account}-{stack.region}"


class SentimentStateStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, config: DeploymentConfig, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        self.encryption_key = self._encryption_key(config)
        self.artifacts = ArtifactsBucket(self, "Artifacts", bucket_name=artifacts_bucket_name(self, config.name_prefix),
                                         destroy_on_delete=config.dev, encryption_key=self.encryption_key,
                                         log_retention_days=config.log_retention_days)
        if config.data_capture:
            # The requests are people's reviews: kept only as long as the stage says.
            self.artifacts.expire_prefix(DATA_CAPTURE_PREFIX, days=config.data_capture_retention_days)
        # The registry: every model this stage trains is a version here, with its figures and
        # approval status (stacks/training_job/registry.py). Kept when the stack goes, in dev too:
        # CloudFormation cannot delete a group that still has versions, and the record is the point.
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self, "ModelRegistry", model_package_group_name=config.model_package_group,
            model_package_group_description=f"Sentiment models trained by the {config.stage} stage")
        self.model_package_group.apply_removal_policy(RemovalPolicy.RETAIN)
        CfnOutput(self, "ModelPackageGroupName", value=config.model_package_group,
                  description="The stage's model registry (sentiment models list)")
        CfnOutput(self, "ArtifactsBucketName", value=self.artifacts.s3_bucket.bucket_name,
                  description="Training data, training output, promoted models, captured traffic")

    def _encryption_key(self, config: DeploymentConfig) -> kms.IKey | None:
        """The stage's customer-managed key, an existing one (kmsKeyArn), or None."""
        if config.kms_key_arn:
            return kms.Key.from_key_arn(self, "EncryptionKey", config.kms_key_arn)
        if not config.encryption_key:
            return None
        key = kms.Key(self, "EncryptionKey", alias=f"alias/{config.name_prefix}", enable_key_rotation=True,
                      description=f"Sentiment service ({config.stage}): models, training data, captured traffic, "
                                  f"endpoint storage, alarm notifications",
                      # Data encrypted under a deleted key is lost: the key outlives the stack.
                      removal_policy=RemovalPolicy.RETAIN)
        # The key policy keeps AWS's default (the account's IAM policies decide, so each role's
        # grant names the key), plus the one service that is no role of ours: CloudWatch, which
        # encrypts an alarm's message for the encrypted alarm topic.
        key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublishToTheEncryptedTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}}))
        CfnOutput(self, "EncryptionKeyArn", value=key.key_arn, description="The stage's customer-managed KMS key")
        return key
