"""The model registry's runtime code against botocore's Stubber and SageMaker's real API model: the
training-job custom resource registering its model (stacks/training_job/registry.py), and the
custom resource that lets a stage deploy only an approved version (stacks/model_version_check/)."""
from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import ANY

from stacks.model_version_check import handler as version_check
from stacks.training_job import handler, registry

JOB = "sentiment-dev-0123456789abcdef"
GROUP = "sentiment-dev"
ARTIFACT = f"s3://artifacts/training-output/{JOB}/output/model.tar.gz"
SERVING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
PACKAGE_ARN = f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{GROUP}/3"
PROPS = {
    "JobName": JOB,
    "CodeHash": "c" * 64,
    "DataHash": "d" * 64,
    "QualityGate": {"MetricName": "validation:accuracy", "MinValue": "0.9"},
    "Registry": {"ModelPackageGroupName": GROUP, "ApproveOnPass": "true", "ImageUri": SERVING_IMAGE},
}
PASSING = [{"MetricName": "validation:accuracy", "Value": 0.9212, "Timestamp": "2026-11-28T10:20:00Z"},
           {"MetricName": "validation:loss", "Value": 0.2012, "Timestamp": "2026-11-28T10:20:00Z"},
           {"MetricName": "train:loss", "Value": 0.31, "Timestamp": "2026-11-28T10:20:00Z"}]
FAILING = [{"MetricName": "validation:accuracy", "Value": 0.8731, "Timestamp": "2026-11-28T10:20:00Z"}]
GATE_FAILURE = (f"Quality gate: validation:accuracy 0.8731 of training job {JOB} is below "
                "minValidationAccuracy 0.9; the model is not deployed")



def completed_job(metrics: list[dict]) -> dict:
    return {
        "TrainingJobName": JOB,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:111122223333:training-job/{JOB}",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingImage": "training-image", "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 2700},
        "CreationTime": "2026-11-28T10:00:00Z",
        "ModelArtifacts": {"S3ModelArtifacts": ARTIFACT},
        "FinalMetricDataList": metrics,
    }


def poll(registry_block: dict | None = None, **props) -> dict:
    properties = {**PROPS, **props}
    if registry_block is not None:
        properties["Registry"] = registry_block
    return {"RequestType": "Create", "PhysicalResourceId": JOB, "ResourceProperties": properties}


def package_request(status: str, reason: str, *, figures: dict[str, str]) -> dict:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageDescription": reason,
        "InferenceSpecification": {
            "Containers": [{"Image": SERVING_IMAGE, "ModelDataUrl": ARTIFACT}],
            "SupportedContentTypes": ["application/json", "text/plain"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ANY,
            "SupportedTransformInstanceTypes": ANY,
        },
        "ModelApprovalStatus": status,
        "CustomerMetadataProperties": {
            **figures,
            "TrainingJobName": JOB, "DataHash": "d" * 64, "CodeHash": "c" * 64, "ImageUri": SERVING_IMAGE,
            "QualityGate": "passed" if status != "Rejected" else "failed",
            "QualityGateReason": registry.metadata_value(reason),
        },
        "ClientToken": ANY,
    }


PASSED_REASON = (f"Quality gate passed: validation:accuracy 0.9212 of training job {JOB} reaches "
                 "minValidationAccuracy 0.9")


# Metadata convention -------------------------------------------------------------------------

def test_metadata_reads_back_what_was_written():
    written = registry.package_metadata(
        training_job_name=JOB, data_hash="d" * 64, code_hash="c" * 64, image_uri=SERVING_IMAGE, gate_passed=True,
        reason=PASSED_REASON, figures={"validation_accuracy": 0.92123, "short_validation_accuracy": 0.7947},
        baseline={"validation_accuracy": 0.9192, "calibration_error": 0.0434, "short_validation_accuracy": None})

    assert written["ValidationAccuracy"] == "0.9212" and written["BaselineCalibrationError"] == "0.0434"
    assert "BaselineShortTextValidationAccuracy" not in written and "CalibrationError" not in written
    assert registry.read_metadata(written) == {
        "figures": {"validation_accuracy": 0.9212, "short_validation_accuracy": 0.7947},
        "baseline": {"validation_accuracy": 0.9192, "calibration_error": 0.0434},
        "training_job_name": JOB, "data_hash": "d" * 64, "code_hash": "c" * 64, "image_uri": SERVING_IMAGE,
        "quality_gate": "passed", "quality_gate_reason": PASSED_REASON, "gate_passed": True}


