"""The DLC images' registry accounts come from the SageMaker SDK for every region it lists, and a
region it does not list is refused: by the template's rule when the region is a token, at
synthesis when the stack is bound to a region."""
from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment, Stack
from sagemaker.core import image_uris

from stacks.images import (
    INFERENCE_VERSION,
    MAPPING_ID,
    RULE_ID,
    TRAINING_VERSION,
    UnsupportedRegion,
    inference_image,
    training_image,
    use_images,
)


def sdk_registries(scope: str, version: str) -> dict[str, str]:
    return image_uris.config_for_framework("pytorch")[scope]["versions"][version]["registries"]


def test_mapping_holds_every_region_the_sdk_lists_for_both_images(default_app):
    inference = sdk_registries("inference", INFERENCE_VERSION)
    training = sdk_registries("training", TRAINING_VERSION)
    mapping = default_app.model_json["Mappings"][MAPPING_ID]

    assert sorted(mapping) == sorted(set(inference) & set(training))
    assert all(mapping[region] == {"pytorchinference": inference[region], "pytorchtraining": training[region]}
               for region in mapping)
    # Regions CDK's regional facts (the former source) did not know.
    assert {"af-south-1", "ap-northeast-3", "mx-central-1", "us-gov-west-1"} <= set(mapping)


def test_serving_only_stack_maps_every_region_of_the_inference_image(artifact_app):
    assert sorted(artifact_app.model_json["Mappings"][MAPPING_ID]) == sorted(
        sdk_registries("inference", INFERENCE_VERSION))


def test_template_refuses_a_region_outside_the_mapping(default_app):
    (assertion,) = default_app.model_json["Rules"][RULE_ID]["Assertions"]
    regions, region = assertion["Assert"]["Fn::Contains"]

    assert region == {"Ref": "AWS::Region"}
    assert regions == sorted(default_app.model_json["Mappings"][MAPPING_ID])
    assert "pytorch-inference:2.6.0-cpu-py312" in assertion["AssertDescription"]


@pytest.mark.parametrize("image, scope, instance_type", [
    (inference_image(), "inference", "ml.m5.large"),
    (training_image("ml.g5.xlarge"), "training", "ml.g5.xlarge"),
])
def test_images_are_what_the_sdk_api_resolves(image, scope, instance_type):
    """stacks/images.py reads the SDK's table file without importing the SDK; the SDK's API must
    agree: the same accounts everywhere, and retrieve's URI in one region of each partition
    (retrieve costs ~80 ms a call)."""
    version = image.tag.split("-")[0]
    assert dict(image.accounts) == sdk_registries(scope, version)
    for region in ("us-east-1", "mx-central-1", "cn-north-1", "us-gov-west-1"):
        uri = image_uris.retrieve("pytorch", region=region, version=version, py_version="py312",
                                  instance_type=instance_type, image_scope=scope)
        assert uri.startswith(f"{dict(image.accounts)[region]}.dkr.ecr.{region}.") and uri.endswith(f"/{image.name}")


def region_bound_stack(region: str) -> Stack:
    return Stack(App(), "Bound", env=Environment(account="111111111111", region=region))


def test_a_stack_bound_to_a_region_the_sdk_does_not_list_is_refused_naming_it():
    with pytest.raises(UnsupportedRegion, match="region xx-nowhere-1: the SageMaker SDK"):
        use_images(region_bound_stack("xx-nowhere-1"), [inference_image()])


def test_a_stack_bound_to_a_listed_region_gets_the_account_literally():
    stack = region_bound_stack("ap-northeast-3")
    image = inference_image()
    use_images(stack, [image])

    uri = json.dumps(stack.resolve(image.uri(stack)))

    assert f'"{sdk_registries("inference", INFERENCE_VERSION)["ap-northeast-3"]}.dkr.ecr.' in uri
    assert "Fn::FindInMap" not in uri and stack.node.try_find_child(MAPPING_ID) is None
