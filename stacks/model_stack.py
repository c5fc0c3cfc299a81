"""Model side: artifacts bucket, training data, training job (or a local model), endpoint."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.artifacts_bucket import ArtifactsBucket
from stacks.config import DeploymentConfig
from stacks.endpoint import DataCapture, SentimentEndpoint
from stacks.images import inference_image, training_image, use_images
from stacks.model_artifact import ModelArtifact
from stacks.sagemaker_role import SageMakerRole
from stacks.training import TrainingJob
from stacks.training_data import TrainingData

MODEL_CODE_DIR = Path(__file__).resolve().parents[1] / "model_code"
BATCH_TRANSFORM_PREFIX = "batch-transform/"
DATA_CAPTURE_PREFIX = "data-capture/"


class SentimentModelStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, config: DeploymentConfig, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        serving_image = inference_image()
        train_image = training_image(config.training_instance_type) if config.training_mode else None
        images = [serving_image, *([train_image] if train_image else [])]
        use_images(self, images)
        role = SageMakerRole(self, "SageMakerRole", images=images)
        artifacts = ArtifactsBucket(self, "Artifacts", destroy_on_delete=config.dev,
                                   log_retention_days=config.log_retention_days)
        # scripts/sentiment/evaluation/batch_transform.py stages each job's input and output under this prefix.
        role.allow_read_prefix(artifacts.s3_bucket, BATCH_TRANSFORM_PREFIX)
        role.allow_write_prefix(artifacts.s3_bucket, BATCH_TRANSFORM_PREFIX)

        if config.training_mode:
            data = TrainingData(self, "TrainingData", bucket=artifacts.s3_bucket,
                                data_dir=config.training_data, retention_days=config.log_retention_days,
                                unlabelled_dir=config.unlabelled_data)
            training = TrainingJob(
                self, "TrainingJob",
                name_prefix=config.name_prefix, code_dir=MODEL_CODE_DIR, bucket=artifacts.s3_bucket,
                data_prefix=data.s3_prefix, data_hash=data.data_hash, unlabelled_prefix=data.unlabelled_prefix,
                role=role, image=train_image,
                instance_type=config.training_instance_type, use_spot=config.training_use_spot,
                max_runtime_minutes=config.training_max_runtime_minutes,
                hyperparameters=config.hyperparameters,
                log_retention_days=config.log_retention_days,
                min_validation_accuracy=config.min_validation_accuracy,
            )
            # The job reads the prefix, so the upload must have finished before it starts.
            training.node.add_dependency(data)
            model_data_url = training.model_data_url
            CfnOutput(self, "TrainingJobName", value=training.job_name,
                      description="SageMaker training job that produced the deployed model")
        else:
            model_data_url = ModelArtifact(self, "ModelArtifact", path=config.model_artifact,
                                           role=role).model_data_url

        data_capture = None
        if config.data_capture:
            # SSE-S3 like the rest of the bucket, private, TLS only; expired after the retention.
            role.allow_write_prefix(artifacts.s3_bucket, DATA_CAPTURE_PREFIX)
            artifacts.expire_prefix(DATA_CAPTURE_PREFIX, days=config.data_capture_retention_days)
            data_capture = DataCapture(destination_s3_uri=artifacts.s3_bucket.s3_url_for_object(DATA_CAPTURE_PREFIX),
                                       sampling_percent=config.data_capture_percent)
        self.endpoint = SentimentEndpoint(
            self, "Endpoint",
            endpoint_name=config.endpoint_name, model_data_url=model_data_url,
            role=role.iam_role, image=serving_image,
            serverless=config.endpoint_mode == "serverless",
            serverless_memory_mb=config.serverless_memory_mb,
            serverless_max_concurrency=config.serverless_max_concurrency,
            instance_type=config.instance_type, instance_count=config.instance_count,
            max_instance_count=config.max_instance_count,
            target_invocations_per_instance=config.target_invocations_per_instance,
            canary=config.canary, canary_percent=config.canary_percent,
            canary_bake_minutes=config.canary_bake_minutes,
            provisioned_concurrency=config.provisioned_concurrency,
            data_capture=data_capture,
        )
        if config.alarm_topic_arn and self.endpoint.rollback_alarms:
            # On-call hears of a rollback as it happens, not from the deploy's failure afterwards.
            topic = sns.Topic.from_topic_arn(self, "AlarmDestination", config.alarm_topic_arn)
            for alarm in self.endpoint.rollback_alarms.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))
                alarm.add_ok_action(actions.SnsAction(topic))
        CfnOutput(self, "EndpointName", value=config.endpoint_name,
                  description="SageMaker endpoint the API invokes")
        CfnOutput(self, "ArtifactsBucketName", value=artifacts.s3_bucket.bucket_name,
                  description="Training data, training output and batch transform files")
