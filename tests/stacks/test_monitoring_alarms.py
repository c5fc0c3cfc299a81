"""Alarms that tell an operator the endpoint, the proxy or the API is failing, an optional
email topic for them, and a dashboard with the same metrics."""
from __future__ import annotations

import pytest
from aws_cdk.assertions import Match


@pytest.mark.parametrize("namespace, metric, statistic, dimensions", [
    ("AWS/SageMaker", "Invocation5XXErrors", "Sum", ["EndpointName", "VariantName"]),
    ("AWS/Lambda", "Errors", "Sum", ["FunctionName"]),
    ("AWS/Lambda", "Throttles", "Sum", ["FunctionName"]),
    ("AWS/ApiGateway", "5XXError", "Sum", ["ApiName"]),
])
def test_an_alarm_fires_on_the_first_error(default_app, namespace, metric, statistic, dimensions):
    default_app.web.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": namespace, "MetricName": metric, "Statistic": statistic, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "Dimensions": [Match.object_like({"Name": name}) for name in dimensions]})


def test_endpoint_alarms_watch_the_configured_endpoint_and_variant(default_app):
    default_app.web.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "Invocation5XXErrors",
        "Dimensions": Match.array_with([{"Name": "EndpointName", "Value": "sentiment-dev"},
                                        {"Name": "VariantName", "Value": "AllTraffic"}])})


def test_model_latency_alarm_converts_microseconds_to_milliseconds(default_app):
    default_app.web.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Threshold": 2000, "EvaluationPeriods": 3,
        "Metrics": Match.array_with([
            Match.object_like({"Expression": "latency / 1000"}),
            Match.object_like({"Id": "latency", "MetricStat": Match.object_like({
                "Metric": Match.object_like({"MetricName": "ModelLatency", "Namespace": "AWS/SageMaker"}),
                "Stat": "p99"})})])})


def test_api_latency_alarm_watches_the_p99(default_app):
    default_app.web.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "AWS/ApiGateway", "MetricName": "Latency", "ExtendedStatistic": "p99",
        "Threshold": 5000, "EvaluationPeriods": 3})


def test_without_an_email_there_is_no_topic(default_app):
    default_app.web.resource_count_is("AWS::SNS::Topic", 0)
    default_app.web.has_resource_properties("AWS::CloudWatch::Alarm", {"AlarmActions": Match.absent()})


def test_an_email_gets_every_alarm_over_a_tls_only_topic(options_app):
    (topic_id,) = options_app.web.find_resources("AWS::SNS::Topic")
    options_app.web.has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": {"Ref": topic_id}})
    options_app.web.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})

    alarms = options_app.web.find_resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 6
    assert all(alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for alarm in alarms)


def test_dashboard_shows_endpoint_proxy_and_api_metrics(default_app):
    (dashboard,) = default_app.web.find_resources("AWS::CloudWatch::Dashboard").values()
    body = "".join(part for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
                   if isinstance(part, str))

    assert '"type":"alarm"' in body
    for metric in ("Invocations", "Invocation5XXErrors", "ModelLatency", "Errors", "Throttles",
                   "Duration", "5XXError", "Latency"):
        assert f'"{metric}"' in body, metric
