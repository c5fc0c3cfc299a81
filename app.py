#!/usr/bin/env python3
"""The CDK app: reads the configuration from cdk.json context and `-c key=value` (`-c stage=prod`
picks the prod stage; dev by default), then synthesizes that stage's stacks (see stacks/). Run
through `cdk synth|diff|deploy`, or `make deploy STAGE=...`. With `-c pipeline=true` it synthesizes
the delivery pipeline, SentimentPipeline, instead, which deploys both stages (stacks/pipeline_stack.py)."""
import sys

from aws_cdk import App

from stacks.application import build
from stacks.config import ConfigError, DeploymentConfig
from stacks.delivery import build_pipeline


def main() -> None:
    app = App()
    try:
        config = DeploymentConfig.from_context(app.node.try_get_context)
        if config.pipeline:
            build_pipeline(app, app.node.try_get_context)
        else:
            build(app, config)
    except ConfigError as error:
        sys.exit(f"configuration error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
