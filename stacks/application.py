"""Composes the stacks for a config. app.py and the tests build the app through `build`; the
delivery pipeline's stages compose the same stacks through `add_stacks`."""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from stacks.config import DeploymentConfig
from stacks.model_stack import SentimentModelStack
from stacks.state_stack import SentimentStateStack
from stacks.web_stack import SentimentWebStack


@dataclass(frozen=True)
class Deployment:
    """One stage's stacks, in deployment order."""
    state: SentimentStateStack
    model: SentimentModelStack
    web: SentimentWebStack

    @property
    def stacks(self) -> tuple[Stack, ...]:
        return (self.state, self.model, self.web)


def add_stacks(scope: Construct, config: DeploymentConfig) -> Deployment:
    """The stage's stacks under scope (the app, or a pipeline's cdk.Stage), tagged, with the
    landing zone's permissions boundary; cdk-nag is added by the caller, once per app or stage."""
    state_name, model_name, web_name = config.stack_names
    # Unset account or region: that part stays a deploy-time value (environment-agnostic).
    env = Environment(account=config.account or None, region=config.region or None)
    # Prod cannot be deleted by a stray `cdk destroy` or console click; dev stays disposable.
    protected = config.stage == "prod"
    # The stack names are given, not derived: under a pipeline's cdk.Stage CDK would prefix them with the
    # stage's name, and the pipeline must update the stacks `make deploy` created, not create a second set
    # that collides with their fixed resource names (bucket, endpoint, alarms).
    state = SentimentStateStack(scope, state_name, stack_name=state_name, config=config, env=env,
                                termination_protection=protected,
                                description=f"Sentiment service ({config.stage}): state that outlives the "
                                            f"other stacks (models, training data, captured traffic)")
    model = SentimentModelStack(scope, model_name, stack_name=model_name, config=config, env=env,
                                termination_protection=protected, encryption_key=state.encryption_key,
                                description=f"Sentiment service ({config.stage}): training and the SageMaker endpoint")
    web = SentimentWebStack(scope, web_name, stack_name=web_name, config=config, env=env,
                            termination_protection=protected, encryption_key=state.encryption_key,
                            endpoint_name=model.endpoint.endpoint_name,
                            endpoint_arn=model.endpoint.arn,
                            variant_name=model.endpoint.variant_name,
                            description=f"Sentiment service ({config.stage}): API, website and alarms")
    # Names are fixed by config (bucket, endpoint), so only the stage's own KMS key, where it has one,
    # is passed between stacks (its ARN never changes); the order still matters.
    model.add_stack_dependency(state)
    web.add_stack_dependency(model)
    deployment = Deployment(state=state, model=model, web=web)
    for stack in deployment.stacks:
        # Cost allocation: every taggable resource carries the project's name and stage.
        Tags.of(stack).add("project", "sentiment-on-sagemaker")
        Tags.of(stack).add("stage", config.stage)
        if config.permissions_boundary:
            iam.PermissionsBoundary.of(stack).apply(permissions_boundary(stack, config.permissions_boundary))
    return deployment


def build(app: App, config: DeploymentConfig) -> Deployment:
    deployment = add_stacks(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return deployment


def permissions_boundary(stack: Stack, arn_or_name: str) -> iam.IManagedPolicy:
    """The landing zone's boundary policy; a bare name is a customer managed policy in the
    deploying account. Applied as an aspect, it reaches every AWS::IAM::Role in the stack,
    including the roles of CDK's own custom-resource providers."""
    if arn_or_name.startswith("arn:"):
        return iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", arn_or_name)
    return iam.ManagedPolicy.from_managed_policy_name(stack, "PermissionsBoundary", arn_or_name)
