"""Composes the stacks for a config; app.py and the tests both build the app through here."""
from __future__ import annotations

from aws_cdk import App, Environment, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from stacks.config import DeploymentConfig
from stacks.model_stack import SentimentModelStack
from stacks.web_stack import SentimentWebStack


def build(app: App, config: DeploymentConfig) -> tuple[SentimentModelStack, SentimentWebStack]:
    model_name, web_name = config.stack_names
    # Unset account or region: that part stays a deploy-time value (environment-agnostic).
    env = Environment(account=config.account or None, region=config.region or None)
    # Prod cannot be deleted by a stray `cdk destroy` or console click; dev stays disposable.
    protected = config.stage == "prod"
    model = SentimentModelStack(app, model_name, config=config, env=env, termination_protection=protected,
                                description=f"Sentiment service ({config.stage}): training and the SageMaker endpoint")
    web = SentimentWebStack(app, web_name, config=config, env=env, termination_protection=protected,
                            endpoint_name=model.endpoint.endpoint_name,
                            endpoint_arn=model.endpoint.arn,
                            variant_name=model.endpoint.variant_name,
                            description=f"Sentiment service ({config.stage}): API, website and alarms")
    # The endpoint's name is fixed by config, so no export ties the stacks; the order still matters.
    web.add_stack_dependency(model)
    # Cost allocation: every taggable resource of the app carries the project's name and stage.
    Tags.of(app).add("project", "sentiment-on-sagemaker")
    Tags.of(app).add("stage", config.stage)
    if config.permissions_boundary:
        for stack in (model, web):
            iam.PermissionsBoundary.of(stack).apply(permissions_boundary(stack, config.permissions_boundary))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return model, web


def permissions_boundary(stack: Stack, arn_or_name: str) -> iam.IManagedPolicy:
    """The landing zone's boundary policy; a bare name is a customer managed policy in the
    deploying account. Applied as an aspect, it reaches every AWS::IAM::Role in the stack,
    including the roles of CDK's own custom-resource providers."""
    if arn_or_name.startswith("arn:"):
        return iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", arn_or_name)
    return iam.ManagedPolicy.from_managed_policy_name(stack, "PermissionsBoundary", arn_or_name)
