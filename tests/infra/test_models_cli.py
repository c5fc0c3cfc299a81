"""`sentiment models` against botocore's Stubber: every request is checked against SageMaker's real
API model and against the parameters asserted here, and what a reviewer reads is checked line by
line."""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialResolver
from botocore.stub import Stubber

from sentiment import registry as cli
from sentiment.cli import COMMANDS, GROUPS
from stacks.config import STAGES, DeploymentConfig
from stacks.training_job import registry as convention

ACCOUNT = "111122223333"
GROUP = "sentiment-prod"
JOB = "sentiment-prod-0123456789abcdef"
ARTIFACT = f"s3://sentiment-prod-artifacts-{ACCOUNT}-us-east-1/training-output/{JOB}/output/model.tar.gz"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
REGISTERED = datetime(2026, 11, 28, 10, 25, tzinfo=timezone.utc)
APPROVED_AT = datetime(2026, 11, 29, 9, 12, tzinfo=timezone.utc)
HANDLER_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/SentimentModel-prod-TrainingJobHandlerRole/OnEvent"
REVIEWER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reviewer/alice"
SECOND_REVIEWER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reviewer/bob"
PASSED = (f"Quality gate passed: validation:accuracy 0.9348 of training job {JOB} reaches "
          "minValidationAccuracy 0.9")
FAILED = (f"Quality gate: validation:accuracy 0.8731 of training job {JOB} is below minValidationAccuracy 0.9; "
          "the model is not deployed")


def arn(version: int, group: str = GROUP) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group}/{version}"


@pytest.fixture
def sts(monkeypatch):
    """STS, stubbed, for the caller an approval records; the clock fixed at APPROVED_AT."""
    client = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    monkeypatch.setattr(cli, "sts_client", lambda region: client)
    monkeypatch.setattr(cli, "utc_now", lambda: APPROVED_AT)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def identity(sts, caller: str = REVIEWER) -> None:
    sts.add_response("get_caller_identity", {"UserId": "AROAEXAMPLE:alice", "Account": ACCOUNT, "Arn": caller}, {})


