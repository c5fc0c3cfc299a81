"""Real-time endpoint updates: blue/green with a canary, rolled back by SageMaker on the rollback
alarms; serverless endpoints keep SageMaker's default update."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from stacks.config import ConfigError, DeploymentConfig
from stacks.endpoint import ROLLBACK_LATENCY_P99_MS, rollback_alarm_names


def endpoint(app) -> tuple[str, dict]:
    [(logical_id, resource)] = app.model.find_resources("AWS::SageMaker::Endpoint").items()
    return logical_id, resource


def alarms_by_name(app) -> dict[str, tuple[str, dict]]:
    return {resource["Properties"].get("AlarmName"): (logical_id, resource)
            for logical_id, resource in app.model.find_resources("AWS::CloudWatch::Alarm").items()}


def test_prod_updates_through_a_canary_then_all_at_once_with_automatic_rollback(prod_app):
    """The prod stage as it ships: realtime, two instances, cdk.json's canary defaults (50 %,
    10 minutes)."""
    _, resource = endpoint(prod_app)
    assert resource["Properties"]["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                                            "WaitIntervalInSeconds": 600},
            "TerminationWaitInSeconds": 600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "sentiment-prod-rollback-5xx"},
                                                 {"AlarmName": "sentiment-prod-rollback-latency"}]},
    }


def test_the_rollback_alarms_watch_the_endpoints_5xx_and_latency_and_exist_before_it(prod_app):
    endpoint_id, resource = endpoint(prod_app)
    alarms = alarms_by_name(prod_app)
    errors_name, latency_name = rollback_alarm_names("sentiment-prod")
    dimensions = [{"Name": "EndpointName", "Value": "sentiment-prod"}, {"Name": "VariantName", "Value": "AllTraffic"}]

    errors = alarms[errors_name][1]["Properties"]
    assert (errors["MetricName"], errors["Statistic"], errors["Period"], errors["Threshold"],
            errors["EvaluationPeriods"], errors["Dimensions"]) == ("Invocation5XXErrors", "Sum", 60, 1, 1, dimensions)
    latency = alarms[latency_name][1]["Properties"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Period"], latency["Threshold"],
            latency["EvaluationPeriods"], latency["Dimensions"]) == \
        ("ModelLatency", "p99", 60, ROLLBACK_LATENCY_P99_MS * 1000, 3, dimensions)
    # No cycle: the alarms name the endpoint by its configured name, never by reference, and
    # the endpoint waits for them (SageMaker looks them up by name when an update starts).
    for name in (errors_name, latency_name):
        assert endpoint_id not in json.dumps(alarms[name][1])
    assert {alarms[name][0] for name in (errors_name, latency_name)} <= set(resource["DependsOn"])


def test_the_canary_size_and_bake_time_come_from_the_configuration(synth):
    app = synth(endpointMode="realtime", instanceCount="4", maxInstanceCount="4", canaryPercent="25",
                canaryBakeMinutes="15")
    app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"DeploymentConfig": {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                                        "WaitIntervalInSeconds": 900},
        "TerminationWaitInSeconds": 900}}})


def test_a_single_instance_shifts_all_at_once_but_still_bakes_and_rolls_back(synth):
    """One instance cannot be split into a canary of at most half the fleet."""
    app = synth(endpointMode="realtime", endpointName="solo")
    app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"DeploymentConfig": {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600,
                                                                  "CanarySize": Match.absent()},
                                  "TerminationWaitInSeconds": 600},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "solo-rollback-5xx"},
                                                 {"AlarmName": "solo-rollback-latency"}]}}})


def test_canary_off_leaves_sagemakers_default_update(synth):
    app = synth(endpointMode="realtime", canary="false")
    app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"DeploymentConfig": Match.absent()})
    assert not any(name and "rollback" in name for name in alarms_by_name(app))


def test_serverless_endpoints_get_no_deployment_config(default_app):
    default_app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"DeploymentConfig": Match.absent()})
    default_app.model.resource_count_is("AWS::CloudWatch::Alarm", 0)


@pytest.mark.parametrize(("key", "raw", "message"), [
    ("canaryPercent", "60", "canaryPercent must be an integer from 1 to 50, got '60'"),
    ("canaryPercent", "0", "canaryPercent must be an integer from 1 to 50, got '0'"),
    ("canaryBakeMinutes", "2", "canaryBakeMinutes must be an integer from 5 to 60, got '2'"),
    ("canary", "maybe", "canary must be true or false, got 'maybe'"),
])
def test_bad_canary_settings_are_one_line_errors(tmp_path, key, raw, message):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError) as error:
        DeploymentConfig.from_context({"trainingData": str(tmp_path), key: raw}.get)
    assert str(error.value) == message


# Instance count kept through an update (real-time) -------------------------------------------

@pytest.mark.parametrize("app_fixture", ["prod_app", "options_app"])
def test_a_real_time_update_keeps_the_current_instance_count_but_not_a_hand_set_weight(app_fixture, request):
    """Without RetainAllVariantProperties the new fleet would start at instanceCount even in the
    middle of a scale-out. DesiredInstanceCount stays retained (autoscaling owns it); DesiredWeight is
    excluded, so the template's weight applies; DataCaptureConfig is not listed, SageMaker's reference
    marking that value unsupported (stacks/endpoint.py)."""
    _, resource = endpoint(request.getfixturevalue(app_fixture))
    properties = resource["Properties"]
    assert properties["RetainAllVariantProperties"] is True
    assert properties["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]


def test_the_instance_count_is_retained_with_the_canary_off_too(synth):
    """The canary decides how traffic moves; the fleet's size is another matter."""
    app = synth(endpointMode="realtime", canary="false")
    app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"RetainAllVariantProperties": True})


