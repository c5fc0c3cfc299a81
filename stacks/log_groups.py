"""Log groups with a retention from config that go away with the stack (nothing left to bill)."""
from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
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
