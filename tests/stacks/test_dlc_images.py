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


def test_images_match_what_the_sdk_retrieves():
    uri = image_uris.retrieve("pytorch", region="eu-west-1", version=INFERENCE_VERSION, py_version="py312",
                              instance_type="ml.m5.large", image_scope="inference")

    assert uri.endswith("/" + inference_image().name)
    assert training_image("ml.g5.xlarge").tag == f"{TRAINING_VERSION}-gpu-py312"


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
