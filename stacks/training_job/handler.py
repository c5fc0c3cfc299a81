"""Custom resource that runs one SageMaker training job (CloudFormation has no resource for it).

Driven by the CDK Provider framework: `on_event` starts (or, on delete, stops) the job and
`is_complete` polls it until it ends. The job's name is the resource's physical id and is
computed by the stack from everything that shapes the model, so an update with the same name
changes nothing and an update with a new name trains again; CloudFormation then deletes the old
resource, which is a no-op for a finished job.

When the job has completed, the quality gate runs: the properties name a metric of the job's
MetricDefinitions and its minimum ("QualityGate"), and the metric's final value in
DescribeTrainingJob's FinalMetricDataList must reach it. Below the minimum, or with no value at all
(the log never printed the line the regex reads), the resource fails, so CloudFormation rolls the
deployment back and the endpoint keeps serving the previous model.

With a "Registry" block in the properties, the completed job's model is also registered in a
SageMaker model package group (registry.py beside this file): a model that passed the gate as a new
version, Approved when the block's ApproveOnPass is "true" and PendingManualApproval otherwise, its
ModelPackageArn returned beside ModelDataUrl; a model that failed it as Rejected with the gate's
reason, before the resource fails as above. Without the block nothing is registered.

The two entry points only build the client; everything else takes it as an argument, so tests
drive it through botocore's Stubber.
"""
from __future__ import annotations

import re

import boto3
from botocore.exceptions import ClientError

if __package__:  # imported as stacks.training_job.handler (the tests)
    from . import registry
else:  # the Lambda runtime, where this folder is the root
    import registry

RUNNING = ("InProgress", "Stopping")
# Input channel -> the property holding its S3 prefix; a channel whose property is absent is left out.
CHANNELS = (("training", "TrainingDataUri"), ("unlabelled", "UnlabelledDataUri"), ("pretrained", "PretrainedDataUri"))
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


class TrainingJobError(RuntimeError):
    """The job cannot produce a model; the message ends up in the CloudFormation event."""


def on_event(event, context):
    return handle_event(event, boto3.client("sagemaker"))


def is_complete(event, context):
    return check_complete(event, boto3.client("sagemaker"))


# Lifecycle -------------------------------------------------------------------------------

def handle_event(event: dict, sagemaker) -> dict:
    request_type = event["RequestType"]
    props = event["ResourceProperties"]
    if request_type == "Delete":
        stop_if_running(sagemaker, event["PhysicalResourceId"])
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    # A malformed Registry block fails now, not after the job has trained for most of an hour.
    registry_settings(props)
    if request_type == "Update" and props["JobName"] == event["PhysicalResourceId"]:
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    start_or_adopt(sagemaker, props)
    return {"PhysicalResourceId": props["JobName"]}


def check_complete(event: dict, sagemaker) -> dict:
    job_name = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        job = describe(sagemaker, job_name)
        return {"IsComplete": job is None or job["TrainingJobStatus"] not in RUNNING}
    job = describe(sagemaker, job_name)
    if job is None:
        raise TrainingJobError(f"Training job {job_name} does not exist")
    status = job["TrainingJobStatus"]
    if status == "InProgress":
        return {"IsComplete": False}
    if status == "Completed":
        return completed(sagemaker, job, event["ResourceProperties"])
    raise TrainingJobError(ended_message(job))