def test_metadata_from_elsewhere_is_read_without_failing():
    """A key added by hand in the console, or a figure that is not a number, is left out."""
    read = registry.read_metadata({"ValidationAccuracy": "n/a", "Owner": "ml-team", "QualityGate": "failed"})

    assert read["figures"] == {} and read["gate_passed"] is False and read["training_job_name"] is None
    assert registry.read_metadata(None)["gate_passed"] is None


def service_limits() -> tuple[dict, dict, dict]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateModelPackage").input_shape.members["CustomerMetadataProperties"]
    return shape.metadata, shape.key.metadata, shape.value.metadata


def matches_service_pattern(text: str) -> bool:
    """[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@], spelled with unicodedata (Python's re knows no \\p{})."""
    return all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


def test_every_key_and_value_keeps_to_create_model_packages_limits():
    """botocore checks no pattern or maximum before sending; SageMaker refuses the whole request.
    The pattern is read from the service model, so a change to it fails here."""
    map_limits, key_limits, value_limits = service_limits()
    assert key_limits["pattern"].startswith(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)")
    assert value_limits["pattern"].startswith(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)")
    hostile = "Quality gate; (0.87 < 0.9), \"quoted\" & <tagged> #1 — café\n" * 20
    written = registry.package_metadata(
        training_job_name=JOB, data_hash="d" * 64, code_hash="c" * 64,
        image_uri=SERVING_IMAGE + "@sha256:" + "e" * 64, gate_passed=False, reason=hostile,
        figures={name: 0.5 for name, _, _ in registry.FIGURES}, baseline={name: 0.4 for name, _, _ in registry.FIGURES})

    assert map_limits["min"] <= len(written) <= map_limits["max"]
    for key, value in written.items():
        assert key_limits["min"] <= len(key) <= key_limits["max"] and matches_service_pattern(key), key
        assert value_limits["min"] <= len(value) <= value_limits["max"] and matches_service_pattern(value), key
    reason = written["QualityGateReason"]
    assert reason.startswith("Quality gate 0.87 0.9 quoted tagged 1 café Quality gate") and reason.endswith("...")
    assert value_limits["max"] - 4 <= len(reason) <= value_limits["max"]


def test_an_empty_field_is_left_out_because_sagemaker_refuses_empty_values():
    written = registry.package_metadata(training_job_name=JOB, data_hash="", code_hash="c" * 64,
                                        image_uri=SERVING_IMAGE, gate_passed=True, reason="")

    assert "DataHash" not in written and "QualityGateReason" not in written and written["QualityGate"] == "passed"


# Registration from the training-job custom resource ----------------------------------------

def test_a_model_that_passes_in_an_auto_approving_stage_is_registered_approved(sagemaker):
    """dev: the new version is Approved at once and its ARN is handed to the stack."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(PASSING), {"TrainingJobName": JOB})
    stubber.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, package_request(
        "Approved", PASSED_REASON, figures={"ValidationAccuracy": "0.9212", "ValidationLoss": "0.2012"}))

    result = handler.check_complete(poll(), client)

    assert result == {"IsComplete": True, "Data": {"TrainingJobName": JOB, "ModelDataUrl": ARTIFACT,
                                                   "ModelPackageArn": PACKAGE_ARN}}


def test_a_model_that_passes_where_approval_is_manual_waits_for_a_person(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(PASSING), {"TrainingJobName": JOB})
    stubber.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, package_request(
        "PendingManualApproval", PASSED_REASON, figures={"ValidationAccuracy": "0.9212", "ValidationLoss": "0.2012"}))

    result = handler.check_complete(poll({**PROPS["Registry"], "ApproveOnPass": "false"}), client)

    assert result["Data"]["ModelPackageArn"] == PACKAGE_ARN


def test_a_model_below_the_gate_is_registered_rejected_and_the_deployment_still_fails(sagemaker):
    """The registry keeps every model trained and why it was not deployed; the CloudFormation
    event keeps the gate's message unchanged."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(FAILING), {"TrainingJobName": JOB})
    stubber.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN},
                         package_request("Rejected", GATE_FAILURE, figures={"ValidationAccuracy": "0.8731"}))

    with pytest.raises(handler.TrainingJobError) as error:
        handler.check_complete(poll(), client)

    assert str(error.value) == GATE_FAILURE


