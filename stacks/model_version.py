"""The model a stage serves when it pins an approved version of its registry (`modelPackageArn`).

A custom resource (handler in stacks/model_version_check/) reads the version before the endpoint
is touched and fails the deployment, in one line, unless the version is Approved; otherwise it
hands over the version's model data, which the endpoint serves with the stage's serving image.
Promoting a model to prod is therefore a reviewed change of one line in cdk.json that
`sentiment diff` shows, and nothing unapproved can be deployed by mistake.
"""
from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.log_groups import log_group
from stacks.nag import acknowledge

HANDLER_DIR = Path(__file__).resolve().parent / "model_version_check"


class ApprovedModelVersion(Construct):
    def __init__(self, scope: Construct, id_: str, *, model_package_arn: str, log_retention_days: int) -> None:
        super().__init__(scope, id_)
        role = iam.Role(self, "HandlerRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"],
                                               resources=[model_package_arn]))
        logs = log_group(self, "HandlerLogs", retention_days=log_retention_days)
        logs.grant_write(role)
        handler = lambda_.Function(
            self, "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            handler="handler.on_event",
            timeout=Duration.seconds(30),
            role=role,
            log_group=logs,
        )
        framework_role = iam.Role(self, "FrameworkRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        framework_logs = log_group(self, "FrameworkLogs", retention_days=log_retention_days)
        framework_logs.grant_write(framework_role)
        provider = cr.Provider(self, "Provider", on_event_handler=handler, framework_on_event_role=framework_role,
                               log_group=framework_logs)
        function_id = Stack.of(self).get_logical_id(handler.node.default_child)
        acknowledge(framework_role, id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                    reason="The framework may invoke any version of the check's handler.")
        self.custom_resource = CustomResource(
            self, "Resource", resource_type="Custom::ApprovedModelVersion",
            service_token=provider.service_token,
            properties={"ModelPackageArn": model_package_arn})
        self.model_data_url = self.custom_resource.get_att_string("ModelDataUrl")
