"""The endpoint-scaling custom resource (stacks/endpoint_scaling/) against botocore's Stubber: each
request is checked against SageMaker's and Application Auto Scaling's real API models, and each test
states which AWS calls one CloudFormation event makes, in order, and which it must not make."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from stacks.endpoint_scaling import handler

RESOURCE_ID = "endpoint/sentiment-prod/variant/AllTraffic"
TARGET = {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE_ID,
          "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}
POLICY = "sentiment-prod-invocations-per-instance"
# CloudFormation hands numbers over as strings.
PROPS = {"ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:provider", "ResourceId": RESOURCE_ID,
         "InstanceType": "ml.c5.large", "Min": "2", "Max": "5", "TargetValue": "250", "PolicyName": POLICY}
OLD_PROPS = {**PROPS, "InstanceType": "ml.m5.large"}


@pytest.fixture
def clients(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
    with Stubber(sagemaker) as sm, Stubber(autoscaling) as aas:
        yield sagemaker, sm, autoscaling, aas
        sm.assert_no_pending_responses()
        aas.assert_no_pending_responses()


def event(request_type: str, phase: str, props: dict = PROPS, old: dict | None = None,
          physical_id: str | None = None) -> dict:
    body = {"RequestType": request_type, "ResourceProperties": {**props, "Phase": phase}}
    if old is not None:
        body["OldResourceProperties"] = {**old, "Phase": phase}
    if physical_id:
        body["PhysicalResourceId"] = physical_id
    return body


def run(clients, body: dict) -> dict:
    sagemaker, _, autoscaling, _ = clients
    sleeps = []
    result = handler.handle_event(body, sagemaker, autoscaling, sleep=sleeps.append)
    result["sleeps"] = sleeps
    return result


def deployed(sm: Stubber, instance_type: str | None, config: str = "EndpointConfig-abc") -> None:
    """The endpoint runs `config`, whose variant is of `instance_type` (None: a serverless variant)."""
    sm.add_response("describe_endpoint", {
        "EndpointName": "sentiment-prod", "EndpointArn": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/sentiment-prod",
        "EndpointConfigName": config, "EndpointStatus": "InService",
        "CreationTime": "2026-12-01T10:00:00Z", "LastModifiedTime": "2026-12-01T10:00:00Z"},
        {"EndpointName": "sentiment-prod"})
    variant = {"VariantName": "AllTraffic", "ModelName": "model"}
    variant.update({"InstanceType": instance_type, "InitialInstanceCount": 2} if instance_type else
                   {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}})
    sm.add_response("describe_endpoint_config", {
        "EndpointConfigName": config, "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/{config}",
        "ProductionVariants": [variant], "CreationTime": "2026-12-01T10:00:00Z"},
        {"EndpointConfigName": config})


def no_endpoint(sm: Stubber) -> None:
    sm.add_client_error("describe_endpoint", service_error_code="ValidationException",
                        service_message='Could not find endpoint "sentiment-prod".',
                        expected_params={"EndpointName": "sentiment-prod"})


def registered(aas: Stubber, present: bool) -> None:
    target = {**TARGET, "MinCapacity": 2, "MaxCapacity": 5, "RoleARN": "arn:aws:iam::111122223333:role/slr",
              "CreationTime": "2026-12-01T10:00:00Z"}
    aas.add_response("describe_scalable_targets", {"ScalableTargets": [target] if present else []},
                     {"ServiceNamespace": "sagemaker", "ResourceIds": [RESOURCE_ID],
                      "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"})


def expect_pause(aas: Stubber, policy_gone: bool = False, target_gone: bool = False) -> None:
    """AWS's order: the policy first, then the target; either may be gone already."""
    if policy_gone:
        aas.add_client_error("delete_scaling_policy", service_error_code="ObjectNotFoundException",
                             expected_params={"PolicyName": POLICY, **TARGET})
    else:
        aas.add_response("delete_scaling_policy", {}, {"PolicyName": POLICY, **TARGET})
    if target_gone:
        aas.add_client_error("deregister_scalable_target", service_error_code="ObjectNotFoundException",
                             expected_params=TARGET)
    else:
        aas.add_response("deregister_scalable_target", {}, TARGET)


