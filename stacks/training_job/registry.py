"""Registers a trained model as a version of a SageMaker model package group.

The training-job custom resource (handler.py beside this file) calls `register_model` once the
job has completed: a model that passed the quality gate becomes a new version, approved at once
where the stage auto-approves (dev) and pending a person's approval elsewhere (prod); a model that
failed the gate is registered too, as Rejected, so the registry holds every model the pipeline
trained and why each was or was not deployed.

What a reviewer needs beside the model travels in the version's CustomerMetadataProperties
(`package_metadata` writes them, `read_metadata` reads them back): the figures, the baseline's
figures beside them when known, the training job, the data and code hashes, the serving image and
the gate's verdict. SageMaker limits that map to 50 entries, keys to 128 and values to 256
characters of letters, numbers, spaces and `_.:/=+-@`, so every value is cleaned to fit; the gate's
reason is also kept whole as the version's description, which `sentiment models list` shows.

Each later approval or rejection (`sentiment models approve|reject`) adds an entry to the same map,
`Approval1`, `Approval2`, ... (`approval_entry`, `approval_update`; `approval_history` reads them
back), so the version carries its own approval history; when the 50 entries would be exceeded the
oldest history entries go.

This file ships in the training-job Lambda's asset folder, so it imports nothing but the standard
library; the SageMaker client is an argument (tests pass one wrapped in botocore's Stubber). The
`sentiment models` command loads it from its file for the same reason.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping

# CreateModelPackage's CustomerMetadataProperties limits (botocore's SageMaker service model).
MAX_KEY_CHARS, MAX_VALUE_CHARS, MAX_ENTRIES = 128, 256, 50
METADATA_PUNCTUATION = frozenset("_.:/=+-@")
MAX_DESCRIPTION_CHARS = 1024

# The figures: (read_metadata's name, metadata key, the metric of the job's FinalMetricDataList
# that gives it), all from stacks/quality_gate.py's METRIC_DEFINITIONS: the kept weights'
# validation accuracy (the gate's metric), the short-text validation accuracy and the expected
# calibration error on validation that train.py prints, and the last epoch's validation loss. A
# figure the job did not publish (a dataset without validation snippets has no short-text
# accuracy) is left out rather than written as unknown.
FIGURES = (
    ("validation_accuracy", "ValidationAccuracy", "validation:accuracy"),
    ("short_validation_accuracy", "ShortTextValidationAccuracy", "validation:short_accuracy"),
    ("calibration_error", "CalibrationError", "validation:calibration_error"),
    ("validation_loss", "ValidationLoss", "validation:loss"),
)
BASELINE_PREFIX = "Baseline"
# Approval history entries: Approval<n>, numbered from 1 in the order of the changes.
APPROVAL_KEY = re.compile(r"Approval([1-9][0-9]*)")
FIELDS = (  # (read_metadata's name, metadata key)
    ("training_job_name", "TrainingJobName"),
    ("data_hash", "DataHash"),
    ("code_hash", "CodeHash"),
    ("image_uri", "ImageUri"),
    ("quality_gate", "QualityGate"),
    ("quality_gate_reason", "QualityGateReason"),
)

APPROVED, PENDING, REJECTED = "Approved", "PendingManualApproval", "Rejected"
# The endpoint reads JSON or plain text and answers JSON (sentiment_model/serving.py).
CONTENT_TYPES = ("application/json", "text/plain")
RESPONSE_TYPES = ("application/json",)
# The model runs on CPU; these are the endpoint's default type (ml.m5.large, config instanceType)
# and its neighbours. A serverless endpoint needs no instance type.
REALTIME_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.large", "ml.c5.xlarge",
                           "ml.c5.2xlarge", "ml.c6i.large", "ml.c6i.xlarge")
TRANSFORM_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge")


# Metadata ------------------------------------------------------------------------------------

def package_metadata(*, training_job_name: str, data_hash: str, code_hash: str, image_uri: str,
                     gate_passed: bool, reason: str, figures: Mapping[str, float | None] | None = None,
                     baseline: Mapping[str, float | None] | None = None) -> dict[str, str]:
    """The CustomerMetadataProperties of one version. `figures` and `baseline` are keyed by the
    names of FIGURES (validation_accuracy, short_validation_accuracy, calibration_error,
    validation_loss); a figure that is None or absent is left out, as is an empty field."""
    entries = {}
    for name, key, _ in FIGURES:
        for source, prefix in ((figures or {}, ""), (baseline or {}, BASELINE_PREFIX)):
            if source.get(name) is not None:
                entries[prefix + key] = format_figure(source[name])
    values = {"training_job_name": training_job_name, "data_hash": data_hash, "code_hash": code_hash,
              "image_uri": image_uri, "quality_gate": "passed" if gate_passed else "failed",
              "quality_gate_reason": reason}
    for name, key in FIELDS:
        cleaned = metadata_value(values[name] or "")
        if cleaned:
            entries[key] = cleaned
    return entries


def read_metadata(properties: Mapping[str, str] | None) -> dict:
    """package_metadata's map read back: {"figures": {name: float}, "baseline": {name: float},
    "gate_passed": bool | None, and each of FIELDS' names: str | None}. Keys it does not know
    (added by hand in the console) are ignored; a figure that is not a number is left out."""
    properties = properties or {}
    read = {"figures": {}, "baseline": {}}
    for name, key, _ in FIGURES:
        for target, prefix in (("figures", ""), ("baseline", BASELINE_PREFIX)):
            try:
                read[target][name] = float(properties[prefix + key])
            except (KeyError, ValueError):
                pass
    for name, key in FIELDS:
        read[name] = properties.get(key)
    read["gate_passed"] = {"passed": True, "failed": False}.get(read["quality_gate"])
    return read


def approval_entry(*, status: str, when: str, by: str, note: str) -> str:
    """One history entry's value: "<status> <UTC ISO time> by <who>: <note>", cleaned to fit."""
    return metadata_value(f"{status} {when} by {by}: {note}")