def test_serverless_endpoints_retain_nothing(default_app):
    """No instance count, nothing that changes the variant at runtime, and memory and concurrency
    must come from the template."""
    default_app.model.has_resource_properties("AWS::SageMaker::Endpoint", {
        "RetainAllVariantProperties": Match.absent(), "ExcludeRetainedVariantProperties": Match.absent()})


# Provisioned concurrency (serverless) -----------------------------------------------------------

def test_provisioned_concurrency_is_off_by_default_and_set_on_the_serverless_variant(default_app, synth):
    [config] = default_app.model.find_resources("AWS::SageMaker::EndpointConfig").values()
    assert "ProvisionedConcurrency" not in config["Properties"]["ProductionVariants"][0]["ServerlessConfig"]

    warm = synth(provisionedConcurrency="2")
    warm.model.has_resource_properties("AWS::SageMaker::EndpointConfig", {"ProductionVariants": [
        Match.object_like({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5,
                                                "ProvisionedConcurrency": 2}})]})


@pytest.mark.parametrize(("context", "message"), [
    ({"provisionedConcurrency": "6"}, "provisionedConcurrency must be <= serverlessMaxConcurrency (5), got 6"),
    ({"provisionedConcurrency": "201", "serverlessMaxConcurrency": "200"},
     "provisionedConcurrency must be an integer from 0 to 200, got '201'"),
    ({"provisionedConcurrency": "1", "endpointMode": "realtime"},
     "provisionedConcurrency applies to serverless endpoints only; endpointMode is realtime (set instanceCount instead)"),
])
def test_bad_provisioned_concurrency_is_a_one_line_error(tmp_path, context, message):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError) as error:
        DeploymentConfig.from_context({"trainingData": str(tmp_path), **context}.get)
    assert str(error.value) == message


# Data capture (real-time) ---------------------------------------------------------------------

def test_data_capture_is_off_by_default(prod_app):
    [config] = prod_app.model.find_resources("AWS::SageMaker::EndpointConfig").values()
    assert "DataCaptureConfig" not in config["Properties"]


def test_data_capture_writes_requests_and_answers_to_an_expiring_encrypted_prefix(synth):
    app = synth(endpointMode="realtime", dataCapture="true", dataCapturePercent="20", dataCaptureRetentionDays="14")
    [config] = app.model.find_resources("AWS::SageMaker::EndpointConfig").values()
    capture = config["Properties"]["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["InitialSamplingPercentage"], capture["CaptureOptions"],
            capture["CaptureContentTypeHeader"]) == (True, 20, [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                                                     {"JsonContentTypes": ["application/json"]})
    assert "/data-capture/" in json.dumps(capture["DestinationS3Uri"])

    [bucket] = app.state.find_resources("AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert properties["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    [rule] = [r for r in properties["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "data-capture/"]
    assert (rule["ExpirationInDays"], rule["NoncurrentVersionExpiration"]["NoncurrentDays"], rule["Status"]) == \
        (14, 1, "Enabled")

    statements = [s for resource in app.model.find_resources("AWS::IAM::Policy").values()
                  for s in resource["Properties"]["PolicyDocument"]["Statement"]]
    assert any("data-capture/*" in json.dumps(s["Resource"]) and "s3:PutObject" in s["Action"] for s in statements)


@pytest.mark.parametrize(("context", "message"), [
    ({"dataCapture": "true"}, "dataCapture needs endpointMode=realtime (SageMaker serverless endpoints do not "
                              "capture data)"),
    ({"dataCapturePercent": "0"}, "dataCapturePercent must be an integer from 1 to 100, got '0'"),
    ({"dataCaptureRetentionDays": "400"}, "dataCaptureRetentionDays must be an integer from 1 to 365, got '400'"),
])
def test_bad_data_capture_settings_are_one_line_errors(tmp_path, context, message):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError) as error:
        DeploymentConfig.from_context({"trainingData": str(tmp_path), **context}.get)
    assert str(error.value) == message
