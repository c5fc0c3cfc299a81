"""The training-job custom resource against botocore's Stubber: every request it sends is checked
against SageMaker's real API model, so a malformed CreateTrainingJob fails here, not in a deploy."""
from __future__ import annotations

import pytest
from botocore.stub import ANY

from stacks.quality_gate import GATE_METRIC, METRIC_DEFINITIONS
from stacks.training_job import handler

JOB = "sentiment-0123456789abcdef"
OLD_JOB = "sentiment-fedcba9876543210"
PROPS = {
    "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:provider",
    "JobName": JOB,
    "CodeHash": "c" * 64,
    "DataHash": "d" * 64,
    "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.9.0-cpu-py312",
    "Hyperparameters": {"epochs": "6", "batch-size": "64", "sagemaker_program": "train.py",
                        "sagemaker_submit_directory": "s3://assets/sourcedir.tar.gz"},
    "RoleArn": "arn:aws:iam::111122223333:role/sagemaker",
    "TrainingDataUri": "s3://artifacts/training-data/abc/",
    "OutputUri": "s3://artifacts/training-output/",
    "InstanceType": "ml.c5.2xlarge",
    "VolumeSizeGb": "10",
    "UseSpot": "false",
    "MaxRuntimeSeconds": "2700",
    "MaxWaitSeconds": "3000",
    "MetricDefinitions": [dict(item) for item in METRIC_DEFINITIONS],
    # CloudFormation hands numbers over as strings.
    "QualityGate": {"MetricName": GATE_METRIC, "MinValue": "0.9"},
}
PASSING = [{"MetricName": GATE_METRIC, "Value": 0.9212, "Timestamp": "2026-11-28T10:20:00Z"},
           {"MetricName": "validation:loss", "Value": 0.2012, "Timestamp": "2026-11-28T10:20:00Z"}]



def event(request_type: str, physical_id: str | None = None, **props) -> dict:
    body = {"RequestType": request_type, "ResourceProperties": {**PROPS, **props}}
    if physical_id:
        body["PhysicalResourceId"] = physical_id
    return body


def description(status: str, name: str = JOB, **extra) -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:111122223333:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": extra.pop("SecondaryStatus", "Training"),
        "AlgorithmSpecification": {"TrainingImage": PROPS["TrainingImage"], "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 2700},
        "CreationTime": "2026-11-28T10:00:00Z",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://artifacts/training-output/{name}/output/model.tar.gz"},
        **extra,
    }


def not_found(stubber, name: str = JOB) -> None:
    stubber.add_client_error("describe_training_job", service_error_code="ValidationException",
                             service_message="Requested resource not found.", http_status_code=400,
                             expected_params={"TrainingJobName": name})


def test_create_starts_the_job_with_the_channel_code_and_limits_from_the_properties(sagemaker):
    """The one request that costs money must carry exactly the configured job."""
    client, stubber = sagemaker
    not_found(stubber)
    stubber.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"}, {
        "TrainingJobName": JOB,
        "RoleArn": PROPS["RoleArn"],
        "AlgorithmSpecification": {"TrainingImage": PROPS["TrainingImage"], "TrainingInputMode": "File",
                                   "MetricDefinitions": PROPS["MetricDefinitions"]},
        "HyperParameters": PROPS["Hyperparameters"],
        "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://artifacts/training-data/abc/",
            "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://artifacts/training-output/"},
        "ResourceConfig": {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 2700},
        "EnableManagedSpotTraining": False,
    })

    assert handler.handle_event(event("Create"), client) == {"PhysicalResourceId": JOB}


def test_the_unlabelled_reviews_arrive_as_a_second_channel(sagemaker):
    """train.py reads them from SM_CHANNEL_UNLABELLED, which SageMaker sets for a channel named
    `unlabelled`; the request is validated against SageMaker's API model by the Stubber."""
    client, stubber = sagemaker
    not_found(stubber)
    channel = {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated"}
    stubber.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"}, {
        "TrainingJobName": JOB, "RoleArn": ANY, "AlgorithmSpecification": ANY, "HyperParameters": ANY,
        "InputDataConfig": [
            {"ChannelName": "training", "DataSource": {"S3DataSource": {
                **channel, "S3Uri": "s3://artifacts/training-data/abc/"}}},
            {"ChannelName": "unlabelled", "DataSource": {"S3DataSource": {
                **channel, "S3Uri": "s3://artifacts/unlabelled-data/def/"}}}],
        "OutputDataConfig": ANY, "ResourceConfig": ANY, "StoppingCondition": ANY,
        "EnableManagedSpotTraining": False,
    })

    handler.handle_event(event("Create", UnlabelledDataUri="s3://artifacts/unlabelled-data/def/"), client)


