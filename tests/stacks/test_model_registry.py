"""The model registry in the templates: one model package group per stage in the state stack,
every trained model registered there (approved on passing the gate in dev, waiting for a person
in prod), and a stage that pins an approved version serves it and nothing unapproved."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from stacks.config import ConfigError, DeploymentConfig

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
