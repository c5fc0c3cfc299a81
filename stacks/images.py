"""AWS Deep Learning Container images for training and serving, for whichever region deploys.

Which account publishes an image in which region comes from the SageMaker SDK's image table
(sagemaker-core's `image_uris`, read offline), never from a list kept here. The templates stay
region-agnostic: each stack carries a `DlcImageAccounts` mapping of every region where all of its
images exist, CloudFormation picks the account at deploy time, and a template rule refuses any
other region before a resource is created. A stack bound to a concrete region is checked at
synthesis instead. The tags: training 2.9 (the newest with py312) and the 2.6 CPU inference
image, the newest inference release.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from aws_cdk import Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack, Token

from stacks.config import ConfigError

FRAMEWORK = "pytorch"
TRAINING_VERSION = "2.9.0"
INFERENCE_VERSION = "2.6.0"
PYTHON_VERSION = "py312"
GPU_FAMILIES = ("ml.g", "ml.p")
MAPPING_ID = "DlcImageAccounts"
RULE_ID = "DlcImageRegion"


class UnsupportedRegion(ConfigError):
    """The SageMaker SDK knows no registry for an image in the region the stack is bound to."""


@dataclass(frozen=True)
class DlcImage:
    repository: str
    tag: str
    # (region, registry account) for every region the SDK lists for this image.
    accounts: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        """The region-independent part of the URI; what the training job's name hashes."""
        return f"{self.repository}:{self.tag}"

    @property
    def mapping_key(self) -> str:
        """Second-level key in the stack's mapping (alphanumeric, as CloudFormation requires)."""
        return self.repository.replace("-", "")

    @property
    def regions(self) -> frozenset[str]:
        return frozenset(region for region, _ in self.accounts)

    def account(self, stack: Stack) -> str:
        if not Token.is_unresolved(stack.region):
            accounts = dict(self.accounts)
            if stack.region not in accounts:
                raise UnsupportedRegion(
                    f"region {stack.region}: the SageMaker SDK (sagemaker-core) lists no {self.name} "
                    f"image there; it has one in {', '.join(sorted(accounts))}")
            return accounts[stack.region]
        mapping = stack.node.try_find_child(MAPPING_ID)
        if mapping is None:
            raise RuntimeError(f"{stack.node.path}: call stacks.images.use_images(stack, images) "
                               "before asking for an image's URI")
        return Fn.find_in_map(MAPPING_ID, Aws.REGION, self.mapping_key)

    def uri(self, stack: Stack) -> str:
        return f"{self.account(stack)}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{self.name}"

    def repository_arn(self, stack: Stack) -> str:
        return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{self.account(stack)}:repository/{self.repository}"


def use_images(stack: Stack, images: list[DlcImage]) -> None:
    """Declares the images the stack pulls: for a region-agnostic stack, the mapping of their
    accounts in every region where all of them exist, and a rule that rejects other regions."""
    if not Token.is_unresolved(stack.region):
        for image in images:
            image.account(stack)  # raises UnsupportedRegion
        return
    regions = sorted(frozenset.intersection(*(image.regions for image in images)))
    CfnMapping(stack, MAPPING_ID, mapping={
        region: {image.mapping_key: dict(image.accounts)[region] for image in images}
        for region in regions})
    CfnRule(stack, RULE_ID, assertions=[CfnRuleAssertion(
        assert_=Fn.condition_contains(regions, Aws.REGION),
        assert_description=(
            f"{', '.join(sorted({image.name for image in images}))}: the SageMaker SDK this template "
            f"was synthesized with lists these images in {len(regions)} regions "
            f"({MAPPING_ID} mapping), and this stack's region is not one of them."))])


def processor(instance_type: str) -> str:
    return "gpu" if instance_type.startswith(GPU_FAMILIES) else "cpu"


@cache
def _sdk_image(scope: str, version: str, instance_type: str) -> DlcImage:
    """The image as the SageMaker SDK resolves it: tag from `retrieve` (which also checks that
    the version, Python and processor exist), accounts from the same table for every region."""
    from sagemaker.core import image_uris  # ~1.5 s: sagemaker.core imports its whole API

    registries = image_uris.config_for_framework(FRAMEWORK)[scope]["versions"][version]["registries"]
    reference = "us-east-1" if "us-east-1" in registries else sorted(registries)[0]
    uri = image_uris.retrieve(FRAMEWORK, region=reference, version=version, py_version=PYTHON_VERSION,
                              instance_type=instance_type, image_scope=scope)
    path = urlsplit(f"//{uri}").path.lstrip("/")
    repository, tag = path.split(":", 1)
    return DlcImage(repository, tag, tuple(sorted(registries.items())))


def training_image(instance_type: str) -> DlcImage:
    return _sdk_image("training", TRAINING_VERSION, instance_type)


def inference_image() -> DlcImage:
    # model_code/inference.py runs on CPU; serverless endpoints have no GPUs anyway.
    return _sdk_image("inference", INFERENCE_VERSION, "ml.m5.large")
