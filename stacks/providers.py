"""A custom resource's provider for a handler that answers at once (the Provider framework's
on_event only): the handler and the framework's function with roles of our own (no managed
policies), log groups that expire and go with the stack, and the one cdk-nag finding the
framework's invoke grant raises, acknowledged."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.log_groups import log_group
from stacks.nag import acknowledge


def on_event_provider(scope: Construct, *, handler_dir: Path, role: iam.Role, log_retention_days: int,
                      timeout: Duration, what: str) -> cr.Provider:
    """`handler.on_event` of handler_dir, run as role, behind a provider; `what` names the handler
    in the acknowledgement."""
    logs = log_group(scope, "HandlerLogs", retention_days=log_retention_days)
    logs.grant_write(role)
    handler = lambda_.Function(
        scope, "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        code=lambda_.Code.from_asset(str(handler_dir), exclude=["__pycache__", "*.pyc"]),
        handler="handler.on_event",
        timeout=timeout,
        role=role,
        log_group=logs,
    )
    framework_role = iam.Role(scope, "FrameworkOnEventRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    framework_logs = log_group(scope, "FrameworkLogs", retention_days=log_retention_days)
    framework_logs.grant_write(framework_role)
    provider = cr.Provider(scope, "Provider", on_event_handler=handler, framework_on_event_role=framework_role,
                           log_group=framework_logs)
    function_id = Stack.of(scope).get_logical_id(handler.node.default_child)
    acknowledge(framework_role, id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                reason=f"The framework may invoke any version of {what}.")
    return provider
