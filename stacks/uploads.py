"""Files copied into a bucket on deploy (CDK's BucketDeployment) with a role we own.

CDK's deployment function is generic: it may read the bootstrap assets bucket and rewrite the
destination. We give it a role without managed policies and a log group with retention, and
acknowledge here, once, the wildcards CDK's own grants need.
"""
from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from stacks.log_groups import log_group
from stacks.nag import acknowledge

GRANT_WILDCARD_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")


def upload(scope: Construct, id_: str, *, destination: s3.IBucket, retention_days: int,
           **deployment_props) -> s3_deployment.BucketDeployment:
    role = iam.Role(scope, f"{id_}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    logs = log_group(scope, f"{id_}Logs", retention_days=retention_days)
    logs.grant_write(role)
    deployment = s3_deployment.BucketDeployment(
        scope, id_, destination_bucket=destination, role=role, log_group=logs, **deployment_props)

    reason = ("CDK's BucketDeployment grants: read its source zip from the bootstrap assets "
              "bucket, sync the destination bucket")
    for action in GRANT_WILDCARD_ACTIONS:
        acknowledge(role, id=f"AwsSolutions-IAM5[Action::{action}]", reason=reason)
    stack = Stack.of(scope)
    bucket_id = stack.get_logical_id(destination.node.default_child)
    acknowledge(role, id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]", reason=reason)
    acknowledge(role, id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
                         "<AWS::AccountId>-<AWS::Region>/*]", reason=reason)
    if deployment_props.get("distribution") is not None:
        acknowledge(role, id="AwsSolutions-IAM5[Resource::*]",
                    reason="cloudfront:CreateInvalidation and GetInvalidation, granted by CDK, "
                           "support no resource scoping in its grant.")
    # The function itself is a singleton at stack level whose runtime CDK chooses.
    for child in stack.node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment"):
            acknowledge(child, id="AwsSolutions-L1",
                        reason="CDK's BucketDeployment function; aws-cdk-lib picks and updates its runtime.")
    return deployment
