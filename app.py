#!/usr/bin/env python3
"""The CDK app: reads the configuration from cdk.json context and `-c key=value` (`-c stage=prod`
picks the prod stage; dev by default), then synthesizes that stage's model stack and web stack
(see stacks/). Run through `cdk synth|diff|deploy`, or `make deploy STAGE=...`."""
import sys

from aws_cdk import App

from stacks.application import build
from stacks.config import ConfigError, DeploymentConfig


def main() -> None:
    app = App()
    try:
        config = DeploymentConfig.from_context(app.node.try_get_context)
        build(app, config)
    except ConfigError as error:
        sys.exit(f"configuration error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
