"""AWS Deep Learning Container images for training and serving, for whichever region deploys.

Which account publishes an image in which region comes from the SageMaker SDK's image table
(the one sagemaker-core's `image_uris.retrieve` reads, offline), never from a list kept here. The templates stay
region-agnostic: each stack carries a `DlcImageAccounts` mapping of every region where all of its
images exist, CloudFormation picks the account at deploy time, and a template rule refuses any
other region before a resource is created. A stack bound to a concrete region is checked at
synthesis instead. The tags: training 2.9 (the newest with py312) and the 2.6 CPU inference
image, the newest inference release.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

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


SDK_DISTRIBUTION = "sagemaker-core"
SDK_TABLE = f"sagemaker/core/image_uri_config/{FRAMEWORK}.json"


@cache
def sdk_table() -> dict:
    """The SageMaker SDK's PyTorch image table, the data `image_uris.retrieve` reads. Read from
    the installed sagemaker-core without importing it: `import sagemaker.core` loads the SDK's
    whole API and added 1.5 to 3.5 s to every `cdk synth` on this project's machine, for one JSON
    file. tests/stacks/test_dlc_images.py checks that the URIs agree with `retrieve`."""
    path = Path(distribution(SDK_DISTRIBUTION).locate_file(SDK_TABLE))
    if path.is_file():
        return json.loads(path.read_text())
    from sagemaker.core import image_uris  # the table moved in the SDK: ask it (slow, but right)
    return image_uris.config_for_framework(FRAMEWORK)


def _sdk_image(scope: str, version: str, processor_: str) -> DlcImage:
    table = sdk_table()[scope]
    release = table["versions"].get(version)
    if release is None or PYTHON_VERSION not in release["py_versions"] or processor_ not in table["processors"]:
        raise ConfigError(f"the SageMaker SDK ({SDK_DISTRIBUTION}) has no {FRAMEWORK} {scope} image "
                          f"{version} for {PYTHON_VERSION} on {processor_}")
    # The tag as image_uris.retrieve formats it for a full version.
    return DlcImage(release["repository"], f"{version}-{processor_}-{PYTHON_VERSION}",
                    tuple(sorted(release["registries"].items())))


def training_image(instance_type: str) -> DlcImage:
    return _sdk_image("training", TRAINING_VERSION, processor(instance_type))


def inference_image() -> DlcImage:
    # model_code/inference.py runs on CPU; serverless endpoints have no GPUs anyway.
    return _sdk_image("inference", INFERENCE_VERSION, "cpu")
