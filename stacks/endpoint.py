"""The SageMaker model, endpoint configuration and endpoint (serverless or real-time).

Model and endpoint configuration get generated names, so new model data replaces both and
SageMaker moves the endpoint to them without downtime; the endpoint's and the variant's names
stay fixed, which is what the API and the alarms refer to.
"""
from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sentiment.contract import VARIANT_NAME
from stacks.images import DlcImage


class SentimentEndpoint(Construct):
    def __init__(self, scope: Construct, id_: str, *, endpoint_name: str, model_data_url: str,
                 role: iam.IRole, image: DlcImage, serverless: bool, serverless_memory_mb: int,
                 serverless_max_concurrency: int, instance_type: str, instance_count: int,
                 max_instance_count: int, target_invocations_per_instance: int) -> None:
        super().__init__(scope, id_)
        self.endpoint_name = endpoint_name
        self.variant_name = VARIANT_NAME
        environment = {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
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
        )
        # SageMaker checks the role's access when it creates the model: the policy must exist
        # (the role is a dependency already, through its ARN).
        self.sagemaker_model.node.add_dependency(role.node.find_child("DefaultPolicy"))

        variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=self.sagemaker_model.attr_model_name,
            **({"serverless_config": sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    memory_size_in_mb=serverless_memory_mb, max_concurrency=serverless_max_concurrency)}
               if serverless else
               {"instance_type": instance_type, "initial_instance_count": instance_count,
                "initial_variant_weight": 1.0}),
        )
        self.sagemaker_endpoint_config = sagemaker.CfnEndpointConfig(
            self, "Config", production_variants=[variant])
        self.sagemaker_endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_name=endpoint_name,
            endpoint_config_name=self.sagemaker_endpoint_config.attr_endpoint_config_name)

        if not serverless:
            target = autoscaling.ScalableTarget(
                self, "ScalingTarget",
                service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{endpoint_name}/variant/{VARIANT_NAME}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=instance_count,
                max_capacity=max_instance_count,
            )
            target.node.add_dependency(self.sagemaker_endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                target_value=target_invocations_per_instance,
            )

    @property
    def arn(self) -> str:
        return Stack.of(self).format_arn(service="sagemaker", resource="endpoint",
                                         resource_name=self.endpoint_name.lower())