def expect_resume(aas: Stubber, min_capacity: int = 2, max_capacity: int = 5, target_value: float = 250.0) -> None:
    aas.add_response("register_scalable_target", {},
                     {**TARGET, "MinCapacity": min_capacity, "MaxCapacity": max_capacity})
    aas.add_response("put_scaling_policy", {"PolicyARN": "arn:aws:autoscaling:policy"}, {
        "PolicyName": POLICY, "PolicyType": "TargetTrackingScaling", **TARGET,
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": target_value,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}})


# Before the endpoint update ----------------------------------------------------------------------

def test_a_forward_update_that_changes_the_instance_type_pauses_scaling_first(clients):
    """SageMaker refuses the UpdateEndpoint otherwise: the endpoint runs ml.m5.large, the template
    asks for ml.c5.large."""
    _, sm, _, aas = clients
    deployed(sm, "ml.m5.large")
    expect_pause(aas)

    result = run(clients, event("Update", "Before", PROPS, old=OLD_PROPS, physical_id=f"{RESOURCE_ID}/before-update"))
    assert result["Data"] == {"Action": "paused"}
    assert result["PhysicalResourceId"] == f"{RESOURCE_ID}/before-update"


def test_pausing_tolerates_a_policy_or_target_that_is_already_gone(clients):
    _, sm, _, aas = clients
    deployed(sm, "ml.m5.large")
    expect_pause(aas, policy_gone=True, target_gone=True)

    assert run(clients, event("Update", "Before", PROPS, old=OLD_PROPS))["Data"] == {"Action": "paused"}


def test_an_update_on_the_same_instance_type_changes_nothing(clients):
    """A new model (SageMaker allows that while the variant is registered) or new bounds: the target
    stays registered, and the After resource applies the bounds once the endpoint is updated."""
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    registered(aas, present=True)

    result = run(clients, event("Update", "Before", PROPS, old={**PROPS, "Max": "4"}))
    assert result["Data"] == {"Action": "none"}


def test_a_rollback_registers_again_what_the_forward_update_paused(clients):
    """CloudFormation rolls back with an Update whose properties are the old ones, after the endpoint
    is back on ml.m5.large; the paused target is missing, so scaling comes back with the old bounds."""
    _, sm, _, aas = clients
    deployed(sm, "ml.m5.large")
    registered(aas, present=False)
    expect_resume(aas, min_capacity=2, max_capacity=4, target_value=100.0)
    old = {**OLD_PROPS, "Max": "4", "TargetValue": "100"}

    result = run(clients, event("Update", "Before", old, old=PROPS, physical_id=f"{RESOURCE_ID}/before-update"))
    assert result["Data"] == {"Action": "registered again"}


def test_the_first_deploy_finds_no_endpoint_and_does_nothing(clients):
    _, sm, _, _ = clients
    no_endpoint(sm)

    assert run(clients, event("Create", "Before"))["Data"] == {"Action": "none"}


def test_a_serverless_endpoint_becoming_real_time_has_nothing_to_pause_but_asks_anyway(clients):
    """A serverless variant is never a scalable target here; the deletes find nothing."""
    _, sm, _, aas = clients
    deployed(sm, None)
    expect_pause(aas, policy_gone=True, target_gone=True)

    assert run(clients, event("Update", "Before", PROPS, old=PROPS))["Data"] == {"Action": "paused"}


def test_deleting_the_before_resource_calls_nothing(clients):
    result = run(clients, event("Delete", "Before", physical_id=f"{RESOURCE_ID}/before-update"))
    assert result["PhysicalResourceId"] == f"{RESOURCE_ID}/before-update"


# After the endpoint update -----------------------------------------------------------------------

def test_after_creation_the_target_is_registered_and_the_policy_put(clients):
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    expect_resume(aas)

    result = run(clients, event("Create", "After"))
    assert result == {"PhysicalResourceId": RESOURCE_ID, "Data": {"Action": "registered"}, "sleeps": []}


def test_after_an_instance_type_change_scaling_is_registered_again_with_the_new_bounds(clients):
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    expect_resume(aas)

    result = run(clients, event("Update", "After", PROPS, old={**OLD_PROPS, "Max": "4"}, physical_id=RESOURCE_ID))
    assert result["PhysicalResourceId"] == RESOURCE_ID and result["Data"] == {"Action": "registered"}


def test_a_renamed_policy_does_not_stay_behind_beside_the_new_one(clients):
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    expect_resume(aas)
    aas.add_response("delete_scaling_policy", {}, {"PolicyName": "old-name", **TARGET})

    run(clients, event("Update", "After", PROPS, old={**PROPS, "PolicyName": "old-name"}, physical_id=RESOURCE_ID))


def test_the_policy_is_retried_while_the_new_target_is_not_visible_yet(clients):
    """RegisterScalableTarget is eventually consistent."""
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    aas.add_response("register_scalable_target", {}, {**TARGET, "MinCapacity": 2, "MaxCapacity": 5})
    aas.add_client_error("put_scaling_policy", service_error_code="ObjectNotFoundException")
    aas.add_response("put_scaling_policy", {"PolicyARN": "arn:aws:autoscaling:policy"})

    assert run(clients, event("Create", "After"))["sleeps"] == [2]


def test_a_rollback_of_the_after_resource_pauses_while_the_endpoint_is_still_on_the_newer_type(clients):
    """The endpoint's own rollback (to ml.m5.large) comes next and SageMaker would refuse it with the
    variant registered; the Before resource's rollback registers again afterwards."""
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    expect_pause(aas)

    result = run(clients, event("Update", "After", OLD_PROPS, old=PROPS, physical_id=RESOURCE_ID))
    assert result["Data"] == {"Action": "paused"}


def test_delete_deregisters_and_ignores_a_target_already_gone(clients):
    _, _, _, aas = clients
    expect_pause(aas, policy_gone=True, target_gone=True)

    result = run(clients, event("Delete", "After", physical_id=RESOURCE_ID))
    assert result["PhysicalResourceId"] == RESOURCE_ID


def test_delete_deregisters_a_registered_target(clients):
    _, _, _, aas = clients
    expect_pause(aas)

    run(clients, event("Delete", "After", physical_id=RESOURCE_ID))


# Errors ---------------------------------------------------------------------------------------------

def test_a_refused_registration_is_one_line_naming_the_call_and_the_variant(clients):
    _, sm, _, aas = clients
    deployed(sm, "ml.c5.large")
    aas.add_client_error("register_scalable_target", service_error_code="AccessDeniedException",
                         service_message="not authorized")

    with pytest.raises(handler.ScalingError) as error:
        run(clients, event("Create", "After"))
    assert str(error.value) == f"RegisterScalableTarget for {RESOURCE_ID} failed (AccessDeniedException: not authorized)"


@pytest.mark.parametrize(("props", "message"), [
    ({**PROPS, "ResourceId": "sentiment-prod"}, "ResourceId must read endpoint/<name>/variant/<variant>, got 'sentiment-prod'"),
    ({**PROPS, "Min": "two"}, "bad scaling properties (ValueError: invalid literal for int() with base 10: 'two')"),
    ({**PROPS, "Phase": "During"}, "Phase must be Before or After, got 'During'"),
])
def test_bad_properties_are_one_line_errors(clients, props, message):
    body = event("Create", "After", props)
    body["ResourceProperties"].update({k: v for k, v in props.items() if k == "Phase"})
    with pytest.raises(handler.ScalingError) as error:
        run(clients, body)
    assert str(error.value) == message
