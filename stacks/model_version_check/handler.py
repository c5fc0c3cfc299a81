"""Custom resource that lets a stage deploy only an approved version of the model registry.

Where a stage pins its model by `modelPackageArn` (prod), this resource stands before the
endpoint: on create and update it reads the version with DescribeModelPackage and fails unless a
person (or the dev stage's auto-approval) has set it to Approved, so CloudFormation rolls the
deployment back with one line saying what to do, before anything serves an unreviewed model. It
hands the version's ModelDataUrl and Image to the stack. Delete does nothing: the version belongs to
the registry, not to the stack.

Driven by the CDK Provider framework's on_event (no polling: the answer is immediate). The entry
point only builds the client; handle_event takes it as an argument, so tests drive it through
botocore's Stubber.
"""
from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

APPROVED = "Approved"


class ModelVersionError(RuntimeError):
    """The version cannot be deployed; the message ends up in the CloudFormation event."""


def on_event(event, context):
    return handle_event(event, boto3.client("sagemaker"))


def handle_event(event: dict, sagemaker) -> dict:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    arn = event["ResourceProperties"].get("ModelPackageArn", "")
    if not arn:
        raise ModelVersionError("the ModelPackageArn property is empty")
    package = describe(sagemaker, arn)
    check_approved(package, arn)
    container = package["InferenceSpecification"]["Containers"][0]
    return {"PhysicalResourceId": arn, "Data": {
        "ModelDataUrl": container.get("ModelDataUrl", ""),
        "Image": container["Image"],
        "ModelPackageGroupName": package.get("ModelPackageGroupName", ""),
        "ModelPackageVersion": str(package.get("ModelPackageVersion", "")),
        "ModelApprovalStatus": package["ModelApprovalStatus"],
    }}


def describe(sagemaker, arn: str) -> dict:
    try:
        return sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        code, message = error.response["Error"].get("Code", "Error"), error.response["Error"].get("Message", "")
        raise ModelVersionError(f"model package {arn} cannot be read ({code}: {message})") from None


def check_approved(package: dict, arn: str) -> None:
    """Raises ModelVersionError unless the version is Approved, saying how to get one that is."""
    status = package.get("ModelApprovalStatus", "unknown")
    if status == APPROVED:
        return
    if status == "PendingManualApproval":
        version, group = package.get("ModelPackageVersion"), package.get("ModelPackageGroupName")
        raise ModelVersionError(f"model package {arn} is {status}, not Approved: approve it with "
                                f"`sentiment models approve {version} --group {group}` first")
    why = package.get("ApprovalDescription") or package.get("ModelPackageDescription")
    raise ModelVersionError(f"model package {arn} is {status}, not Approved" + (f" ({why})" if why else "")
                            + ": pin an approved version in modelPackageArn")
