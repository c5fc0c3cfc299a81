"""The model registry in the templates: one model package group per stage in the state stack,
every trained model registered there (approved on passing the gate in dev, waiting for a person
in prod) with the linear baseline's figures for its dataset when `make prepare` computed them, and
a stage that pins an approved version serves it and nothing unapproved."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match
from support import make_dataset

from sentiment.data.baseline_figures import FIGURE_NAMES, write_baseline_figures
from sentiment.packaging import tree_hash
from stacks.config import ConfigError, DeploymentConfig
from stacks.training_job import registry
from stacks.training_job.handler import registry_settings

ON_CALL = "arn:aws:sns:eu-west-1:123456789012:on-call"
VERSION = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/sentiment-prod/3"
TRAINING_JOB = "Custom::SageMakerTrainingJob"


def test_each_stage_has_its_own_registry_kept_when_the_stack_goes(default_app, prod_app):
    """The record of which models existed and who approved them must outlive the stacks."""
    for app, group in ((default_app, "sentiment-dev"), (prod_app, "sentiment-prod")):
        app.state.has_resource("AWS::SageMaker::ModelPackageGroup", {
            "Properties": {"ModelPackageGroupName": group}, "DeletionPolicy": "Retain"})


@pytest.mark.parametrize(("mode", "approve"), [("default_app", "true"), ("prod_app", "false")])
def test_a_trained_model_is_registered_approved_in_dev_and_pending_for_prod(mode, approve, request):
    app = request.getfixturevalue(mode)
    (job,) = app.model.find_resources(TRAINING_JOB).values()
    registry = job["Properties"]["Registry"]
    (model,) = app.model.find_resources("AWS::SageMaker::Model").values()

    assert registry["ModelPackageGroupName"] == f"sentiment-{'dev' if approve == 'true' else 'prod'}"
    assert registry["ApproveOnPass"] == approve
    # The version names the image the endpoint serves it with, not the training image.
    assert registry["ImageUri"] == model["Properties"]["PrimaryContainer"]["Image"]
    assert registry["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"


def test_the_training_handler_may_create_versions_only_in_its_stages_group(default_app):
    statements = [statement for resource in default_app.model.find_resources("AWS::IAM::Policy").values()
                  for statement in resource["Properties"]["PolicyDocument"]["Statement"]
                  if "sagemaker:CreateModelPackage" in json.dumps(statement["Action"])]

    (statement,) = statements
    resources = json.dumps(statement["Resource"])
    assert "model-package/sentiment-dev/*" in resources and "model-package-group/sentiment-dev" in resources
    assert "sentiment-prod" not in resources


@pytest.fixture(scope="module")
def pinned_app(synth):
    return synth(stage="prod", alarmTopicArn=ON_CALL, modelPackageArn=VERSION)


def test_a_pinned_version_is_checked_before_it_is_served_and_nothing_trains(pinned_app):
    """Promotion is the one line in cdk.json's prod block; the check fails the deploy of a version
    that is not Approved, before the endpoint changes."""
    resources = pinned_app.model_json["Resources"]
    [(check_id, check)] = [(key, r) for key, r in resources.items() if r["Type"] == "Custom::ApprovedModelVersion"]
    (model,) = pinned_app.model.find_resources("AWS::SageMaker::Model").values()

    pinned_app.model.resource_count_is(TRAINING_JOB, 0)
    assert check["Properties"]["ModelPackageArn"] == VERSION
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == {"Fn::GetAtt": [check_id, "ModelDataUrl"]}


def test_the_check_may_only_read_the_pinned_version(pinned_app):
    pinned_app.model.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Action": "sagemaker:DescribeModelPackage", "Resource": VERSION})])}})


@pytest.mark.parametrize(("context", "message"), [
    ({"modelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/sentiment-dev/3"},
     "^modelPackageArn: a version of 'sentiment-dev', not of this stage's registry 'sentiment-prod'"),
    ({"modelPackageArn": VERSION, "modelArtifact": "models/default"},
     "^modelPackageArn and modelArtifact both name the model to serve"),
    ({"modelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/sentiment-prod"},
     "^modelPackageArn must be a versioned model package ARN"),
])
def test_a_pin_to_another_stage_or_beside_a_local_model_is_a_one_line_error(tmp_path, context, message):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match=message):
        DeploymentConfig.from_context({"stage": "prod", "alarmTopicArn": ON_CALL, "trainingData": str(tmp_path),
                                       **context}.get)


# The baseline's figures beside each version's -------------------------------------------------

BASELINE = {"validation_accuracy": 0.91923, "short_validation_accuracy": 0.7382, "calibration_error": 0.04231}


@pytest.fixture(scope="module")
def baseline_apps(synth, tmp_path_factory):
    """Dev synthesized from a dataset whose baseline file is its own, and from one whose file was
    written for another dataset (the folder re-prepared since)."""
    root = tmp_path_factory.mktemp("baseline-datasets")
    current, stale = make_dataset(root / "current"), make_dataset(root / "stale", content=b"\x93NUMPY re-prepared")
    write_baseline_figures(current, dataset_hash=tree_hash(current), figures=BASELINE)
    write_baseline_figures(stale, dataset_hash="0" * 64, figures=BASELINE)
    return synth(trainingData=str(current)), synth(trainingData=str(stale))


def test_a_version_records_the_baseline_computed_for_the_dataset_it_trains_on(baseline_apps):
    """A reviewer reads the model's figures beside the baseline's on the same split; the handler
    reads the block as it stands in the template."""
    current, _ = baseline_apps
    current.model.has_resource_properties(TRAINING_JOB, {"Registry": Match.object_like({"Baseline": {
        "ValidationAccuracy": "0.9192", "ShortTextValidationAccuracy": "0.7382", "CalibrationError": "0.0423"}})})

    (job,) = current.model.find_resources(TRAINING_JOB).values()
    assert registry_settings(job["Properties"])["baseline"] == {
        "validation_accuracy": 0.9192, "short_validation_accuracy": 0.7382, "calibration_error": 0.0423}


@pytest.mark.parametrize("app", ["without a baseline file", "with another dataset's"])
def test_without_the_datasets_own_baseline_a_version_records_none(app, default_app, baseline_apps):
    """Figures of another split would mislead more than none; the key is left out altogether."""
    synthesized = default_app if app == "without a baseline file" else baseline_apps[1]
    synthesized.model.has_resource_properties(TRAINING_JOB, {"Registry": Match.object_like({
        "ModelPackageGroupName": "sentiment-dev", "Baseline": Match.absent()})})


def test_another_datasets_baseline_file_is_a_synth_warning(default_app, baseline_apps):
    """The file is still beside the folder, so whoever deploys learns why the figures are missing."""
    def warnings(app):
        return [entry["data"] for path in app.outdir.glob("*.metadata.json")
                for entries in json.loads(path.read_text()).values() for entry in entries
                if entry["type"] == "aws:cdk:warning" and "baseline" in str(entry["data"])]

    assert warnings(default_app) == []
    (warning,) = warnings(baseline_apps[1])
    assert "was written for another dataset" in warning and "sentiment baseline --dataset" in warning


def test_the_baseline_file_names_the_figures_the_registry_records():
    assert set(FIGURE_NAMES) == {name for name, _, _ in registry.FIGURES} - {"validation_loss"}
