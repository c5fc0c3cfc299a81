"""Files copied into a bucket on deploy (CDK's BucketDeployment) with a role we own.

CDK's deployment function is generic: it may read the bootstrap assets bucket and rewrite the
destination. We give it a role without managed policies and a log group with retention, and
acknowledge here, once, the wildcards CDK's own grants need. CDK grants the CloudFront
invalidation on `*`; our role narrows that statement to the one distribution it invalidates.
"""
from __future__ import annotations

from aws_cdk import DefaultStackSynthesizer, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from stacks.log_groups import log_group
from stacks.nag import acknowledge, nag_spelling

GRANT_WILDCARD_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
INVALIDATION_ACTIONS = frozenset({"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"})


class _DeploymentRole(iam.Role):
    """The deployment function's role. BucketDeployment grants the invalidation actions on every
    resource; both actions accept a distribution ARN, so statements granting only them are
    narrowed to the distribution this deployment invalidates."""

    def __init__(self, scope: Construct, id_: str, *, distribution: cloudfront.IDistribution | None) -> None:
        super().__init__(scope, id_, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self._distribution = distribution

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if (self._distribution is not None and statement.resources == ["*"]
                and set(statement.actions) <= INVALIDATION_ACTIONS):
            statement = iam.PolicyStatement(
                actions=sorted(statement.actions),
                resources=[Stack.of(self).format_arn(
                    service="cloudfront", region="", resource="distribution",
                    resource_name=self._distribution.distribution_id)])
        return super().add_to_principal_policy(statement)


def upload(scope: Construct, id_: str, *, destination: s3.IBucket, retention_days: int,
           **deployment_props) -> s3_deployment.BucketDeployment:
    role = _DeploymentRole(scope, f"{id_}Role", distribution=deployment_props.get("distribution"))
    logs = log_group(scope, f"{id_}Logs", retention_days=retention_days)
    logs.grant_write(role)
    deployment = s3_deployment.BucketDeployment(
        scope, id_, destination_bucket=destination, role=role, log_group=logs, **deployment_props)

    reason = ("CDK's BucketDeployment grants: read its source zip from the bootstrap assets "
              "bucket, sync the destination bucket")
    for action in GRANT_WILDCARD_ACTIONS:
        acknowledge(role, id=f"AwsSolutions-IAM5[Action::{action}]", reason=reason)
    stack = Stack.of(scope)
    acknowledge(role, id=f"AwsSolutions-IAM5[Resource::{nag_spelling(role, destination.arn_for_objects('*'))}]",
                reason=reason)
    acknowledge(role, id=f"AwsSolutions-IAM5[Resource::{_assets_bucket_objects(stack)}]", reason=reason)
    # The function itself is a singleton at stack level whose runtime CDK chooses.
    for child in stack.node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment"):
            acknowledge(child, id="AwsSolutions-L1",
                        reason="CDK's BucketDeployment function; aws-cdk-lib picks and updates its runtime.")
    return deployment


def _assets_bucket_objects(stack: Stack) -> str:
    """The bootstrap assets bucket's objects as cdk-nag names them: the bucket carries the
    bootstrap qualifier (-c @aws-cdk/core:bootstrapQualifier), and the account, region and
    partition are literals in a stack bound to an environment, pseudo parameters otherwise."""
    qualifier = stack.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return nag_spelling(stack, f"arn:{stack.partition}:s3:::cdk-{qualifier}-assets-{stack.account}-{stack.region}/*")
