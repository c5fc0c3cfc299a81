"""AWS Deep Learning Container images for training and serving, for whichever region deploys.

The registry account per region comes from CDK's regional facts (kept current with aws-cdk-lib),
so the templates stay region-agnostic: CloudFormation picks the account from a mapping at deploy
time. The tags follow the SageMaker Python SDK's PyTorch image table: training 2.9 (the newest
with py312) and the 2.6 CPU inference image, the newest inference release.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Stack
from aws_cdk.region_info import FactName

TRAINING_REPOSITORY = "pytorch-training"
TRAINING_VERSION = "2.9.0"
INFERENCE_REPOSITORY = "pytorch-inference"
INFERENCE_VERSION = "2.6.0"
PYTHON_VERSION = "py312"
GPU_FAMILIES = ("ml.g", "ml.p")


@dataclass(frozen=True)
class DlcImage:
    repository: str
    tag: str

    @property
    def name(self) -> str:
        """The region-independent part of the URI; what the training job's name hashes."""
        return f"{self.repository}:{self.tag}"

    def uri(self, stack: Stack) -> str:
        account = stack.regional_fact(FactName.DLC_REPOSITORY_ACCOUNT)
        return f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{self.name}"

    def repository_arn(self, stack: Stack) -> str:
        account = stack.regional_fact(FactName.DLC_REPOSITORY_ACCOUNT)
        return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{self.repository}"


def processor(instance_type: str) -> str:
    return "gpu" if instance_type.startswith(GPU_FAMILIES) else "cpu"


def training_image(instance_type: str) -> DlcImage:
    return DlcImage(TRAINING_REPOSITORY, f"{TRAINING_VERSION}-{processor(instance_type)}-{PYTHON_VERSION}")


def inference_image() -> DlcImage:
    # model_code/inference.py runs on CPU; serverless endpoints have no GPUs anyway.
    return DlcImage(INFERENCE_REPOSITORY, f"{INFERENCE_VERSION}-cpu-{PYTHON_VERSION}")