@pytest.fixture
def sagemaker(monkeypatch, sts):
    """A Stubber-wrapped client handed to the command through its one client factory."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sagemaker", region_name="us-east-1")
    regions = []
    monkeypatch.setattr(cli, "sagemaker_client", lambda region: regions.append(region) or client)
    with Stubber(client) as stubber:
        yield stubber, regions
        stubber.assert_no_pending_responses()


def summary(version: int, status: str, description: str, day: int = 28) -> dict:
    return {"ModelPackageGroupName": GROUP, "ModelPackageVersion": version, "ModelPackageArn": arn(version),
            "ModelPackageDescription": description, "CreationTime": REGISTERED.replace(day=day),
            "ModelPackageStatus": "Completed", "ModelApprovalStatus": status}


VERSIONS = [summary(3, "PendingManualApproval", PASSED), summary(2, "Rejected", FAILED, day=27),
            summary(1, "Approved", PASSED.replace("0.9348", "0.9311"), day=20)]


def listing(stubber, versions=VERSIONS, group=GROUP, **extra) -> None:
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": versions},
                         {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending", **extra})


def metadata(gate_passed: bool = True) -> dict:
    """What the training-job resource writes (the convention's own writer, so the two cannot drift)."""
    return convention.package_metadata(
        training_job_name=JOB, data_hash="d" * 64, code_hash="c" * 64, image_uri=IMAGE, gate_passed=gate_passed,
        reason=PASSED if gate_passed else FAILED,
        figures={"validation_accuracy": 0.9348, "validation_loss": 0.2012},
        baseline={"validation_accuracy": 0.9192, "short_validation_accuracy": 0.7389, "calibration_error": 0.0434})


def package(version: int = 3, status: str = "PendingManualApproval", **extra) -> dict:
    return {"ModelPackageName": GROUP, "ModelPackageGroupName": GROUP, "ModelPackageVersion": version,
            "ModelPackageArn": arn(version), "ModelPackageDescription": PASSED, "CreationTime": REGISTERED,
            "InferenceSpecification": {"Containers": [{"Image": IMAGE, "ModelDataUrl": ARTIFACT}],
                                       "SupportedContentTypes": ["application/json", "text/plain"],
                                       "SupportedResponseMIMETypes": ["application/json"]},
            "ModelPackageStatus": "Completed", "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": status, "CreatedBy": {"IamIdentity": {"Arn": HANDLER_ROLE}},
            "CustomerMetadataProperties": metadata(), **extra}


def describing(stubber, description: dict) -> None:
    stubber.add_response("describe_model_package", description, {"ModelPackageName": description["ModelPackageArn"]})


def endpoints(stubber) -> None:
    """Two endpoints: prod's serves the version's model data, another serves something else."""
    stubber.add_response("list_endpoints", {"Endpoints": [
        {"EndpointName": "sentiment-prod", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/sentiment-prod",
         "CreationTime": REGISTERED, "LastModifiedTime": APPROVED_AT, "EndpointStatus": "InService"},
        {"EndpointName": "other-team", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/other-team",
         "CreationTime": REGISTERED, "LastModifiedTime": REGISTERED, "EndpointStatus": "InService"}]}, {})
    for name, config, model, url in (("sentiment-prod", "EndpointConfig-a1b2", "Model-a1b2", ARTIFACT),
                                     ("other-team", "other-config", "other-model", "s3://other/model.tar.gz")):
        stubber.add_response("describe_endpoint", {
            "EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
            "EndpointConfigName": config, "EndpointStatus": "InService", "CreationTime": REGISTERED,
            "LastModifiedTime": APPROVED_AT}, {"EndpointName": name})
        stubber.add_response("describe_endpoint_config", {
            "EndpointConfigName": config, "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:1:endpoint-config/{config}",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model}],
            "CreationTime": REGISTERED}, {"EndpointConfigName": config})
        stubber.add_response("describe_model", {
            "ModelName": model, "ModelArn": f"arn:aws:sagemaker:us-east-1:1:model/{model}",
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": url}, "CreationTime": REGISTERED},
            {"ModelName": model})


# list -----------------------------------------------------------------------------------------

def test_list_shows_a_stages_versions_newest_first(sagemaker, capsys):
    stubber, regions = sagemaker
    listing(stubber)

    assert cli.main(["list", "--stage", "prod", "--region", "us-east-1"]) == 0

    assert regions == ["us-east-1"]
    assert capsys.readouterr().out.splitlines() == [
        "sentiment-prod: 3 versions, newest first",
        "VERSION  APPROVAL               REGISTERED            DESCRIPTION",
        "3        PendingManualApproval  2026-11-28 10:25 UTC  Quality gate passed: validation:accuracy 0.9348 of "
        "training job sentiment-prod-01234567...",
        "2        Rejected               2026-11-27 10:25 UTC  Quality gate: validation:accuracy 0.8731 of training "
        "job sentiment-prod-0123456789abcde...",
        "1        Approved               2026-11-20 10:25 UTC  Quality gate passed: validation:accuracy 0.9311 of "
        "training job sentiment-prod-01234567...",
    ]


def test_list_filters_by_approval_status_and_reads_every_page(sagemaker, capsys):
    stubber, _ = sagemaker
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": [VERSIONS[0]], "NextToken": "page-2"},
                         {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending",
                          "ModelApprovalStatus": "PendingManualApproval"})
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": [summary(5, "PendingManualApproval", "")]},
                         {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending",
                          "ModelApprovalStatus": "PendingManualApproval", "NextToken": "page-2"})

    assert cli.main(["list", "--stage", "prod", "--status", "pending"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sentiment-prod: 2 PendingManualApproval versions, newest first"
    assert [line.split()[0] for line in out[2:]] == ["3", "5"]


def test_list_of_an_empty_group_says_so(sagemaker, capsys):
    stubber, _ = sagemaker
    listing(stubber, versions=[], group="sentiment-dev")

    assert cli.main(["list"]) == 0

    assert capsys.readouterr().out == "sentiment-dev: no versions\n"


def test_a_group_given_by_name_is_used_as_is(sagemaker, capsys):
    stubber, _ = sagemaker
    listing(stubber, versions=[], group="experiments")

    assert cli.main(["list", "--group", "experiments"]) == 0


# show -----------------------------------------------------------------------------------------

SHOWN = f"""\
sentiment-prod version 3  {arn(3)}
  registered      2026-11-28 10:25 UTC by {HANDLER_ROLE}
  approval        Approved, last changed 2026-11-29 09:12 UTC by {REVIEWER}
  approval note   short reviews checked by hand against version 1
  quality gate    passed
  description     {PASSED}

approval history, oldest first
  registered      2026-11-28 10:25 UTC by {HANDLER_ROLE}, quality gate passed
  Approval1       Rejected 2026-11-28T15:40:00Z by {SECOND_REVIEWER}: worse than version 1 on short reviews
  Approval2       Approved 2026-11-29T09:12:00Z by {REVIEWER}: short reviews checked by hand against version 1

lineage
  training job    {JOB}
  data hash       {"d" * 64}
  code hash       {"c" * 64}
  image           {IMAGE}
  model data      {ARTIFACT}

figures                              model  baseline
  validation accuracy               0.9348    0.9192
  short-text validation accuracy         -    0.7389
  calibration error (ECE)                -    0.0434
  validation loss                   0.2012         -

served by
  sentiment-prod (InService), variant AllTraffic, model Model-a1b2: same model data
"""


def history(*changes: tuple[str, str, str, str]) -> dict:
    """Approval<n> entries as `sentiment models approve|reject` writes them: (status, time, who, note)."""
    return {f"Approval{number}": convention.approval_entry(status=status, when=at, by=by, note=note)
            for number, (status, at, by, note) in enumerate(changes, start=1)}


REJECTED_THEN_APPROVED = history(
    ("Rejected", "2026-11-28T15:40:00Z", SECOND_REVIEWER, "worse than version 1 on short reviews"),
    ("Approved", "2026-11-29T09:12:00Z", REVIEWER, "short reviews checked by hand against version 1"))


def test_show_prints_the_lineage_figures_approval_history_and_serving_endpoint_of_a_version(sagemaker, capsys):
    stubber, _ = sagemaker
    listing(stubber)
    describing(stubber, package(status="Approved", ApprovalDescription="short reviews checked by hand against version 1",
                                LastModifiedTime=APPROVED_AT, LastModifiedBy={"IamIdentity": {"Arn": REVIEWER}},
                                CustomerMetadataProperties={**metadata(), **REJECTED_THEN_APPROVED}))
    endpoints(stubber)

    assert cli.main(["show", "3", "--stage", "prod"]) == 0

    assert capsys.readouterr().out == SHOWN


def test_show_finds_an_endpoint_whose_model_was_built_from_the_version(sagemaker, capsys):
    """A stack that pins modelPackageArn builds its model from the version itself."""
    stubber, _ = sagemaker
    describing(stubber, package())
    stubber.add_response("list_endpoints", {"Endpoints": [
        {"EndpointName": "sentiment-prod", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/sentiment-prod",
         "CreationTime": REGISTERED, "LastModifiedTime": REGISTERED, "EndpointStatus": "Updating"}]}, {})
    stubber.add_response("describe_endpoint", {
        "EndpointName": "sentiment-prod", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/sentiment-prod",
        "EndpointConfigName": "config", "EndpointStatus": "Updating", "CreationTime": REGISTERED,
        "LastModifiedTime": REGISTERED}, {"EndpointName": "sentiment-prod"})
    stubber.add_response("describe_endpoint_config", {
        "EndpointConfigName": "config", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/config",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "pinned"}], "CreationTime": REGISTERED},
        {"EndpointConfigName": "config"})
    stubber.add_response("describe_model", {
        "ModelName": "pinned", "ModelArn": "arn:aws:sagemaker:us-east-1:1:model/pinned",
        "PrimaryContainer": {"ModelPackageName": arn(3)}, "CreationTime": REGISTERED}, {"ModelName": "pinned"})

    assert cli.main(["show", arn(3)]) == 0

    out = capsys.readouterr().out
    assert "  approval        PendingManualApproval, as registered\n" in out
    assert out.endswith("served by\n  sentiment-prod (Updating), variant AllTraffic, model pinned: built from this version\n")


def test_show_still_prints_the_lineage_when_endpoints_cannot_be_listed(sagemaker, capsys):
    stubber, _ = sagemaker
    describing(stubber, package())
    stubber.add_client_error("list_endpoints", service_error_code="AccessDeniedException", http_status_code=400,
                             service_message="not authorized to perform: sagemaker:ListEndpoints")

    assert cli.main(["show", arn(3)]) == 0

    out = capsys.readouterr().out
    assert f"  training job    {JOB}\n" in out
    assert out.endswith("served by\n  unknown: access denied to ListEndpoints: not authorized to perform: "
                        "sagemaker:ListEndpoints\n")


# approve and reject -----------------------------------------------------------------------------

def test_approve_sets_the_version_approved_with_the_reason_and_records_it(sagemaker, sts, capsys):
    stubber, _ = sagemaker
    listing(stubber)
    describing(stubber, package())
    identity(sts)
    entry = f"Approved 2026-11-29T09:12:00Z by {REVIEWER}: short reviews checked by hand"
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
        "ModelPackageArn": arn(3), "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "short reviews checked by hand", "CustomerMetadataProperties": {"Approval1": entry}})

    assert cli.main(["approve", "3", "--stage", "prod", "--reason", "short reviews checked by hand"]) == 0

    assert capsys.readouterr().out == ("sentiment-prod version 3: PendingManualApproval -> Approved "
                                       f"(short reviews checked by hand)\nrecorded as Approval1: {entry}\n")


def test_approve_without_a_reason_records_how_it_was_approved(sagemaker, sts, capsys):
    """The description always says something, so an old rejection's reason never stays beside
    Approved; the history entry is cleaned to the characters SageMaker allows (no backquotes)."""
    stubber, _ = sagemaker
    describing(stubber, package(version=2, status="Rejected", CustomerMetadataProperties=metadata(gate_passed=False),
                                ModelPackageDescription=FAILED))
    identity(sts)
    entry = f"Approved 2026-11-29T09:12:00Z by {REVIEWER}: approved with sentiment models approve"
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(2)}, {
        "ModelPackageArn": arn(2), "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "approved with `sentiment models approve`",
        "CustomerMetadataProperties": {"Approval1": entry}})

    assert cli.main(["approve", arn(2)]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "sentiment-prod version 2: Rejected -> Approved (approved with `sentiment models approve`)",
        f"recorded as Approval1: {entry}",
        f"note: this version failed the quality gate: {FAILED}"]


def test_reject_adds_the_next_entry_after_the_versions_history(sagemaker, sts, capsys):
    """An approved version rejected later keeps both changes, numbered in order."""
    stubber, _ = sagemaker
    listing(stubber)
    describing(stubber, package(status="Approved", CustomerMetadataProperties={**metadata(), **REJECTED_THEN_APPROVED}))
    identity(sts, SECOND_REVIEWER)
    entry = f"Rejected 2026-11-29T09:12:00Z by {SECOND_REVIEWER}: drifted on short reviews see the drift alarm"
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
        "ModelPackageArn": arn(3), "ModelApprovalStatus": "Rejected",
        "ApprovalDescription": "drifted on short reviews; see the drift alarm",
        "CustomerMetadataProperties": {"Approval3": entry}})

    assert cli.main(["reject", "3", "--stage", "prod", "--reason", "drifted on short reviews; see the drift alarm"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "sentiment-prod version 3: Approved -> Rejected (drifted on short reviews; see the drift alarm)",
        f"recorded as Approval3: {entry}"]


def test_a_caller_sts_will_not_name_is_recorded_as_unknown(sagemaker, sts, capsys):
    """The change itself must not depend on sts:GetCallerIdentity; LastModifiedBy still names them."""
    stubber, _ = sagemaker
    describing(stubber, package())
    sts.add_client_error("get_caller_identity", service_error_code="AccessDenied", http_status_code=403,
                         service_message="not allowed")
    entry = "Rejected 2026-11-29T09:12:00Z by unknown: worse than version 1"
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
        "ModelPackageArn": arn(3), "ModelApprovalStatus": "Rejected", "ApprovalDescription": "worse than version 1",
        "CustomerMetadataProperties": {"Approval1": entry}})

    assert cli.main(["reject", arn(3), "--reason", "worse than version 1"]) == 0

    assert capsys.readouterr().out.splitlines()[1] == f"recorded as Approval1: {entry}"


