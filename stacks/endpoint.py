"""The SageMaker model, endpoint configuration and endpoint (serverless or real-time).

Model and endpoint configuration get generated names, so new model data replaces both and
SageMaker moves the endpoint to them without downtime; the endpoint's and the variant's names
stay fixed, which is what the API and the alarms refer to.

Real-time endpoints (with `canary`, the default) update blue/green through a canary: SageMaker
starts the new fleet, sends `canaryPercent` of the capacity's traffic to it for
`canaryBakeMinutes`, then shifts the rest at once and bakes again before it removes the old
fleet. If either rollback alarm (RollbackAlarms below) goes off meanwhile, SageMaker moves all
traffic back to the old fleet and the CloudFormation update fails, so the stack rolls back too.
The alarms have fixed names derived from the endpoint's name, so the endpoint refers to them by
name and they refer to it by name: neither needs the other's attributes, and there is no cycle.

Real-time updates keep the variant's current instance count (RETAINED_VARIANT_PROPERTIES_EXCLUDED below),
and autoscaling is a pair of custom resources around the endpoint (stacks/endpoint_autoscaling.py)
rather than CloudFormation's ScalableTarget, because SageMaker refuses to change a registered
variant's instance type: scaling is paused before such an update and registered again after it.
What a visitor sees meanwhile: docs/deployment.md, "What happens during an endpoint update".
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sentiment.contract import VARIANT_NAME
from stacks.endpoint_autoscaling import EndpointAutoscaling
from stacks.images import DlcImage

# Rollback alarms: one-minute periods (SageMaker's endpoint metrics are per minute), so they can
# go off well inside the shortest bake time the configuration allows (stacks/config.py).
ROLLBACK_PERIOD = Duration.minutes(1)
# Any 5xx from the model container: a healthy model answers none (the service's EndpointErrors
# alarm in stacks/monitoring.py uses the same threshold); a false rollback costs one redeploy,
# a bad model on every instance costs every user.
ROLLBACK_5XX_THRESHOLD = 1
# Model latency p99 at or above 2 s for 3 minutes in a row: the service alarm's limit
# (MODEL_LATENCY_P99_LIMIT_MS), reached when the model is far slower than the current one (a few
# tens of ms per review on ml.m5.large); three datapoints, because a p99 over one minute of
# canary traffic is a handful of requests and a single cold one must not roll back.
ROLLBACK_LATENCY_P99_MS = 2000
ROLLBACK_LATENCY_MINUTES = 3

# A real-time update (RetainAllVariantProperties) starts the new fleet at the variant's current
# DesiredInstanceCount, not at the configuration's InitialInstanceCount (instanceCount): without it,
# an update during a scale-out would put the whole load on instanceCount instances again (SageMaker,
# "Update endpoints that use automatic scaling", step 6). Every variant property is retained except
# those excluded here:
# - DesiredInstanceCount is retained: autoscaling owns it between deploys; a new instanceCount takes
#   effect as the scalable target's new minimum once the update is done (stacks/endpoint_autoscaling.py).
# - DesiredWeight is excluded: nothing here changes the weight at runtime, so the template's 1.0 is
#   the truth, and a weight someone set by hand does not outlive the next deploy.
# - DataCaptureConfig is not listed: SageMaker's VariantProperty reference marks that value "(Not
#   currently supported.)", and what AWS documents the flag to retain is instance count and weight,
#   so capture settings are taken to follow the new configuration; naming an unsupported value
#   risks failing every update's validation. docs/deployment.md says how to check a capture change.
RETAINED_VARIANT_PROPERTIES_EXCLUDED = ("DesiredWeight",)


def rollback_alarm_names(endpoint_name: str) -> tuple[str, str]:
    """The rollback alarms' fixed names (5xx, latency), which the endpoint's DeploymentConfig lists."""
    return f"{endpoint_name}-rollback-5xx", f"{endpoint_name}-rollback-latency"


class RollbackAlarms(Construct):
    """The alarms SageMaker watches while it shifts traffic to a new fleet."""

    def __init__(self, scope: Construct, id_: str, *, endpoint_name: str, variant_name: str) -> None:
        super().__init__(scope, id_)
        errors_name, latency_name = rollback_alarm_names(endpoint_name)

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace="AWS/SageMaker", metric_name=name, statistic=statistic,
                                     period=ROLLBACK_PERIOD,
                                     dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name})

        self.errors = cloudwatch.Alarm(
            self, "Errors", alarm_name=errors_name, metric=metric("Invocation5XXErrors", "Sum"),
            threshold=ROLLBACK_5XX_THRESHOLD, evaluation_periods=1, datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Deployment guardrail: the model container answered 5xx; SageMaker rolls an "
                              "endpoint update back while this is in alarm")
        # ModelLatency is in microseconds.
        self.latency = cloudwatch.Alarm(
            self, "Latency", alarm_name=latency_name, metric=metric("ModelLatency", "p99"),
            threshold=ROLLBACK_LATENCY_P99_MS * 1000, evaluation_periods=ROLLBACK_LATENCY_MINUTES,
            datapoints_to_alarm=ROLLBACK_LATENCY_MINUTES,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Deployment guardrail: model latency p99 at or above {ROLLBACK_LATENCY_P99_MS} ms "
                              f"for {ROLLBACK_LATENCY_MINUTES} minutes; SageMaker rolls an endpoint update back "
                              f"while this is in alarm")
        self.alarms = (self.errors, self.latency)
        self.alarm_names = (errors_name, latency_name)


def deployment_config(*, alarm_names: tuple[str, ...], instance_count: int, canary_percent: int,
                      bake_minutes: int) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """Blue/green: a canary of canary_percent of the new fleet, bake, the rest all at once, bake
    again; rolled back on any of the alarms. A fleet of one instance has no part to be a canary
    (SageMaker wants the canary at most half the new fleet), so it shifts all at once and bakes."""
    wait = bake_minutes * 60
    routing = (sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                   type="CANARY", wait_interval_in_seconds=wait,
                   canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT",
                                                                          value=canary_percent))
               if instance_count >= 2 else
               sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(type="ALL_AT_ONCE", wait_interval_in_seconds=wait))
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            # The final bake: the old fleet stays, and the alarms still roll back, this long
            # after all traffic has moved.
            termination_wait_in_seconds=wait),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in alarm_names]),
    )


# Where the serving toolkit finds the handlers inside model.tar.gz: the endpoint's model and every
# version registered in the model registry name the same.
SERVING_CODE = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


@dataclass(frozen=True)
class NetworkPlacement:
    """The VPC subnets and security groups a model or training job runs in (vpcSubnetIds, ...)."""
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class DataCapture:
    """Where and how much a real-time endpoint captures (requests and answers, JSON lines)."""
    destination_s3_uri: str
    sampling_percent: int
    kms_key_id: str | None = None


def data_capture_config(capture: DataCapture) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        enable_capture=True,
        initial_sampling_percentage=capture.sampling_percent,
        destination_s3_uri=capture.destination_s3_uri,
        capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                         sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output")],
        # The proxy sends and the model answers JSON: captured as text, readable without decoding.
        kms_key_id=capture.kms_key_id,
        capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            json_content_types=["application/json"]),
    )

class SentimentEndpoint(Construct):
    def __init__(self, scope: Construct, id_: str, *, endpoint_name: str, model_data_url: str,
                 role: iam.IRole, image: DlcImage, serverless: bool, serverless_memory_mb: int,
                 serverless_max_concurrency: int, instance_type: str, instance_count: int,
                 max_instance_count: int, target_invocations_per_instance: int,
                 canary: bool = False, canary_percent: int = 50, canary_bake_minutes: int = 10,
                 provisioned_concurrency: int = 0,
                 data_capture: DataCapture | None = None, log_retention_days: int,
                 vpc: NetworkPlacement | None = None, kms_key_id: str | None = None) -> None:
        super().__init__(scope, id_)
        self.endpoint_name = endpoint_name
        self.variant_name = VARIANT_NAME
        environment = {
            **SERVING_CODE,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": Aws.REGION,
        }
        if serverless:
            # One model-server worker: a serverless container's memory is its whole budget.
            environment["SAGEMAKER_MODEL_SERVER_WORKERS"] = "1"
        self.sagemaker_model = sagemaker.CfnModel(
            self, "Model",
            execution_role_arn=role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.uri(Stack.of(self)), model_data_url=model_data_url, environment=environment),
            # In the company's subnets, and with no network at all from the container: the serving
            # code is in the archive and downloads nothing (SageMaker itself fetches the model).
            **({"vpc_config": sagemaker.CfnModel.VpcConfigProperty(
                    subnets=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)),
                "enable_network_isolation": True} if vpc else {}),
        )
        # SageMaker checks the role's access when it creates the model: the policy must exist
        # (the role is a dependency already, through its ARN).
        self.sagemaker_model.node.add_dependency(role.node.find_child("DefaultPolicy"))

        variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=self.sagemaker_model.attr_model_name,
            **({"serverless_config": sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    memory_size_in_mb=serverless_memory_mb, max_concurrency=serverless_max_concurrency,
                    # The API's minimum is 1: none is "absent", not 0.
                    provisioned_concurrency=provisioned_concurrency or None)}
               if serverless else
               {"instance_type": instance_type, "initial_instance_count": instance_count,
                "initial_variant_weight": 1.0}),
        )
        self.sagemaker_endpoint_config = sagemaker.CfnEndpointConfig(
            self, "Config", production_variants=[variant], kms_key_id=kms_key_id,
            data_capture_config=data_capture_config(data_capture) if data_capture else None)
        # Serverless endpoints keep SageMaker's default update (blue/green, all at once, no bake,
        # no alarms): see docs/safe-rollouts.md.
        self.rollback_alarms = None
        if canary and not serverless:
            self.rollback_alarms = RollbackAlarms(self, "RollbackAlarms", endpoint_name=endpoint_name,
                                                  variant_name=VARIANT_NAME)
        self.sagemaker_endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_name=endpoint_name,
            endpoint_config_name=self.sagemaker_endpoint_config.attr_endpoint_config_name,
            deployment_config=deployment_config(
                alarm_names=self.rollback_alarms.alarm_names, instance_count=instance_count,
                canary_percent=canary_percent, bake_minutes=canary_bake_minutes)
            if self.rollback_alarms else None,
            # Serverless endpoints retain nothing: they have no instance count, nothing changes
            # their variant at runtime, and their memory and concurrency must come from the template.
            **({} if serverless else {
                "retain_all_variant_properties": True,
                "exclude_retained_variant_properties": [
                    sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=name)
                    for name in RETAINED_VARIANT_PROPERTIES_EXCLUDED]}))
        if self.rollback_alarms:
            # SageMaker looks the alarms up by name when an update starts: they must exist first.
            self.sagemaker_endpoint.node.add_dependency(self.rollback_alarms)

        self.autoscaling = None
        if not serverless:
            self.autoscaling = EndpointAutoscaling(
                self, "Autoscaling", endpoint=self.sagemaker_endpoint, endpoint_name=endpoint_name,
                variant_name=VARIANT_NAME, instance_type=instance_type, min_capacity=instance_count,
                max_capacity=max_instance_count, target_invocations_per_instance=target_invocations_per_instance,
                log_retention_days=log_retention_days)

    @property
    def arn(self) -> str:
        return Stack.of(self).format_arn(service="sagemaker", resource="endpoint",
                                         resource_name=self.endpoint_name.lower())
