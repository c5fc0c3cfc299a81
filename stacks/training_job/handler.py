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

The two entry points only build the client; everything else takes it as an argument, so tests
drive it through botocore's Stubber.
"""
from __future__ import annotations

import re

import boto3
from botocore.exceptions import ClientError

RUNNING = ("InProgress", "Stopping")
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
        check_quality(job, event["ResourceProperties"].get("QualityGate"))
        return {"IsComplete": True, "Data": {
            "TrainingJobName": job_name,
            "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
        }}
    raise TrainingJobError(ended_message(job))


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
        } for channel, key in (("training", "TrainingDataUri"), ("unlabelled", "UnlabelledDataUri")) if props.get(key)],
        "OutputDataConfig": {"S3OutputPath": props["OutputUri"]},
        "ResourceConfig": {
            "InstanceType": props["InstanceType"],
            "InstanceCount": 1,
            "VolumeSizeInGB": int(props["VolumeSizeGb"]),
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": use_spot,
    }