def completed(sagemaker, job: dict, props: dict) -> dict:
    """The gate's verdict on a completed job, and with a Registry block its registration either way."""
    gate, settings = props.get("QualityGate"), registry_settings(props)
    try:
        check_quality(job, gate)
    except TrainingJobError as failure:
        if settings:
            register(sagemaker, job, settings, gate_passed=False, reason=str(failure))
        raise
    data = {"TrainingJobName": job["TrainingJobName"], "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]}
    if settings:
        data["ModelPackageArn"] = register(sagemaker, job, settings, gate_passed=True, reason=passed_reason(job, gate))
    return {"IsComplete": True, "Data": data}


def check_quality(job: dict, gate: dict | None) -> None:
    """Raises TrainingJobError when the gate's metric is missing or below its minimum."""
    if not gate:
        return
    metric, minimum = gate["MetricName"], float(gate["MinValue"])
    if minimum <= 0:
        return
    values = {item["MetricName"]: item["Value"] for item in job.get("FinalMetricDataList", [])}
    name = job["TrainingJobName"]
    if metric not in values:
        published = ", ".join(sorted(values)) or "none"
        raise TrainingJobError(
            f"Quality gate: training job {name} published no {metric} (metrics published: {published}), "
            f"so it cannot be checked against minValidationAccuracy {minimum}; the model is not deployed")
    if values[metric] < minimum:
        raise TrainingJobError(
            f"Quality gate: {metric} {values[metric]:.4f} of training job {name} is below "
            f"minValidationAccuracy {minimum}; the model is not deployed")


def passed_reason(job: dict, gate: dict | None) -> str:
    """What a version that passed check_quality records as its reason."""
    if not gate or float(gate["MinValue"]) <= 0:
        return f"No quality gate (minValidationAccuracy 0): training job {job['TrainingJobName']} was not checked"
    metric, minimum = gate["MetricName"], float(gate["MinValue"])
    value = {item["MetricName"]: item["Value"] for item in job.get("FinalMetricDataList", [])}[metric]
    return (f"Quality gate passed: {metric} {value:.4f} of training job {job['TrainingJobName']} reaches "
            f"minValidationAccuracy {minimum}")


def start_or_adopt(sagemaker, props: dict) -> None:
    """Starts the job, or keeps the one of that name a previous deployment already started:
    the name fixes code, data, hyperparameters and image, so it would train the same model."""
    job = describe(sagemaker, props["JobName"])
    if job is None:
        sagemaker.create_training_job(**training_job_request(props))
    elif job["TrainingJobStatus"] not in ("InProgress", "Completed"):
        raise TrainingJobError(
            ended_message(job) + "; SageMaker never reuses a job name, so change a "
            "hyperparameter (for example -c seed=...) to train again")


def stop_if_running(sagemaker, job_name: str) -> None:
    job = describe(sagemaker, job_name)
    if job is not None and job["TrainingJobStatus"] == "InProgress":
        sagemaker.stop_training_job(TrainingJobName=job_name)


def describe(sagemaker, job_name: str) -> dict | None:
    """The job's description, or None when there is no such job (or the name is not one, as
    when CloudFormation deletes a resource whose creation failed before the job started)."""
    if not JOB_NAME.fullmatch(job_name):
        return None
    try:
        return sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":
            return None
        raise


def ended_message(job: dict) -> str:
    name, status = job["TrainingJobName"], job["TrainingJobStatus"]
    if status == "Failed":
        return f"Training job {name} failed: {job.get('FailureReason', 'no reason given')}"
    detail = job.get("SecondaryStatus", status)
    return f"Training job {name} was stopped before it completed ({detail})"


# Registry --------------------------------------------------------------------------------

def registry_settings(props: dict) -> dict | None:
    """The Registry block read and checked: None without one; TrainingJobError naming the first
    missing or malformed key. DataHash and CodeHash default to the resource's own."""
    block = props.get("Registry")
    if not block:
        return None
    missing = [key for key in ("ModelPackageGroupName", "ImageUri") if not block.get(key)]
    if missing:
        raise TrainingJobError(f"Registry properties lack {', '.join(missing)}")
    approve = str(block.get("ApproveOnPass", "false")).lower()
    if approve not in ("true", "false"):
        raise TrainingJobError(f"Registry ApproveOnPass is {block['ApproveOnPass']!r}, not true or false")
    baseline = {}
    for name, key, _ in registry.FIGURES:
        value = (block.get("Baseline") or {}).get(key)
        if value in (None, ""):
            continue
        try:
            baseline[name] = float(value)
        except (TypeError, ValueError):
            raise TrainingJobError(f"Registry Baseline {key} is {value!r}, not a number") from None
    return {"group_name": block["ModelPackageGroupName"], "image_uri": block["ImageUri"],
            "approve_on_pass": approve == "true", "data_hash": block.get("DataHash") or props.get("DataHash", ""),
            "code_hash": block.get("CodeHash") or props.get("CodeHash", ""), "baseline": baseline,
            "environment": block.get("Environment") or None}


def register(sagemaker, job: dict, settings: dict, *, gate_passed: bool, reason: str) -> str:
    """registry.register_model, its failure one line in the CloudFormation event (after the gate's
    reason, when the gate failed: that is still why the deployment stops)."""
    try:
        return registry.register_model(sagemaker, job=job, gate_passed=gate_passed, reason=reason, **settings)
    except ClientError as error:
        detail = f"{error.response['Error'].get('Code', 'Error')}: {error.response['Error'].get('Message', '')}"
        failure = (f"training job {job['TrainingJobName']} could not be registered in model package group "
                   f"{settings['group_name']} ({detail.strip()})")
        raise TrainingJobError(f"{reason}; {failure}" if not gate_passed else
                               f"The model passed the quality gate, but {failure}") from None


# Request ---------------------------------------------------------------------------------

def training_job_request(props: dict) -> dict:
    """CreateTrainingJob's request from the resource's properties (CloudFormation hands every
    scalar over as a string)."""
    use_spot = str(props["UseSpot"]).lower() == "true"
    stopping = {"MaxRuntimeInSeconds": int(props["MaxRuntimeSeconds"])}
    algorithm = {"TrainingImage": props["TrainingImage"], "TrainingInputMode": "File"}
    if props.get("MetricDefinitions"):
        # SageMaker reads these from the job's log and reports them in DescribeTrainingJob.
        algorithm["MetricDefinitions"] = [{"Name": item["Name"], "Regex": item["Regex"]}
                                          for item in props["MetricDefinitions"]]
    if use_spot:
        stopping["MaxWaitTimeInSeconds"] = int(props["MaxWaitSeconds"])
    return {
        "TrainingJobName": props["JobName"],
        "RoleArn": props["RoleArn"],
        "AlgorithmSpecification": algorithm,
        "HyperParameters": {key: str(value) for key, value in props["Hyperparameters"].items()},
        # train.py finds each channel in SM_CHANNEL_<NAME>.
        "InputDataConfig": [{
            "ChannelName": channel,
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": props[key],
                "S3DataDistributionType": "FullyReplicated",
            }},
        } for channel, key in CHANNELS if props.get(key)],
        "OutputDataConfig": {"S3OutputPath": props["OutputUri"],
                             **({"KmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {})},
        "ResourceConfig": {
            "InstanceType": props["InstanceType"],
            "InstanceCount": 1,
            "VolumeSizeInGB": int(props["VolumeSizeGb"]),
            **({"VolumeKmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {}),
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": use_spot,
        # The company's subnets; the job still reaches S3 and its script through them (VPC endpoints).
        **({"VpcConfig": {"Subnets": list(props["VpcConfig"]["Subnets"]),
                          "SecurityGroupIds": list(props["VpcConfig"]["SecurityGroupIds"])}}
           if props.get("VpcConfig") else {}),
    }
