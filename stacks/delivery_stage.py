"""One stage of the delivery pipeline: the same stacks `make deploy STAGE=<stage>` deploys
(stacks/application.py's add_stacks), in the stage's own account and region, so what the
pipeline ships is what the snapshots and tests describe."""
from __future__ import annotations

from aws_cdk import Environment, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from stacks.application import Deployment, add_stacks
from stacks.config import DeploymentConfig


class DeliveryStage(Stage):
    def __init__(self, scope: Construct, id_: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id_, env=Environment(account=config.account, region=config.region))
        self.deployment: Deployment = add_stacks(self, config)
        # The stage is a cloud assembly of its own: cdk-nag is registered on it as on the app.
        Validations.of(self).add_plugins(AwsSolutionsChecks(self))
