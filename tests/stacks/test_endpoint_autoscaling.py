"""Real-time autoscaling as two custom resources around the endpoint (stacks/endpoint_autoscaling.py):
"Before" pauses scaling ahead of an instance-type change, which SageMaker refuses on a registered
variant, and "After" registers it again; CloudFormation's order and the handler's narrow
permissions are what make that safe."""
from __future__ import annotations

import json

import pytest

BEFORE, AFTER = "Custom::SageMakerScalingBeforeUpdate", "Custom::SageMakerVariantScaling"


def only(app, resource_type: str) -> tuple[str, dict]:
    [(logical_id, resource)] = app.model.find_resources(resource_type).items()
    return logical_id, resource


def depends_on(resource: dict) -> list[str]:
    return resource.get("DependsOn", [])


@pytest.mark.parametrize("app_fixture", ["prod_app", "options_app"])
def test_scaling_is_paused_before_the_endpoint_updates_and_registered_after(app_fixture, request):
    app = request.getfixturevalue(app_fixture)
    before_id, before = only(app, BEFORE)
    endpoint_id, endpoint = only(app, "AWS::SageMaker::Endpoint")
    after_id, after = only(app, AFTER)

    assert before_id in depends_on(endpoint)
    assert endpoint_id in depends_on(after)
    # No cycle and no shortcut: Before knows nothing of the endpoint (it reads the deployed one by
    # name), and the endpoint does not wait for After.
    assert endpoint_id not in json.dumps(before) and after_id not in depends_on(endpoint)


def test_both_resources_carry_what_a_change_must_update_them_for(prod_app, options_app):
    """The instance type (a change pauses scaling), the bounds and the target value."""
    for app, instance_type, bounds, target in ((prod_app, "ml.m5.large", (2, 4), 100),
                                               (options_app, "ml.c5.large", (2, 5), 250)):
        properties = [{k: v for k, v in only(app, kind)[1]["Properties"].items() if k != "Phase"}
                      for kind in (BEFORE, AFTER)]
        assert properties[0] == properties[1]
        assert {k: properties[0][k] for k in ("ResourceId", "InstanceType", "Min", "Max", "TargetValue", "PolicyName")} == {
            "ResourceId": "endpoint/sentiment-prod/variant/AllTraffic", "InstanceType": instance_type,
            "Min": bounds[0], "Max": bounds[1], "TargetValue": target,
            "PolicyName": "sentiment-prod-invocations-per-instance"}
    assert [only(prod_app, kind)[1]["Properties"]["Phase"] for kind in (BEFORE, AFTER)] == ["Before", "After"]


def test_the_instance_type_from_the_configuration_reaches_the_scaling_resources(synth):
    app = synth(endpointMode="realtime", instanceType="ml.c5.xlarge")
    for kind in (BEFORE, AFTER):
        app.model.has_resource_properties(kind, {"InstanceType": "ml.c5.xlarge"})


def handler_statements(app) -> list[dict]:
    [function] = [f for f in app.model.find_resources("AWS::Lambda::Function").values()
                  if f["Properties"].get("Handler") == "handler.on_event"
                  and "Autoscaling" in json.dumps(f["Properties"]["Role"])]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    [policy] = [p for p in app.model.find_resources("AWS::IAM::Policy").values()
                if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def by_action(statements: list[dict]) -> dict[str, dict]:
    return {action: s for s in statements for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_handler_may_scale_only_sagemaker_variants_and_touch_only_this_endpoint(prod_app):
    statements = by_action(handler_statements(prod_app))

    for action in ("RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy"):
        statement = statements[f"application-autoscaling:{action}"]
        assert json.dumps(statement["Resource"]).endswith(':scalable-target/*"]]}')
        assert statement["Condition"] == {"StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount"}}
    # Application Auto Scaling's read actions accept no resource ARN.
    assert statements["application-autoscaling:DescribeScalableTargets"]["Resource"] == "*"
    for action in ("DescribeEndpoint", "UpdateEndpointWeightsAndCapacities"):
        assert json.dumps(statements[f"sagemaker:{action}"]["Resource"]).endswith(':endpoint/sentiment-prod"]]}')
    for action in ("PutMetricAlarm", "DeleteAlarms", "DescribeAlarms"):
        assert json.dumps(statements[f"cloudwatch:{action}"]["Resource"]).endswith(
            ':alarm:TargetTracking-endpoint/sentiment-prod/variant/AllTraffic-*"]]}')
    linked = statements["iam:CreateServiceLinkedRole"]
    assert json.dumps(linked["Resource"]).endswith(
        ':role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/'
        'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"]]}')
    assert linked["Condition"] == {"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}}
    assert not [a for a in statements if a.endswith(":*") or a == "*"]


def test_the_scaling_functions_log_to_expiring_groups_and_their_roles_have_no_managed_policy(prod_app):
    resources = prod_app.model_json["Resources"]
    functions = {key: r for key, r in resources.items()
                 if r["Type"] == "AWS::Lambda::Function" and key.startswith("EndpointAutoscaling")}
    assert len(functions) == 2  # the handler and the provider framework's function

    for function in functions.values():
        group = resources[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert (group["Properties"]["RetentionInDays"], group["DeletionPolicy"]) == (30, "Delete")
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert "ManagedPolicyArns" not in role["Properties"]


def test_serverless_endpoints_have_no_scaling_resources(default_app):
    for kind in (BEFORE, AFTER, "AWS::ApplicationAutoScaling::ScalableTarget"):
        default_app.model.resource_count_is(kind, 0)