def full_history(count: int) -> dict:
    return history(*[("Approved" if number % 2 else "Rejected", f"2026-11-{number % 28 + 1:02d}T08:00:00Z",
                      REVIEWER, f"change {number}") for number in range(1, count + 1)])


def test_a_full_history_drops_its_oldest_entries_first_and_says_so(sagemaker, sts, capsys):
    """SageMaker allows 50 metadata entries: the registration's come first, the oldest changes go."""
    stubber, _ = sagemaker
    properties = {**metadata(), **full_history(convention.MAX_ENTRIES - len(metadata()))}
    assert len(properties) == 50
    describing(stubber, package(CustomerMetadataProperties=properties))
    identity(sts)
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
        "ModelPackageArn": arn(3), "CustomerMetadataPropertiesToRemove": ["Approval1"]})
    newest = f"Approval{50 - len(metadata()) + 1}"
    entry = f"Approved 2026-11-29T09:12:00Z by {REVIEWER}: checked again"
    stubber.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
        "ModelPackageArn": arn(3), "ModelApprovalStatus": "Approved", "ApprovalDescription": "checked again",
        "CustomerMetadataProperties": {newest: entry}})

    assert cli.main(["approve", arn(3), "--reason", "checked again"]) == 0

    assert capsys.readouterr().out.splitlines()[1:] == [
        f"recorded as {newest}: {entry}",
        "note: a version keeps at most 50 metadata entries, so the oldest approval history entry went: Approval1"]


