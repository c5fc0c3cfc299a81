"""Log groups with a retention from config that go away with the stack (nothing left to bill)."""
from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_group(scope: Construct, id_: str, *, retention_days: int) -> logs.LogGroup:
    return logs.LogGroup(scope, id_, retention=RETENTION[retention_days],
                         removal_policy=RemovalPolicy.DESTROY)


AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"
AUTO_DELETE_LOGS_ID = "AutoDeleteObjectsLogs"


def auto_delete_objects_logs(bucket: s3.Bucket, *, retention_days: int) -> logs.LogGroup:
    """Points the function behind `auto_delete_objects=True` (a stack-level singleton CDK creates
    without any log settings) at a log group with retention that goes with the stack. Left to
    itself, Lambda would create /aws/lambda/<name> on first use, never expiring, and
    `cdk destroy` would leave it behind. The function refers to the group, so CloudFormation
    deletes the group only after the function's last run (emptying the bucket)."""
    stack = Stack.of(bucket)
    existing = stack.node.try_find_child(AUTO_DELETE_LOGS_ID)
    if existing is not None:
        return existing
    provider = stack.node.try_find_child(AUTO_DELETE_PROVIDER_ID)
    if provider is None:
        raise RuntimeError(f"{bucket.node.path}: no {AUTO_DELETE_PROVIDER_ID}; "
                           "create the bucket with auto_delete_objects=True first")
    group = log_group(stack, AUTO_DELETE_LOGS_ID, retention_days=retention_days)
    handler = provider.node.find_child("Handler")
    handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
    return group