def test_the_baseline_hashes_and_serving_environment_of_the_block_reach_the_package(sagemaker):
    client, stubber = sagemaker
    block = {**PROPS["Registry"], "DataHash": "1" * 64, "CodeHash": "2" * 64,
             "Baseline": {"ValidationAccuracy": "0.9192", "CalibrationError": "0.0434"},
             "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}
    stubber.add_response("describe_training_job", completed_job(PASSING), {"TrainingJobName": JOB})
    stubber.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, {
        "ModelPackageGroupName": GROUP, "ModelPackageDescription": PASSED_REASON, "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": SERVING_IMAGE, "ModelDataUrl": ARTIFACT,
                            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}],
            "SupportedContentTypes": ANY, "SupportedResponseMIMETypes": ANY,
            "SupportedRealtimeInferenceInstanceTypes": ANY, "SupportedTransformInstanceTypes": ANY},
        "CustomerMetadataProperties": {
            "ValidationAccuracy": "0.9212", "BaselineValidationAccuracy": "0.9192", "BaselineCalibrationError": "0.0434",
            "ValidationLoss": "0.2012", "TrainingJobName": JOB, "DataHash": "1" * 64, "CodeHash": "2" * 64,
            "ImageUri": SERVING_IMAGE, "QualityGate": "passed", "QualityGateReason": ANY},
        "ClientToken": ANY})

    handler.check_complete(poll(block), client)


def test_the_package_is_for_the_cpu_instances_the_endpoint_can_use():
    request = registry.model_package_request(group_name=GROUP, job=completed_job(PASSING), image_uri=SERVING_IMAGE,
                                             gate_passed=True, reason="ok", approve_on_pass=True, data_hash="d",
                                             code_hash="c")
    spec = request["InferenceSpecification"]
    model = botocore.session.get_session().get_service_model("sagemaker")
    members = model.operation_model("CreateModelPackage").input_shape.members["InferenceSpecification"].members

    assert "ml.m5.large" in spec["SupportedRealtimeInferenceInstanceTypes"]  # config instanceType's default
    assert set(spec["SupportedRealtimeInferenceInstanceTypes"]) <= set(members["SupportedRealtimeInferenceInstanceTypes"].member.enum)
    assert set(spec["SupportedTransformInstanceTypes"]) <= set(members["SupportedTransformInstanceTypes"].member.enum)
    assert not any(kind.startswith(("ml.g", "ml.p", "ml.inf", "ml.trn")) for kind in spec["SupportedRealtimeInferenceInstanceTypes"])


def test_a_retried_poll_sends_the_same_client_token_and_a_new_verdict_a_new_one():
    """SageMaker answers a repeated ClientToken with the version it already made, so a poll retried
    after a Lambda timeout registers nothing twice."""
    def token(**changes) -> str:
        arguments = dict(group_name=GROUP, job=completed_job(PASSING), image_uri=SERVING_IMAGE, gate_passed=True,
                         reason=PASSED_REASON, approve_on_pass=True, data_hash="d" * 64, code_hash="c" * 64)
        return registry.model_package_request(**{**arguments, **changes})["ClientToken"]

    assert token() == token()
    assert token() != token(approve_on_pass=False) != token(gate_passed=False, reason=GATE_FAILURE)
    assert len(token()) <= 36