def test_show_says_when_the_oldest_history_entries_were_dropped(sagemaker, capsys):
    stubber, _ = sagemaker
    kept = {key: value for key, value in full_history(5).items() if key not in ("Approval1", "Approval2")}
    describing(stubber, package(CustomerMetadataProperties={**metadata(), **kept}))
    stubber.add_response("list_endpoints", {"Endpoints": []}, {})

    assert cli.main(["show", arn(3)]) == 0

    out = capsys.readouterr().out
    assert ("  (Approval1 to Approval2 dropped: a version keeps at most 50 metadata entries)\n"
            f"  Approval3       Approved 2026-11-04T08:00:00Z by {REVIEWER}: change 3\n") in out


def test_show_of_a_version_nobody_has_changed_says_so(sagemaker, capsys):
    stubber, _ = sagemaker
    describing(stubber, package())
    stubber.add_response("list_endpoints", {"Endpoints": []}, {})

    assert cli.main(["show", arn(3)]) == 0

    assert ("approval history, oldest first\n"
            f"  registered      2026-11-28 10:25 UTC by {HANDLER_ROLE}, quality gate passed\n"
            "  no approval or rejection recorded by `sentiment models`\n") in capsys.readouterr().out


def test_a_history_entry_keeps_to_sagemakers_characters_and_length():
    entry = convention.approval_entry(status="Rejected", when="2026-11-29T09:12:00Z", by=REVIEWER,
                                      note="«worse» on <b>short</b> reviews; see #12 " + "x" * 300)

    assert len(entry) == convention.MAX_VALUE_CHARS and entry.endswith("...")
    assert all(convention.allowed_in_metadata(character) for character in entry)
    assert entry.startswith(f"Rejected 2026-11-29T09:12:00Z by {REVIEWER}: worse on b short /b reviews see 12 xxx")