def test_spot_training_sets_a_maximum_wait(sagemaker):
    """SageMaker rejects managed spot training without MaxWaitTimeInSeconds."""
    client, stubber = sagemaker
    not_found(stubber)
    stubber.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"}, {
        "TrainingJobName": JOB, "RoleArn": ANY, "AlgorithmSpecification": ANY, "HyperParameters": ANY,
        "InputDataConfig": ANY, "OutputDataConfig": ANY, "ResourceConfig": ANY,
        "StoppingCondition": {"MaxRuntimeInSeconds": 2700, "MaxWaitTimeInSeconds": 3000},
        "EnableManagedSpotTraining": True,
    })

    handler.handle_event(event("Create", UseSpot="true"), client)


def test_a_job_still_in_progress_is_not_complete(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("InProgress"), {"TrainingJobName": JOB})

    assert handler.check_complete(event("Create", JOB), client) == {"IsComplete": False}


def test_a_completed_job_hands_its_model_to_the_stack(sagemaker):
    """The endpoint's model data comes from this attribute (the quality gate passes: 0.9212 >= 0.9)."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Completed", FinalMetricDataList=PASSING),
                         {"TrainingJobName": JOB})

    result = handler.check_complete(event("Create", JOB), client)

    assert result == {"IsComplete": True, "Data": {
        "TrainingJobName": JOB,
        "ModelDataUrl": f"s3://artifacts/training-output/{JOB}/output/model.tar.gz"}}


def test_a_failed_job_puts_its_reason_in_the_cloudformation_event(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job",
                         description("Failed", FailureReason="AlgorithmError: loss is NaN"),
                         {"TrainingJobName": JOB})

    with pytest.raises(handler.TrainingJobError, match=f"{JOB} failed: AlgorithmError: loss is NaN"):
        handler.check_complete(event("Create", JOB), client)


def test_a_stopped_job_fails_the_deployment(sagemaker):
    """Someone stopped it (or spot capacity never came): there is no model to serve."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job",
                         description("Stopped", SecondaryStatus="MaxWaitTimeExceeded"),
                         {"TrainingJobName": JOB})

    with pytest.raises(handler.TrainingJobError, match="stopped before it completed.*MaxWaitTimeExceeded"):
        handler.check_complete(event("Create", JOB), client)


def test_deleting_the_stack_stops_a_job_still_running(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("InProgress"), {"TrainingJobName": JOB})
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": JOB})

    assert handler.handle_event(event("Delete", JOB), client) == {"PhysicalResourceId": JOB}


def test_delete_waits_until_the_stopping_job_has_stopped(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Stopping"), {"TrainingJobName": JOB})
    stubber.add_response("describe_training_job", description("Stopped"), {"TrainingJobName": JOB})

    assert handler.check_complete(event("Delete", JOB), client) == {"IsComplete": False}
    assert handler.check_complete(event("Delete", JOB), client) == {"IsComplete": True}


def test_deleting_a_finished_job_sends_no_stop(sagemaker):
    """After a retrain CloudFormation deletes the old resource; its job ended long ago."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Completed", name=OLD_JOB),
                         {"TrainingJobName": OLD_JOB})

    handler.handle_event(event("Delete", OLD_JOB), client)


def test_delete_after_a_failed_create_has_nothing_to_stop(sagemaker):
    """When creation failed before a job existed, the physical id is not a job name at all."""
    client, _ = sagemaker

    handler.handle_event(event("Delete", "2026/11/28/[$LATEST]0123abcd"), client)


def test_an_update_with_the_same_job_name_trains_nothing(sagemaker):
    """Only code, data, hyperparameters or image change the name; anything else is a no-op."""
    client, _ = sagemaker

    assert handler.handle_event(event("Update", JOB), client) == {"PhysicalResourceId": JOB}


def test_an_update_with_a_new_job_name_starts_a_new_job(sagemaker):
    client, stubber = sagemaker
    not_found(stubber)
    stubber.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"},
                         {"TrainingJobName": JOB, "RoleArn": ANY, "AlgorithmSpecification": ANY,
                          "HyperParameters": ANY, "InputDataConfig": ANY, "OutputDataConfig": ANY,
                          "ResourceConfig": ANY, "StoppingCondition": ANY, "EnableManagedSpotTraining": False})

    assert handler.handle_event(event("Update", OLD_JOB), client) == {"PhysicalResourceId": JOB}


def test_a_completed_job_of_the_same_name_is_reused_instead_of_retrained(sagemaker):
    """Redeploying after a rollback: same inputs, same model, no second bill."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Completed"), {"TrainingJobName": JOB})

    assert handler.handle_event(event("Create"), client) == {"PhysicalResourceId": JOB}