def test_a_registration_refused_after_the_gate_passed_fails_the_deployment_in_one_line(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(PASSING), {"TrainingJobName": JOB})
    stubber.add_client_error("create_model_package", service_error_code="AccessDeniedException",
                             service_message="not authorized to perform: sagemaker:CreateModelPackage",
                             http_status_code=400)

    with pytest.raises(handler.TrainingJobError) as error:
        handler.check_complete(poll(), client)

    assert str(error.value) == (f"The model passed the quality gate, but training job {JOB} could not be registered in "
                                f"model package group {GROUP} (AccessDeniedException: not authorized to perform: "
                                "sagemaker:CreateModelPackage)")


def test_a_refused_rejection_still_names_the_gate_first(sagemaker):
    """The gate is why the deployment stops; the failed registration is the second half of the line."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(FAILING), {"TrainingJobName": JOB})
    stubber.add_client_error("create_model_package", service_error_code="ResourceNotFound",
                             service_message="Model package group sentiment-dev does not exist", http_status_code=400)

    with pytest.raises(handler.TrainingJobError, match=rf"^{GATE_FAILURE}; training job {JOB} could not be registered "
                                                       r"in model package group sentiment-dev \(ResourceNotFound: "):
        handler.check_complete(poll(), client)


def test_without_a_registry_block_nothing_is_registered(sagemaker):
    """The Stubber fails on any call it was not given: only DescribeTrainingJob happens."""
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job(PASSING), {"TrainingJobName": JOB})
    properties = {key: value for key, value in PROPS.items() if key != "Registry"}

    result = handler.check_complete({"RequestType": "Create", "PhysicalResourceId": JOB,
                                     "ResourceProperties": properties}, client)

    assert "ModelPackageArn" not in result["Data"]


def test_without_a_gate_a_registered_model_says_it_was_not_checked(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", completed_job([]), {"TrainingJobName": JOB})
    reason = f"No quality gate (minValidationAccuracy 0): training job {JOB} was not checked"
    stubber.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN},
                         package_request("Approved", reason, figures={}))

    handler.check_complete(poll(QualityGate={"MetricName": "validation:accuracy", "MinValue": "0"}), client)


@pytest.mark.parametrize(("block", "message"), [
    ({"ApproveOnPass": "true", "ImageUri": SERVING_IMAGE}, "Registry properties lack ModelPackageGroupName"),
    ({"ModelPackageGroupName": GROUP, "ApproveOnPass": "yes", "ImageUri": SERVING_IMAGE},
     "Registry ApproveOnPass is 'yes', not true or false"),
    ({**PROPS["Registry"], "Baseline": {"ValidationAccuracy": "high"}},
     "Registry Baseline ValidationAccuracy is 'high', not a number"),
])
def test_a_malformed_registry_block_fails_before_any_job_starts(sagemaker, block, message):
    """Not after most of an hour of training: the Stubber has no CreateTrainingJob to answer."""
    client, _ = sagemaker
    create = {"RequestType": "Create", "ResourceProperties": {**PROPS, "Registry": block}}

    with pytest.raises(handler.TrainingJobError, match=f"^{message}$"):
        handler.handle_event(create, client)


def test_the_lambda_imports_the_registry_from_its_own_folder():
    """In the Lambda the asset folder is the root: `handler` imports `registry` as a top-level module."""
    folder = Path(handler.__file__).parent
    probe = "import handler, registry; assert handler.registry is registry; print(handler.registry.__name__)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "registry"


# The approved-version check -------------------------------------------------------------------

def package_description(status: str, **extra) -> dict:
    return {
        "ModelPackageName": GROUP, "ModelPackageGroupName": GROUP, "ModelPackageVersion": 3,
        "ModelPackageArn": PACKAGE_ARN, "CreationTime": "2026-11-28T10:25:00Z",
        "ModelPackageStatus": "Completed", "ModelApprovalStatus": status,
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "InferenceSpecification": {"Containers": [{"Image": SERVING_IMAGE, "ModelDataUrl": ARTIFACT}],
                                   "SupportedContentTypes": ["application/json", "text/plain"],
                                   "SupportedResponseMIMETypes": ["application/json"]},
        **extra,
    }


def check_event(request_type: str, arn: str = PACKAGE_ARN) -> dict:
    event = {"RequestType": request_type, "ResourceProperties": {"ServiceToken": "arn:token", "ModelPackageArn": arn}}
    if request_type != "Create":
        event["PhysicalResourceId"] = arn
    return event


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_an_approved_version_passes_and_hands_its_model_to_the_stack(sagemaker, request_type):
    client, stubber = sagemaker
    stubber.add_response("describe_model_package", package_description("Approved"), {"ModelPackageName": PACKAGE_ARN})

    assert version_check.handle_event(check_event(request_type), client) == {
        "PhysicalResourceId": PACKAGE_ARN,
        "Data": {"ModelDataUrl": ARTIFACT, "Image": SERVING_IMAGE, "ModelPackageGroupName": GROUP,
                 "ModelPackageVersion": "3", "ModelApprovalStatus": "Approved"}}


def test_a_version_pending_approval_fails_the_deployment_saying_how_to_approve_it(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_model_package", package_description("PendingManualApproval"),
                         {"ModelPackageName": PACKAGE_ARN})

    with pytest.raises(version_check.ModelVersionError) as error:
        version_check.handle_event(check_event("Create"), client)

    assert str(error.value) == (f"model package {PACKAGE_ARN} is PendingManualApproval, not Approved: approve it with "
                                "`sentiment models approve 3 --group sentiment-dev` first")


def test_a_rejected_version_fails_with_the_reason_it_was_rejected(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_model_package",
                         package_description("Rejected", ApprovalDescription="short reviews regressed",
                                             ModelPackageDescription=GATE_FAILURE),
                         {"ModelPackageName": PACKAGE_ARN})

    with pytest.raises(version_check.ModelVersionError) as error:
        version_check.handle_event(check_event("Update"), client)

    assert str(error.value) == (f"model package {PACKAGE_ARN} is Rejected, not Approved (short reviews regressed): "
                                "pin an approved version in modelPackageArn")


def test_a_version_that_does_not_exist_fails_in_one_line(sagemaker):
    client, stubber = sagemaker
    missing = PACKAGE_ARN.replace("/3", "/9")
    stubber.add_client_error("describe_model_package", service_error_code="ValidationException",
                             service_message=f"ModelPackage {missing} does not exist.", http_status_code=400,
                             expected_params={"ModelPackageName": missing})

    with pytest.raises(version_check.ModelVersionError, match=rf"^model package {missing} cannot be read "
                                                              r"\(ValidationException: ModelPackage .* does not exist\.\)$"):
        version_check.handle_event(check_event("Create", missing), client)


def test_deleting_the_check_touches_nothing(sagemaker):
    """The version belongs to the registry, not to the stack: the Stubber has no call to answer."""
    client, _ = sagemaker

    assert version_check.handle_event(check_event("Delete"), client) == {"PhysicalResourceId": PACKAGE_ARN}


def test_the_short_text_accuracy_the_job_prints_is_recorded_with_the_version():
    """train.py prints it, the job's metric definitions read it, the version keeps it."""
    import re

    from stacks.quality_gate import METRIC_DEFINITIONS
    line = "short-text validation accuracy 0.7947"
    [metric] = [item["Name"] for item in METRIC_DEFINITIONS if re.search(item["Regex"], line)]
    job = completed_job([{"MetricName": "validation:accuracy", "Value": 0.93},
                         {"MetricName": metric, "Value": 0.7947}])
    request = registry.model_package_request(group_name="sentiment-dev", job=job, image_uri="image", gate_passed=True,
                                             reason="passed", approve_on_pass=True, data_hash="d", code_hash="c")

    assert registry.read_metadata(request["CustomerMetadataProperties"])["figures"]["short_validation_accuracy"] == \
        pytest.approx(0.7947, abs=1e-4)
