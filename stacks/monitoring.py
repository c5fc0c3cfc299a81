"""Alarms on the endpoint, the proxy and the API, their destinations (an email topic of ours,
an existing topic, or both), and one dashboard."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.drift_check import DriftCheck
from stacks.nag import acknowledge

PERIOD = Duration.minutes(5)
MODEL_LATENCY_P99_LIMIT_MS = 2000
API_LATENCY_P99_LIMIT_MS = 5000


class Monitoring(Construct):
    def __init__(self, scope: Construct, id_: str, *, endpoint_name: str, variant_name: str,
                 function: lambda_.IFunction, rest_api: apigw.RestApi, alarm_email: str,
                 alarm_topic_arn: str = "", drift: DriftCheck | None = None,
                 topic_key: kms.IKey | None = None) -> None:
        super().__init__(scope, id_)

        def endpoint_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace="AWS/SageMaker", metric_name=name, statistic=statistic,
                                     period=PERIOD, dimensions_map={"EndpointName": endpoint_name,
                                                                    "VariantName": variant_name})

        endpoint_errors = endpoint_metric("Invocation5XXErrors", "Sum")
        # SageMaker reports ModelLatency in microseconds.
        model_latency_ms = cloudwatch.MathExpression(
            expression="latency / 1000", label="ModelLatency p99 (ms)", period=PERIOD,
            using_metrics={"latency": endpoint_metric("ModelLatency", "p99")})
        lambda_errors = function.metric_errors(period=PERIOD)
        lambda_throttles = function.metric_throttles(period=PERIOD)
        api_5xx = rest_api.metric_server_error(period=PERIOD, statistic="Sum")
        api_latency = rest_api.metric_latency(period=PERIOD, statistic="p99")

        def alarm(id_: str, metric: cloudwatch.IMetric, threshold: float, periods: int, what: str):
            return cloudwatch.Alarm(
                self, id_, metric=metric, threshold=threshold, evaluation_periods=periods,
                datapoints_to_alarm=periods, alarm_description=what,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)

        self.cloudwatch_alarms = [
            alarm("EndpointErrors", endpoint_errors, 1, 1,
                  "The model container answered 5xx (see /aws/sagemaker/Endpoints logs)"),
            alarm("ModelLatency", model_latency_ms, MODEL_LATENCY_P99_LIMIT_MS, 3,
                  f"Model latency p99 at or above {MODEL_LATENCY_P99_LIMIT_MS} ms for 15 minutes"),
            alarm("ProxyErrors", lambda_errors, 1, 1, "The Lambda proxy raised (a bug: it should "
                                                      "answer every failure itself)"),
            alarm("ProxyThrottles", lambda_throttles, 1, 1, "Lambda throttled the proxy (account "
                                                            "concurrency exhausted)"),
            alarm("Api5xx", api_5xx, 1, 1, "The API answered 5xx (endpoint failing, cold or "
                                           "overloaded)"),
            alarm("ApiLatency", api_latency, API_LATENCY_P99_LIMIT_MS, 3,
                  f"API latency p99 at or above {API_LATENCY_P99_LIMIT_MS} ms for 15 minutes"),
        ]

        if drift is not None:
            self.cloudwatch_alarms += list(drift.cloudwatch_alarms)

        self.sns_topic = None
        if alarm_email:
            self.sns_topic = sns.Topic(self, "AlarmTopic", display_name=f"Sentiment service alarms: {endpoint_name}",
                                       enforce_ssl=True, master_key=topic_key)
            self.sns_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            if topic_key is None:
                acknowledge(self.sns_topic, id="AwsSolutions-SNS2",
                            reason="Alarm notifications carry metric names only; CloudWatch cannot publish to "
                                   "a topic encrypted with the AWS-managed key (encryptionKey=true encrypts it "
                                   "with the stage's own key).")
        destinations = [self.sns_topic] if self.sns_topic else []
        if alarm_topic_arn:
            destinations.append(sns.Topic.from_topic_arn(self, "AlarmDestination", alarm_topic_arn))
        for topic in destinations:
            for each in self.cloudwatch_alarms:
                each.add_alarm_action(actions.SnsAction(topic))
                each.add_ok_action(actions.SnsAction(topic))

        self.cloudwatch_dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{endpoint_name}-service",
                                              default_interval=Duration.hours(3))
        self.cloudwatch_dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.cloudwatch_alarms, width=24, height=3))
        self.cloudwatch_dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Endpoint invocations and errors", width=12, left=[
                endpoint_metric("Invocations", "Sum"), endpoint_metric("Invocation4XXErrors", "Sum"),
                endpoint_errors]),
            cloudwatch.GraphWidget(title="Model latency (ms)", width=12, left=[model_latency_ms]),
        )
        self.cloudwatch_dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Proxy invocations, errors, throttles", width=12, left=[
                function.metric_invocations(period=PERIOD), lambda_errors, lambda_throttles]),
            cloudwatch.GraphWidget(title="Proxy duration p99 (ms)", width=12, left=[
                function.metric_duration(period=PERIOD, statistic="p99")]),
        )
        self.cloudwatch_dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests and errors", width=12, left=[
                rest_api.metric_count(period=PERIOD, statistic="Sum"),
                rest_api.metric_client_error(period=PERIOD, statistic="Sum"), api_5xx]),
            cloudwatch.GraphWidget(title="API latency p99 (ms)", width=12, left=[api_latency]),
        )
        if drift is not None:
            self.cloudwatch_dashboard.add_widgets(*drift.widgets())