def approval_history(properties: Mapping[str, str] | None) -> list[tuple[int, str]]:
    """The Approval<n> entries as (n, value), oldest first."""
    found = ((APPROVAL_KEY.fullmatch(key), value) for key, value in (properties or {}).items())
    return sorted((int(match.group(1)), value) for match, value in found if match)


def approval_update(properties: Mapping[str, str] | None, entry: str) -> tuple[dict[str, str], list[str]]:
    """({new key: entry}, keys to remove) that add `entry` as the next Approval<n> to a version
    whose metadata is `properties`, dropping the oldest history entries while the map would hold
    more than MAX_ENTRIES. Numbers are never reused, so a gap at the start shows entries went."""
    properties = dict(properties or {})
    history = approval_history(properties)
    key = f"Approval{history[-1][0] + 1 if history else 1}"
    excess = len(properties) + 1 - MAX_ENTRIES
    dropped = [f"Approval{number}" for number, _ in history[:max(excess, 0)]]
    return {key: entry}, dropped


def format_figure(value: float) -> str:
    return f"{float(value):.4f}"


def metadata_value(text: str) -> str:
    """`text` as a CustomerMetadataProperties value: each character SageMaker refuses becomes a
    space, runs of spaces one, and a value over 256 characters is cut and ends in `...`."""
    kept = "".join(character if allowed_in_metadata(character) else " " for character in str(text))
    cleaned = " ".join(kept.split())
    if len(cleaned) > MAX_VALUE_CHARS:
        cleaned = cleaned[:MAX_VALUE_CHARS - 3].rstrip() + "..."
    return cleaned


def allowed_in_metadata(character: str) -> bool:
    """The service model's pattern for keys and values: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]."""
    return character in METADATA_PUNCTUATION or unicodedata.category(character)[0] in "LZN"


def job_figures(job: Mapping) -> dict[str, float]:
    """FIGURES' values from a DescribeTrainingJob response's FinalMetricDataList."""
    published = {item["MetricName"]: item["Value"] for item in job.get("FinalMetricDataList", [])}
    return {name: float(published[metric]) for name, _, metric in FIGURES if metric and metric in published}


# Registration --------------------------------------------------------------------------------

def approval_status(*, gate_passed: bool, approve_on_pass: bool) -> str:
    if not gate_passed:
        return REJECTED
    return APPROVED if approve_on_pass else PENDING


def model_package_request(*, group_name: str, job: Mapping, image_uri: str, gate_passed: bool, reason: str,
                          approve_on_pass: bool, data_hash: str, code_hash: str,
                          baseline: Mapping[str, float | None] | None = None,
                          environment: Mapping[str, str] | None = None) -> dict:
    """CreateModelPackage's request for the completed training job `job` (DescribeTrainingJob's
    response). The ClientToken is a hash of the rest of the request, so a retried call (the
    provider framework polls again after a Lambda timeout) returns the version it already made
    instead of registering the model twice, while anything that changes the request, such as a
    new gate verdict, registers a new version."""
    container = {"Image": image_uri, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]}
    if environment:
        container["Environment"] = {str(key): str(value) for key, value in environment.items()}
    request = {
        "ModelPackageGroupName": group_name,
        # CreateModelPackage has no ApprovalDescription; the gate's reason is the description.
        "ModelPackageDescription": description(reason),
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": list(CONTENT_TYPES),
            "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
            "SupportedRealtimeInferenceInstanceTypes": list(REALTIME_INSTANCE_TYPES),
            "SupportedTransformInstanceTypes": list(TRANSFORM_INSTANCE_TYPES),
        },
        "ModelApprovalStatus": approval_status(gate_passed=gate_passed, approve_on_pass=approve_on_pass),
        "CustomerMetadataProperties": package_metadata(
            training_job_name=job["TrainingJobName"], data_hash=data_hash, code_hash=code_hash,
            image_uri=image_uri, gate_passed=gate_passed, reason=reason, figures=job_figures(job),
            baseline=baseline),
    }
    identity = json.dumps(request, sort_keys=True)
    request["ClientToken"] = hashlib.sha256(identity.encode()).hexdigest()[:36]
    return request


def register_model(sagemaker, *, group_name: str, job: Mapping, image_uri: str, gate_passed: bool, reason: str,
                   approve_on_pass: bool, data_hash: str, code_hash: str,
                   baseline: Mapping[str, float | None] | None = None,
                   environment: Mapping[str, str] | None = None) -> str:
    """Registers the job's model in `group_name` and returns the new version's ModelPackageArn:
    Approved when the gate passed and `approve_on_pass`, PendingManualApproval when it passed
    otherwise, Rejected when it failed."""
    request = model_package_request(group_name=group_name, job=job, image_uri=image_uri, gate_passed=gate_passed,
                                    reason=reason, approve_on_pass=approve_on_pass, data_hash=data_hash,
                                    code_hash=code_hash, baseline=baseline, environment=environment)
    return sagemaker.create_model_package(**request)["ModelPackageArn"]


def description(reason: str) -> str:
    """The reason as a ModelPackageDescription: printable characters only, at most 1024."""
    text = " ".join("".join(c if unicodedata.category(c)[0] in "LMZSNP" else " " for c in reason).split())
    return text if len(text) <= MAX_DESCRIPTION_CHARS else text[:MAX_DESCRIPTION_CHARS - 3].rstrip() + "..."
