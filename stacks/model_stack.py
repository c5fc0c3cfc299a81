"""Model side: training data, training job (or a local model), endpoint. The artifacts bucket they
use lives in the stateful stack (stacks/state_stack.py)."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import DeploymentConfig
from stacks.encryption import ENCRYPT_VOLUMES, WRITE_OBJECTS, allow_key
from stacks.endpoint import SERVING_CODE, DataCapture, NetworkPlacement, SentimentEndpoint
from stacks.images import inference_image, training_image, use_images
from stacks.model_artifact import ModelArtifact
from stacks.model_version import ApprovedModelVersion
from stacks.nag import acknowledge, nag_spelling
from stacks.sagemaker_role import SageMakerRole
from stacks.state_stack import DATA_CAPTURE_PREFIX, artifacts_bucket_name
from stacks.training import OUTPUT_PREFIX, TrainingJob
from stacks.training_data import TrainingData

MODEL_CODE_DIR = Path(__file__).resolve().parents[1] / "model_code"
BATCH_TRANSFORM_PREFIX = "batch-transform/"


class SentimentModelStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, config: DeploymentConfig,
                 encryption_key: kms.IKey | None = None, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        serving_image = inference_image()
        train_image = training_image(config.training_instance_type) if config.training_mode else None
        images = [serving_image, *([train_image] if train_image else [])]
        use_images(self, images)
        role = SageMakerRole(self, "SageMakerRole", images=images)
        if config.network:
            role.allow_vpc()
        if encryption_key:
            # Read and write the bucket's objects, and let SageMaker encrypt the training and
            # endpoint volumes (it creates a grant for the instance).
            allow_key(encryption_key, role.iam_role, (*WRITE_OBJECTS, *ENCRYPT_VOLUMES))
        # The state stack's bucket, by its fixed name (no export ties the stacks).
        artifacts_bucket = s3.Bucket.from_bucket_name(self, "ArtifactsBucket",
                                                      artifacts_bucket_name(self, config.name_prefix))
        # scripts/sentiment/evaluation/batch_transform.py stages each job's input and output under this prefix.
        role.allow_read_prefix(artifacts_bucket, BATCH_TRANSFORM_PREFIX)
        role.allow_write_prefix(artifacts_bucket, BATCH_TRANSFORM_PREFIX)

        if config.training_mode:
            data = TrainingData(self, "TrainingData", bucket=artifacts_bucket, encryption_key=encryption_key,
                                data_dir=config.training_data, retention_days=config.log_retention_days,
                                unlabelled_dir=config.unlabelled_data, pretrained_dir=config.pretrained_channel)
            training = TrainingJob(
                self, "TrainingJob",
                name_prefix=config.name_prefix, code_dir=MODEL_CODE_DIR, bucket=artifacts_bucket,
                data_prefix=data.s3_prefix, data_hash=data.data_hash, unlabelled_prefix=data.unlabelled_prefix,
                pretrained_prefix=data.pretrained_prefix, pretrained_hash=data.pretrained_hash,
                role=role, image=train_image,
                instance_type=config.training_instance_type, use_spot=config.training_use_spot,
                max_runtime_minutes=config.max_runtime_minutes,
                hyperparameters=config.hyperparameters,
                log_retention_days=config.log_retention_days,
                min_validation_accuracy=config.min_validation_accuracy,
                # Dev approves what passes the gate; a prod version waits for a person.
                # The baseline's figures only when they were computed for this very dataset.
                registry={"ModelPackageGroupName": config.model_package_group,
                          "ImageUri": serving_image.uri(self), "ApproveOnPass": str(config.dev).lower(),
                          "Environment": SERVING_CODE,
                          **({"Baseline": data.registry_baseline} if data.registry_baseline else {})},
                vpc=config.network, encryption_key=encryption_key,
            )
            # The job reads the prefix, so the upload must have finished before it starts.
            training.node.add_dependency(data)
            model_data_url = training.model_data_url
            CfnOutput(self, "TrainingJobName", value=training.job_name,
                      description="SageMaker training job that produced the deployed model")
        elif config.model_package_arn:
            version = ApprovedModelVersion(self, "ApprovedModelVersion", model_package_arn=config.model_package_arn,
                                           log_retention_days=config.log_retention_days)
            # A version of this stage's registry: its model is a training job's output in this bucket,
            # under a job name known only once the version is read at deploy time.
            trained_models = artifacts_bucket.arn_for_objects(f"{OUTPUT_PREFIX}*/output/model.tar.gz")
            role.allow_read_object(trained_models)
            acknowledge(role.iam_role, id=f"AwsSolutions-IAM5[Resource::{nag_spelling(role, trained_models)}]",
                        reason="The pinned version's model is one training job's model.tar.gz; the job's name "
                               "comes from the registry at deploy time.")
            model_data_url = version.model_data_url
            CfnOutput(self, "ModelPackageArn", value=config.model_package_arn,
                      description="The approved registry version the endpoint serves")
        else:
            artifact = ModelArtifact(self, "ModelArtifact", path=config.model_artifact, bucket=artifacts_bucket,
                                     role=role, log_retention_days=config.log_retention_days,
                                     encryption_key=encryption_key)
            model_data_url = artifact.model_data_url

        data_capture = None
        if config.data_capture:
            # Private, TLS only, expired after the retention (the state stack's lifecycle rule).
            role.allow_write_prefix(artifacts_bucket, DATA_CAPTURE_PREFIX)
            data_capture = DataCapture(destination_s3_uri=artifacts_bucket.s3_url_for_object(DATA_CAPTURE_PREFIX),
                                       sampling_percent=config.data_capture_percent,
                                       kms_key_id=encryption_key.key_arn if encryption_key else None)
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
            vpc=NetworkPlacement(*config.network) if config.network else None,
            # Serverless endpoints take no storage key (SageMaker manages their storage).
            kms_key_id=encryption_key.key_arn if encryption_key and config.endpoint_mode == "realtime" else None,
            log_retention_days=config.log_retention_days,
        )
        if config.model_artifact is not None:
            # SageMaker reads the model when it creates the model: the copy must be there first.
            self.endpoint.sagemaker_model.node.add_dependency(artifact.copy)
        if config.alarm_topic_arn and self.endpoint.rollback_alarms:
            # On-call hears of a rollback as it happens, not from the deploy's failure afterwards.
            topic = sns.Topic.from_topic_arn(self, "AlarmDestination", config.alarm_topic_arn)
            for alarm in self.endpoint.rollback_alarms.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))
                alarm.add_ok_action(actions.SnsAction(topic))
        CfnOutput(self, "EndpointName", value=config.endpoint_name,
                  description="SageMaker endpoint the API invokes")
