"""A SageMaker training job as a CloudFormation resource (handler in stacks/training_job/)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from sentiment.packaging import tree_hash, write_tarball
from stacks.config import TRAINING_BUDGET_MINUTES
from stacks.images import DlcImage
from stacks.log_groups import log_group as make_log_group
from stacks.nag import acknowledge
from stacks.packaging import packaging_dir
from stacks.quality_gate import GATE_METRIC, METRIC_DEFINITIONS
from stacks.sagemaker_role import SageMakerRole

HANDLER_DIR = Path(__file__).resolve().parent / "training_job"
OUTPUT_PREFIX = "training-output/"
# The provider gives up before CloudFormation's one-hour limit for custom resources, so a
# stuck job surfaces as our error message rather than a bare timeout.
PROVIDER_TIMEOUT = Duration.minutes(TRAINING_BUDGET_MINUTES + 5)


def training_job_name(*, name_prefix: str, code_hash: str, data_hash: str, hyperparameters: dict[str, str],
                      image_name: str, pretrained_hash: str | None = None) -> str:
    """<name_prefix>-<hash>: a name that changes exactly when something that shapes the model
    changes, the checkpoint it fine-tunes included (named only when there is one, so a job
    without keeps its name). The prefix keeps stages apart: a job of the same inputs in another
    stage has another name, so neither adopts the other's job (whose output it could not read)."""
    identity = json.dumps({"code": code_hash, "data": data_hash, "hyperparameters": hyperparameters,
                           "image": image_name, **({"pretrained": pretrained_hash} if pretrained_hash else {})},
                          sort_keys=True)
    return f"{name_prefix}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