def test_a_failed_job_of_the_same_name_explains_how_to_train_again(sagemaker):
    """SageMaker never reuses a job name, so the message must say what to change."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Failed", FailureReason="OOM"),
                         {"TrainingJobName": JOB})

    with pytest.raises(handler.TrainingJobError, match="failed: OOM.*-c seed="):
        handler.handle_event(event("Create"), client)


# Quality gate --------------------------------------------------------------------------------

def test_a_model_below_the_minimum_accuracy_fails_the_deployment_naming_metric_value_and_threshold(sagemaker):
    client, stubber = sagemaker
    low = [{"MetricName": GATE_METRIC, "Value": 0.8731, "Timestamp": "2026-11-28T10:20:00Z"}]
    stubber.add_response("describe_training_job", description("Completed", FinalMetricDataList=low),
                         {"TrainingJobName": JOB})

    with pytest.raises(handler.TrainingJobError) as error:
        handler.check_complete(event("Create", JOB), client)

    assert str(error.value) == (f"Quality gate: validation:accuracy 0.8731 of training job {JOB} is below "
                                "minValidationAccuracy 0.9; the model is not deployed")


def test_a_model_exactly_at_the_minimum_passes(sagemaker):
    client, stubber = sagemaker
    edge = [{"MetricName": GATE_METRIC, "Value": 0.9, "Timestamp": "2026-11-28T10:20:00Z"}]
    stubber.add_response("describe_training_job", description("Completed", FinalMetricDataList=edge),
                         {"TrainingJobName": JOB})

    assert handler.check_complete(event("Create", JOB), client)["IsComplete"] is True


@pytest.mark.parametrize("published", [[], [{"MetricName": "validation:loss", "Value": 0.2,
                                             "Timestamp": "2026-11-28T10:20:00Z"}]])
def test_missing_metrics_fail_the_deployment_instead_of_passing_silently(sagemaker, published):
    """No value (the regex matched nothing, or a job trained before the metrics existed) is a failure."""
    client, stubber = sagemaker
    extra = {"FinalMetricDataList": published} if published else {}
    stubber.add_response("describe_training_job", description("Completed", **extra), {"TrainingJobName": JOB})

    with pytest.raises(handler.TrainingJobError, match=r"published no validation:accuracy \(metrics published: "
                                                       r"(none|validation:loss)\), so it cannot be checked "
                                                       r"against minValidationAccuracy 0.9"):
        handler.check_complete(event("Create", JOB), client)


def test_a_minimum_of_zero_turns_the_gate_off(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", description("Completed"), {"TrainingJobName": JOB})

    result = handler.check_complete(event("Create", JOB, QualityGate={"MetricName": GATE_METRIC, "MinValue": "0.0"}),
                                    client)

    assert result["IsComplete"] is True


def test_a_lower_threshold_on_the_same_job_is_checked_again_on_update(sagemaker):
    """Same inputs, same job name: no new training, but the new threshold is applied."""
    client, stubber = sagemaker
    low = [{"MetricName": GATE_METRIC, "Value": 0.8731, "Timestamp": "2026-11-28T10:20:00Z"}]
    stubber.add_response("describe_training_job", description("Completed", FinalMetricDataList=low),
                         {"TrainingJobName": JOB})
    update = event("Update", JOB, QualityGate={"MetricName": GATE_METRIC, "MinValue": "0.85"})

    assert handler.handle_event(update, client) == {"PhysicalResourceId": JOB}
    assert handler.check_complete(update, client)["IsComplete"] is True
