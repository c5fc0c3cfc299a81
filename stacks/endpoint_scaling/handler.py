"""Custom resource that keeps a real-time endpoint's autoscaling across endpoint updates.

SageMaker refuses an UpdateEndpoint that changes the instance type of a variant while the variant
is a registered Application Auto Scaling target. AWS's procedure ("Update endpoints that use
automatic scaling", https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html):
delete the scaling policy and deregister the target, update the endpoint, register the target
again and put the policy back. CloudFormation has no such step, so the stack uses this handler
twice, around the AWS::SageMaker::Endpoint, both times with the same properties (ResourceId,
InstanceType, Min, Max, TargetValue, PolicyName), so a change of any of them updates both:

- Phase "Before" (the endpoint depends on it): when the instance type the endpoint runs now (its
  deployed endpoint configuration) differs from InstanceType, the policy is deleted and the target
  deregistered, so the endpoint's update can go ahead. When they are equal and the target is
  missing, it registers the target and puts the policy again: that is CloudFormation rolling back
  an update that had paused scaling (a rollback sends an Update whose properties are the old ones,
  and reaches this resource after the endpoint is back on its old instance type). Otherwise it
  changes nothing. Delete does nothing.
- Phase "After" (it depends on the endpoint): registers the target with Min and Max and puts the
  target-tracking policy on Create and Update. On a rollback that finds the endpoint still on the
  newer type (it is about to go back to the type in these properties) it pauses instead, and the
  "Before" resource's rollback registers again. Delete deregisters (the policy goes with it).

So a failed update never leaves the endpoint without autoscaling, and a change of model alone
(SageMaker allows that while the variant is registered) pauses nothing.

Driven by the CDK Provider framework's on_event (every call is answered at once: no polling). The
entry point only builds the clients; everything else takes them as arguments, so tests drive it
through botocore's Stubber.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"
BEFORE, AFTER = "Before", "After"
RESOURCE_ID = re.compile(r"endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)")
# RegisterScalableTarget is eventually consistent: a policy put right after it can briefly find no
# target (Application Auto Scaling API reference, RegisterScalableTarget).
POLICY_ATTEMPTS = 5
SERVERLESS = "serverless"


class ScalingError(RuntimeError):
    """The step cannot be done; the message ends up in the CloudFormation event."""


@dataclass(frozen=True)
class Scaling:
    """What the resource's properties ask for. CloudFormation hands numbers over as strings."""
    resource_id: str
    instance_type: str
    min_capacity: int
    max_capacity: int
    target_value: float
    policy_name: str

    @classmethod
    def from_properties(cls, props: dict) -> Scaling:
        match = RESOURCE_ID.fullmatch(props.get("ResourceId", ""))
        if not match:
            raise ScalingError(f"ResourceId must read endpoint/<name>/variant/<variant>, got {props.get('ResourceId')!r}")
        try:
            return cls(resource_id=props["ResourceId"], instance_type=props["InstanceType"],
                       min_capacity=int(props["Min"]), max_capacity=int(props["Max"]),
                       target_value=float(props["TargetValue"]), policy_name=props["PolicyName"])
        except (KeyError, ValueError) as error:
            raise ScalingError(f"bad scaling properties ({type(error).__name__}: {error})") from None

    @property
    def endpoint_name(self) -> str:
        return RESOURCE_ID.fullmatch(self.resource_id)["endpoint"]

    @property
    def variant_name(self) -> str:
        return RESOURCE_ID.fullmatch(self.resource_id)["variant"]

    @property
    def target(self) -> dict:
        return {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceId": self.resource_id,
                "ScalableDimension": SCALABLE_DIMENSION}


def on_event(event, context):
    return handle_event(event, boto3.client("sagemaker"), boto3.client("application-autoscaling"))


def handle_event(event: dict, sagemaker, autoscaling, sleep=time.sleep) -> dict:
    phase = event["ResourceProperties"].get("Phase")
    if phase == BEFORE:
        return before_endpoint_update(event, sagemaker, autoscaling, sleep)
    if phase == AFTER:
        return after_endpoint_update(event, sagemaker, autoscaling, sleep)
    raise ScalingError(f"Phase must be {BEFORE} or {AFTER}, got {phase!r}")


# The two phases ------------------------------------------------------------------------------

def before_endpoint_update(event: dict, sagemaker, autoscaling, sleep=time.sleep) -> dict:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    wanted = Scaling.from_properties(event["ResourceProperties"])
    deployed = deployed_instance_type(sagemaker, wanted)
    if deployed is None:
        action = "none: the endpoint does not exist yet"
    elif deployed != wanted.instance_type:
        pause(autoscaling, wanted)
        action = f"paused: the endpoint goes from {deployed} to {wanted.instance_type}"
    elif not is_registered(autoscaling, wanted):
        resume(autoscaling, wanted, sleep)
        action = f"registered again: the endpoint is on {deployed} and had no scalable target"
    else:
        action = f"none: the endpoint stays on {deployed}"
    print(f"{wanted.resource_id} before the endpoint update: {action}")
    return {"PhysicalResourceId": f"{wanted.resource_id}/before-update", "Data": {"Action": action.split(":")[0]}}


