"""Composes the stacks for a config; app.py and the tests both build the app through here."""
from __future__ import annotations

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import DeploymentConfig
from stacks.model_stack import SentimentModelStack
from stacks.web_stack import SentimentWebStack


def build(app: App, config: DeploymentConfig) -> tuple[SentimentModelStack, SentimentWebStack]:
    model_name, web_name = config.stack_names
    model = SentimentModelStack(app, model_name, config=config,
                                description=f"Sentiment service ({config.stage}): training and the SageMaker endpoint")
    web = SentimentWebStack(app, web_name, config=config,
                            endpoint_name=model.endpoint.endpoint_name,
                            endpoint_arn=model.endpoint.arn,
                            variant_name=model.endpoint.variant_name,
                            description=f"Sentiment service ({config.stage}): API, website and alarms")
    # The endpoint's name is fixed by config, so no export ties the stacks; the order still matters.
    web.add_stack_dependency(model)
    # Cost allocation: every taggable resource of the app carries the project's name and stage.
    Tags.of(app).add("project", "sentiment-on-sagemaker")
    Tags.of(app).add("stage", config.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return model, web