def test_reject_needs_a_reason(sagemaker, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reject", "3"])

    assert exit_.value.code == 2 and "--reason" in capsys.readouterr().err


def test_approving_an_unknown_version_is_one_line_and_changes_nothing(sagemaker, capsys):
    """The Stubber has no UpdateModelPackage to answer: nothing is sent after the lookup."""
    stubber, _ = sagemaker
    listing(stubber)

    assert cli.main(["approve", "9", "--stage", "prod"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: model package group sentiment-prod has no version 9 (versions 1 to 3)\n"


def test_approving_an_unknown_arn_is_one_line(sagemaker, capsys):
    stubber, _ = sagemaker
    stubber.add_client_error("describe_model_package", service_error_code="ValidationException", http_status_code=400,
                             service_message=f"ModelPackage {arn(9)} does not exist.",
                             expected_params={"ModelPackageName": arn(9)})

    assert cli.main(["approve", arn(9)]) == 2

    assert capsys.readouterr().err == f"error: no model package {arn(9)} (ModelPackage {arn(9)} does not exist.)\n"


def test_a_version_that_is_not_a_number_is_refused(sagemaker, capsys):
    assert cli.main(["show", "latest"]) == 2

    assert capsys.readouterr().err == "error: 'latest' is neither a version number nor a model package ARN\n"


def test_access_denied_is_one_line(sagemaker, sts, capsys):
    stubber, _ = sagemaker
    describing(stubber, package())
    identity(sts)
    stubber.add_client_error("update_model_package", service_error_code="AccessDeniedException", http_status_code=400,
                             service_message="User: alice is not authorized to perform: sagemaker:UpdateModelPackage")

    assert cli.main(["approve", arn(3), "--reason", "ok"]) == 2

    assert capsys.readouterr().err == ("error: access denied to UpdateModelPackage: User: alice is not authorized to "
                                       "perform: sagemaker:UpdateModelPackage\n")


def test_no_credentials_is_one_line(monkeypatch, capsys):
    """A client whose credential chain finds nothing fails when it signs its first request."""
    session = botocore.session.get_session()
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    monkeypatch.setattr(cli, "sagemaker_client", lambda region: session.create_client("sagemaker", region_name=region))

    assert cli.main(["list", "--region", "us-east-1"]) == 2

    assert capsys.readouterr().err == ("error: no AWS credentials (set AWS_PROFILE, or run `aws configure` or "
                                       "`aws sso login`)\n")


# The facts this layer restates ------------------------------------------------------------------

def test_the_group_of_each_stage_is_the_stages_name_prefix():
    """The group's name is stacks/config.py's name_prefix, which the command may not import."""
    assert cli.STAGES == STAGES
    for stage in STAGES:
        assert cli.group_name(stage) == DeploymentConfig(stage=stage).name_prefix


def test_the_command_shows_every_key_of_the_metadata_convention():
    figure_keys = {key for _, key, _ in convention.FIGURES}
    assert {key for key, _ in cli.FIGURES} == figure_keys
    assert cli.BASELINE_PREFIX == convention.BASELINE_PREFIX
    assert {key for key, _ in cli.LINEAGE} | set(cli.GATE_KEYS) == {key for _, key in convention.FIELDS}


def test_the_command_is_registered_with_the_infrastructure_commands():
    assert COMMANDS["models"].module == "sentiment.registry" and COMMANDS["models"].group == GROUPS[4]
