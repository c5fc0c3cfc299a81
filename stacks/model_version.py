"""The model a stage serves when it pins an approved version of its registry (`modelPackageArn`).

A custom resource (handler in stacks/model_version_check/) reads the version before the endpoint
is touched and fails the deployment, in one line, unless the version is Approved; otherwise it
hands over the version's model data, which the endpoint serves with the stage's serving image.
Promoting a model to prod is therefore a reviewed change of one line in cdk.json that
`sentiment diff` shows, and nothing unapproved can be deployed by mistake.
"""
from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.providers import on_event_provider

HANDLER_DIR = Path(__file__).resolve().parent / "model_version_check"


class ApprovedModelVersion(Construct):
    def __init__(self, scope: Construct, id_: str, *, model_package_arn: str, log_retention_days: int) -> None:
        super().__init__(scope, id_)
        role = iam.Role(self, "HandlerRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"],
                                               resources=[model_package_arn]))
        provider = on_event_provider(self, handler_dir=HANDLER_DIR, role=role, log_retention_days=log_retention_days,
                                     timeout=Duration.seconds(30), what="the check's handler")
        self.custom_resource = CustomResource(
            self, "Resource", resource_type="Custom::ApprovedModelVersion",
            service_token=provider.service_token,
            properties={"ModelPackageArn": model_package_arn})
        self.model_data_url = self.custom_resource.get_att_string("ModelDataUrl")