def after_endpoint_update(event: dict, sagemaker, autoscaling, sleep=time.sleep) -> dict:
    wanted = Scaling.from_properties(event["ResourceProperties"])
    if event["RequestType"] == "Delete":
        pause(autoscaling, wanted)
        print(f"{wanted.resource_id}: deregistered")
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    deployed = deployed_instance_type(sagemaker, wanted)
    if deployed is not None and deployed != wanted.instance_type:
        # Only a rollback gets here: the endpoint is about to return to wanted.instance_type, which
        # SageMaker refuses while the variant is registered.
        pause(autoscaling, wanted)
        action = f"paused: the endpoint goes back from {deployed} to {wanted.instance_type}"
    else:
        resume(autoscaling, wanted, sleep)
        if event["RequestType"] == "Update":
            drop_renamed_policy(autoscaling, Scaling.from_properties(event["OldResourceProperties"]), wanted)
        action = (f"registered: {wanted.min_capacity} to {wanted.max_capacity} instances, "
                  f"{wanted.target_value:g} invocations per instance")
    print(f"{wanted.resource_id} after the endpoint update: {action}")
    return {"PhysicalResourceId": wanted.resource_id, "Data": {"Action": action.split(":")[0]}}


# Steps -----------------------------------------------------------------------------------------

def deployed_instance_type(sagemaker, wanted: Scaling) -> str | None:
    """The instance type of the variant in the endpoint configuration the endpoint runs now
    (DescribeEndpoint names it; DescribeEndpointConfig has the type); None when there is no
    endpoint, "serverless" for a serverless variant."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=wanted.endpoint_name)
    except ClientError as error:
        if error.response["Error"].get("Code") == "ValidationException" and \
                "could not find" in error.response["Error"].get("Message", "").lower():
            return None
        raise ScalingError(failure("DescribeEndpoint", wanted.endpoint_name, error)) from None
    config_name = endpoint["EndpointConfigName"]
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError as error:
        raise ScalingError(failure("DescribeEndpointConfig", config_name, error)) from None
    for variant in config["ProductionVariants"]:
        if variant["VariantName"] == wanted.variant_name:
            return variant.get("InstanceType") or SERVERLESS
    raise ScalingError(f"endpoint configuration {config_name} of {wanted.endpoint_name} has no variant "
                       f"{wanted.variant_name}")


def is_registered(autoscaling, wanted: Scaling) -> bool:
    try:
        found = autoscaling.describe_scalable_targets(
            ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=[wanted.resource_id],
            ScalableDimension=SCALABLE_DIMENSION)
    except ClientError as error:
        raise ScalingError(failure("DescribeScalableTargets", wanted.resource_id, error)) from None
    return bool(found["ScalableTargets"])


def pause(autoscaling, wanted: Scaling) -> None:
    """AWS's first step: delete the policy, deregister the target (either may be gone already).
    The variant keeps its current instance count."""
    call(autoscaling.delete_scaling_policy, "DeleteScalingPolicy", wanted.resource_id,
         PolicyName=wanted.policy_name, **wanted.target)
    call(autoscaling.deregister_scalable_target, "DeregisterScalableTarget", wanted.resource_id, **wanted.target)


def resume(autoscaling, wanted: Scaling, sleep=time.sleep) -> None:
    """AWS's last step: register the target (or update its range) and put the policy."""
    if wanted.min_capacity > wanted.max_capacity:
        raise ScalingError(f"Min {wanted.min_capacity} is above Max {wanted.max_capacity}")
    call(autoscaling.register_scalable_target, "RegisterScalableTarget", wanted.resource_id, ignore=(),
         MinCapacity=wanted.min_capacity, MaxCapacity=wanted.max_capacity, **wanted.target)
    for attempt in range(1, POLICY_ATTEMPTS + 1):
        try:
            autoscaling.put_scaling_policy(
                PolicyName=wanted.policy_name, PolicyType="TargetTrackingScaling", **wanted.target,
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": wanted.target_value,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
                })
            return
        except ClientError as error:
            if code(error) != "ObjectNotFoundException" or attempt == POLICY_ATTEMPTS:
                raise ScalingError(failure("PutScalingPolicy", wanted.resource_id, error)) from None
            sleep(2 * attempt)


def drop_renamed_policy(autoscaling, old: Scaling, wanted: Scaling) -> None:
    """A policy left under an old name would keep scaling beside the new one."""
    if old.resource_id == wanted.resource_id and old.policy_name != wanted.policy_name:
        call(autoscaling.delete_scaling_policy, "DeleteScalingPolicy", old.resource_id,
             PolicyName=old.policy_name, **old.target)


def call(operation, name: str, subject: str, ignore=("ObjectNotFoundException",), **kwargs) -> None:
    try:
        operation(**kwargs)
    except ClientError as error:
        if code(error) not in ignore:
            raise ScalingError(failure(name, subject, error)) from None


def code(error: ClientError) -> str:
    return error.response["Error"].get("Code", "Error")


def failure(operation: str, subject: str, error: ClientError) -> str:
    return f"{operation} for {subject} failed ({code(error)}: {error.response['Error'].get('Message', '')})"