class TrainingJob(Construct):
    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, code_dir: Path, bucket: s3.IBucket,
                 data_prefix: str, data_hash: str, role: SageMakerRole, image: DlcImage,
                 unlabelled_prefix: str | None = None,
                 pretrained_prefix: str | None = None, pretrained_hash: str | None = None,
                 instance_type: str, use_spot: bool, max_runtime_minutes: int,
                 hyperparameters: dict[str, str], log_retention_days: int,
                 min_validation_accuracy: float, registry: dict[str, object] | None = None,
                 vpc: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
                 encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        code_hash = tree_hash(code_dir)
        source = s3_assets.Asset(
            self, "SourceCode",
            path=str(write_tarball(code_dir, packaging_dir(self) / "sourcedir.tar.gz")),
        )
        self.job_name = training_job_name(name_prefix=name_prefix, code_hash=code_hash, data_hash=data_hash,
                                          hyperparameters=hyperparameters, image_name=image.name,
                                          pretrained_hash=pretrained_hash)
        role.allow_read_asset(source)
        role.allow_read_prefix(bucket, data_prefix)
        if unlabelled_prefix:
            role.allow_read_prefix(bucket, unlabelled_prefix)
        if pretrained_prefix:
            role.allow_read_prefix(bucket, pretrained_prefix)
        role.allow_write_prefix(bucket, OUTPUT_PREFIX)
        # The endpoint's model is this job's output, and nothing else under the prefix.
        role.allow_read_object(bucket.arn_for_objects(f"{OUTPUT_PREFIX}{self.job_name}/output/model.tar.gz"))
        provider = self._provider(role, name_prefix, log_retention_days,
                                  registry_group=str(registry["ModelPackageGroupName"]) if registry else None)
        self.custom_resource = CustomResource(
            self, "Resource",
            resource_type="Custom::SageMakerTrainingJob",
            service_token=provider.service_token,
            properties={
                "JobName": self.job_name,
                # Shown by `cdk diff` next to the name, so a reviewer sees why it retrains.
                "CodeHash": code_hash,
                "DataHash": data_hash,
                **({"PretrainedHash": pretrained_hash} if pretrained_hash else {}),
                "TrainingImage": image.uri(stack),
                "Hyperparameters": {
                    **hyperparameters,
                    # The training toolkit fetches and runs our script from these.
                    "sagemaker_program": "train.py",
                    "sagemaker_submit_directory": source.s3_object_url,
                    "sagemaker_region": Aws.REGION,
                    "sagemaker_container_log_level": "20",
                },
                "RoleArn": role.iam_role.role_arn,
                "TrainingDataUri": bucket.s3_url_for_object(data_prefix),
                # The `unlabelled` channel: word vectors are also learned on these reviews.
                **({"UnlabelledDataUri": bucket.s3_url_for_object(unlabelled_prefix)} if unlabelled_prefix else {}),
                # The `pretrained` channel: the checkpoint train.py fine-tunes ($SM_CHANNEL_PRETRAINED).
                **({"PretrainedDataUri": bucket.s3_url_for_object(pretrained_prefix)} if pretrained_prefix else {}),
                "OutputUri": bucket.s3_url_for_object(OUTPUT_PREFIX),
                "InstanceType": instance_type,
                "VolumeSizeGb": 10,
                "UseSpot": use_spot,
                "MaxRuntimeSeconds": max_runtime_minutes * 60,
                "MaxWaitSeconds": TRAINING_BUDGET_MINUTES * 60,
                # Parsed from the job's log; the gate's metric must reach MinValue (0: no gate).
                "MetricDefinitions": [dict(item) for item in METRIC_DEFINITIONS],
                "QualityGate": {"MetricName": GATE_METRIC, "MinValue": str(min_validation_accuracy)},
                # Registers the model as a version of the stage's registry (stacks/training_job/registry.py).
                **({"Registry": registry} if registry else {}),
                # The training volume and the output under the company's key.
                **({"KmsKeyId": encryption_key.key_arn} if encryption_key else {}),
                **({"VpcConfig": {"Subnets": list(vpc[0]), "SecurityGroupIds": list(vpc[1])}} if vpc else {}),
            },
            service_timeout=Duration.minutes(60),
        )
        # The job reads and writes S3 as soon as it starts: the role's policy must exist by then.
        self.custom_resource.node.add_dependency(role.policy)
        self.model_data_url = self.custom_resource.get_att_string("ModelDataUrl")

    def _provider(self, role: SageMakerRole, name_prefix: str, log_retention_days: int,
                  registry_group: str | None) -> cr.Provider:
        job_arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:training-job/{name_prefix}-*"
        handler_role = iam.Role(self, "HandlerRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        handler_role.add_to_policy(iam.PolicyStatement(
            actions=["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            resources=[job_arn]))
        handler_role.add_to_policy(iam.PolicyStatement(
            actions=["iam:PassRole"], resources=[role.iam_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}))
        if registry_group:
            # Model package ARNs are lower case; a version's ARN ends in its number.
            versions = (f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
                        f"model-package/{registry_group.lower()}/*")
            handler_role.add_to_policy(iam.PolicyStatement(
                actions=["sagemaker:CreateModelPackage"],
                resources=[versions, f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
                                     f"model-package-group/{registry_group.lower()}"]))
            acknowledge(handler_role, id=f"AwsSolutions-IAM5[Resource::{_nag_arn(versions)}]",
                        reason="A new version's number is given by SageMaker; only this stage's group.")
        acknowledge(handler_role, id=f"AwsSolutions-IAM5[Resource::{_nag_arn(job_arn)}]",
                    reason="Job names are hashes of their inputs; the handler may touch only jobs "
                           "with this stage's name prefix.")
        handlers = {}
        for name in ("on_event", "is_complete"):
            construct_id = name.title().replace("_", "")
            logs = make_log_group(self, f"{construct_id}Logs", retention_days=log_retention_days)
            logs.grant_write(handler_role)
            handlers[name] = lambda_.Function(
                self, construct_id,
                runtime=lambda_.Runtime.PYTHON_3_14,
                architecture=lambda_.Architecture.ARM_64,
                code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
                handler=f"handler.{name}",
                timeout=Duration.seconds(60),
                role=handler_role,
                log_group=logs,
            )

        # The provider framework's own functions and waiter, also without managed policies.
        framework_roles = [iam.Role(self, role_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
                           for role_id in ("FrameworkOnEventRole", "FrameworkPollRole")]
        framework_logs = make_log_group(self, "FrameworkLogs", retention_days=log_retention_days)
        for framework_role in framework_roles:
            framework_logs.grant_write(framework_role)
        provider = cr.Provider(
            self, "Provider",
            on_event_handler=handlers["on_event"],
            is_complete_handler=handlers["is_complete"],
            query_interval=Duration.minutes(1),
            total_timeout=PROVIDER_TIMEOUT,
            framework_on_event_role=framework_roles[0],
            framework_complete_and_timeout_role=framework_roles[1],
            log_group=framework_logs,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=make_log_group(self, "WaiterLogs", retention_days=log_retention_days),
                level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        stack = Stack.of(self)
        for handler in handlers.values():
            function_id = stack.get_logical_id(handler.node.default_child)
            for framework_role in framework_roles:
                acknowledge(framework_role, id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                            reason="The framework may invoke any version of our two handlers.")
        waiter = provider.node.find_child("waiter-state-machine")
        for function_path in ("framework-isComplete", "framework-onTimeout"):
            function = provider.node.find_child(function_path)
            function_id = stack.get_logical_id(function.node.default_child)
            acknowledge(waiter, id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                        reason="The waiter may invoke any version of the framework's functions.")
        acknowledge(waiter, id="AwsSolutions-IAM5[Resource::*]",
                    reason="CloudWatch Logs delivery actions for Step Functions logging accept no "
                           "resource scoping.")
        acknowledge(waiter, id="AwsSolutions-SF2",
                    reason="A two-step poll loop; its executions are logged in full, tracing adds nothing.")
        return provider


def _nag_arn(arn: str) -> str:
    return (arn.replace(Aws.PARTITION, "<AWS::Partition>")
            .replace(Aws.REGION, "<AWS::Region>").replace(Aws.ACCOUNT_ID, "<AWS::AccountId>"))
