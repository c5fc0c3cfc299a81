"""The model stack in each mode: what it stores, who may read it, what trains and what serves."""
from __future__ import annotations

import json
import shutil

import pytest
from aws_cdk.assertions import Match
from support import assert_auto_delete_logs_expire_and_go

from sentiment.paths import ROOT

TRAINING_JOB = "Custom::SageMakerTrainingJob"


def training_job_properties(app) -> dict:
    (resource,) = app.model.find_resources(TRAINING_JOB).values()
    return resource["Properties"]


def policy_statements(template) -> list[dict]:
    return [statement for policy in template.find_resources("AWS::IAM::Policy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


# Artifacts bucket -------------------------------------------------------------------------

MODES = ["default_app", "options_app", "artifact_app"]


@pytest.mark.parametrize("mode", MODES)
def test_artifacts_bucket_is_private_encrypted_and_versioned(mode, request):
    request.getfixturevalue(mode).state.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        # Prod (and the all-options prod) encrypt under the stage's own KMS key (encryptionKey).
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [Match.object_like(
            {"ServerSideEncryptionByDefault": Match.object_like(
                {"SSEAlgorithm": "aws:kms" if mode == "options_app" else "AES256"})})]},
        "VersioningConfiguration": {"Status": "Enabled"},
    })


@pytest.mark.parametrize("mode", MODES)
def test_artifacts_bucket_refuses_requests_without_tls(mode, request):
    request.getfixturevalue(mode).state.has_resource_properties("AWS::S3::BucketPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Action": "s3:*", "Principal": {"AWS": "*"},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_prod_keeps_the_artifacts_bucket_when_the_stack_goes(prod_app):
    """Training data and every model outlive `cdk destroy` in prod."""
    prod_app.state.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})
    prod_app.state.resource_count_is("Custom::S3AutoDeleteObjects", 0)


@pytest.mark.parametrize("mode", MODES)
def test_the_artifacts_bucket_lives_in_the_state_stack_which_the_model_stack_only_references(mode, request):
    """Replacing or deleting the model stack (endpoints, jobs, models come and go) cannot take the
    stored models with it: the bucket is not a resource of the model stack."""
    app = request.getfixturevalue(mode)
    app.state.resource_count_is("AWS::S3::Bucket", 1)
    app.model.resource_count_is("AWS::S3::Bucket", 0)
    assert "Fn::ImportValue" not in json.dumps(app.model_json)
    app.state.has_resource_properties("AWS::S3::Bucket", {"BucketName": Match.any_value()})


@pytest.mark.parametrize("mode", ["default_app", "options_app"])
def test_a_dev_deployment_empties_and_deletes_the_artifacts_bucket(mode, request):
    """The dev stage, and any stage with dev=true, leaves nothing behind on `cdk destroy`."""
    app = request.getfixturevalue(mode)
    app.state.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})
    app.state.resource_count_is("Custom::S3AutoDeleteObjects", 1)


def test_the_bucket_emptying_function_logs_to_a_group_that_expires_and_goes_with_the_stack(options_app):
    """Left alone, Lambda creates /aws/lambda/<name> itself: no retention, kept after destroy."""
    assert_auto_delete_logs_expire_and_go(options_app.state)



# Training ---------------------------------------------------------------------------------

def test_training_job_carries_the_configured_hyperparameters_and_the_script(default_app):
    properties = training_job_properties(default_app)

    assert properties["Hyperparameters"] == {
        "epochs": "6", "batch-size": "64", "embedding-dim": "64", "word-vectors": "ppmi", "adversarial": "5.0",
        "hidden-dim": "64",
        "lr": "0.003", "patience": "2", "seed": "1", "max-minutes": "40",
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": properties["Hyperparameters"]["sagemaker_submit_directory"],
        "sagemaker_region": {"Ref": "AWS::Region"},
        "sagemaker_container_log_level": "20",
    }


def test_training_runs_on_the_configured_current_instance_within_cloudformation_hour(default_app):
    properties = training_job_properties(default_app)

    assert properties["InstanceType"] == "ml.c5.2xlarge"
    assert properties["UseSpot"] is False
    assert properties["MaxRuntimeSeconds"] == 45 * 60
    assert properties["MaxWaitSeconds"] < int(properties["ServiceTimeout"]) <= 3600


def test_training_starts_only_after_its_role_may_read_the_data(default_app):
    """CloudFormation would otherwise start the job while the role's policy is still missing."""
    (job,) = default_app.model.find_resources(TRAINING_JOB).values()
    role_arn = job["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    (policy_id,) = [key for key, policy in default_app.model.find_resources("AWS::IAM::Policy").items()
                    if policy["Properties"]["Roles"] == [{"Ref": role_arn}]]

    assert policy_id in job["DependsOn"]


def test_training_uses_the_pytorch_training_image_of_the_deploying_region(default_app):
    image = json.dumps(training_job_properties(default_app)["TrainingImage"])

    assert "pytorch-training:2.9.0-cpu-py312" in image
    assert "Fn::FindInMap" in image and "AWS::Region" in image


def test_training_reads_the_uploaded_dataset_prefix(default_app):
    deployment = default_app.model.find_resources("Custom::CDKBucketDeployment")
    (prefix,) = [d["Properties"]["DestinationBucketKeyPrefix"] for d in deployment.values()]

    assert json.dumps(training_job_properties(default_app)["TrainingDataUri"]).endswith(f'/{prefix}"]]}}')


def test_unlabelled_reviews_prepared_beside_the_dataset_become_a_channel_the_role_may_read(synth, tmp_path_factory):
    """`sentiment prepare` writes <dataset>-unlabelled; the app uploads it to its own
    content-addressed prefix and the job's SageMaker role may read exactly that prefix too."""
    from support import make_dataset

    root = tmp_path_factory.mktemp("with-unlabelled")
    make_dataset(root / "data")
    (root / "data-unlabelled").mkdir()
    (root / "data-unlabelled" / "unlabelled.json").write_text('{"format_version": 1}')
    app = synth(trainingData=str(root / "data"))
    uri = json.dumps(training_job_properties(app)["UnlabelledDataUri"])
    prefixes = [d["Properties"]["DestinationBucketKeyPrefix"]
                for d in app.model.find_resources("Custom::CDKBucketDeployment").values()]
    unlabelled = [prefix for prefix in prefixes if prefix.startswith("unlabelled-data/")]
    assert len(unlabelled) == 1 and uri.endswith(f'/{unlabelled[0]}"]]}}')
    policies = json.dumps(app.model.find_resources("AWS::IAM::Policy"))
    assert f"{unlabelled[0]}*" in policies


def test_without_unlabelled_reviews_the_job_has_one_channel(default_app):
    assert "UnlabelledDataUri" not in training_job_properties(default_app)


def test_job_name_changes_with_a_hyperparameter(default_app, synth):
    assert training_job_properties(synth(epochs=7))["JobName"] != training_job_properties(default_app)["JobName"]


def test_job_name_changes_with_the_dataset(default_app, synth, fixtures_dir):
    changed = synth(trainingData=str(fixtures_dir / "dataset-changed"))

    assert training_job_properties(changed)["JobName"] != training_job_properties(default_app)["JobName"]


def test_job_name_changes_with_the_training_code(default_app, fixtures_dir, tmp_path, monkeypatch):
    from support import synthesize

    import stacks.model_stack
    code = shutil.copytree(ROOT / "model_code", tmp_path / "model_code",
                           ignore=shutil.ignore_patterns("__pycache__"))
    (code / "train.py").write_text((code / "train.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(stacks.model_stack, "MODEL_CODE_DIR", code)

    changed = synthesize(tmp_path / "out", {"trainingData": str(fixtures_dir / "dataset")})

    assert training_job_properties(changed)["JobName"] != training_job_properties(default_app)["JobName"]


def test_job_name_stays_when_nothing_that_shapes_the_model_changes(prod_app, options_app):
    """Serving, API and alarm settings must not retrain (and bill) anything."""
    assert training_job_properties(options_app)["JobName"] == training_job_properties(prod_app)["JobName"]


def test_the_training_code_ships_as_a_reproducible_tarball(default_app, synth):
    """An unchanged model_code/ gives an unchanged asset on every synthesis."""
    first = training_job_properties(default_app)["Hyperparameters"]["sagemaker_submit_directory"]
    again = training_job_properties(synth(epochs=7))["Hyperparameters"]["sagemaker_submit_directory"]

    assert first == again
    assert json.dumps(first).endswith('.gz"}')


# SageMaker role ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_sagemaker_role_has_no_managed_policies(mode, request):
    """In particular no AmazonSageMakerFullAccess, which the original used."""
    request.getfixturevalue(mode).model.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like(
            {"Principal": {"Service": "sagemaker.amazonaws.com"}})]},
        "ManagedPolicyArns": Match.absent(),
    })


def test_no_policy_grants_a_service_wide_wildcard_action(default_app, options_app, artifact_app):
    for app in (default_app, options_app, artifact_app):
        for template in (app.state, app.model, app.web):
            actions = [action for statement in policy_statements(template)
                       for action in ([statement["Action"]] if isinstance(statement["Action"], str)
                                      else statement["Action"])]
            assert not [action for action in actions if action == "*" or action.endswith(":*")]


def test_sagemaker_may_pull_only_the_pytorch_repositories(default_app):
    (statement,) = [s for s in policy_statements(default_app.model) if s.get("Sid") == "PullDeepLearningContainers"]
    repositories = json.dumps(statement["Resource"])

    assert "repository/pytorch-inference" in repositories and "repository/pytorch-training" in repositories
    assert len(statement["Resource"]) == 2


def test_sagemaker_writes_only_under_the_training_output_and_batch_transform_prefixes(default_app):
    (role_id,) = [key for key, role in default_app.model.find_resources("AWS::IAM::Role").items()
                  if "sagemaker.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])]
    (policy,) = [policy for policy in default_app.model.find_resources("AWS::IAM::Policy").values()
                 if policy["Properties"]["Roles"] == [{"Ref": role_id}]]
    writes = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "s3:PutObject" in s["Action"]]

    prefixes = sorted(json.dumps(w["Resource"]).rsplit("/", 2)[-2] for w in writes)
    assert prefixes == ["batch-transform", "training-output"]


# Endpoint ---------------------------------------------------------------------------------

def test_default_endpoint_is_serverless_with_configured_memory_and_concurrency(default_app):
    default_app.model.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "ProductionVariants": [Match.object_like({
            "VariantName": "AllTraffic",
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            "InstanceType": Match.absent()})]})
    for scaling in ("AWS::ApplicationAutoScaling::ScalableTarget", "Custom::SageMakerVariantScaling",
                    "Custom::SageMakerScalingBeforeUpdate"):
        default_app.model.resource_count_is(scaling, 0)


def test_endpoint_keeps_its_name_while_model_and_config_names_are_generated(default_app):
    """A retrain replaces model and config; the endpoint is updated in place, without downtime."""
    default_app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "sentiment-dev"})
    default_app.model.has_resource_properties("AWS::SageMaker::Model", {"ModelName": Match.absent()})
    default_app.model.has_resource_properties("AWS::SageMaker::EndpointConfig",
                                              {"EndpointConfigName": Match.absent()})


def test_model_serves_the_training_output_with_the_pytorch_inference_image(default_app):
    (model,) = default_app.model.find_resources("AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    (job_id,) = default_app.model.find_resources(TRAINING_JOB)

    assert container["ModelDataUrl"] == {"Fn::GetAtt": [job_id, "ModelDataUrl"]}
    assert "pytorch-inference:2.6.0-cpu-py312" in json.dumps(container["Image"])
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"


def test_realtime_endpoint_uses_the_configured_instances(options_app):
    options_app.model.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "ProductionVariants": [Match.object_like({
            "InstanceType": "ml.c5.large", "InitialInstanceCount": 2, "ServerlessConfig": Match.absent()})]})


def test_realtime_endpoint_scales_on_invocations_per_instance(options_app):
    """Registered and put by the scaling custom resource after the endpoint exists
    (stacks/endpoint_scaling/handler.py; tests/stacks/test_endpoint_autoscaling.py has the order)."""
    options_app.model.has_resource_properties("Custom::SageMakerVariantScaling", {
        "Phase": "After",
        "ResourceId": "endpoint/sentiment-prod/variant/AllTraffic",
        "Min": 2, "Max": 5, "TargetValue": 250})
    options_app.model.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    options_app.model.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 0)


# Local model ------------------------------------------------------------------------------

def test_a_local_model_skips_cloud_training_and_data_upload(artifact_app):
    artifact_app.model.resource_count_is(TRAINING_JOB, 0)
    artifact_app.model.resource_count_is("Custom::CDKBucketDeployment", 0)


def test_a_local_model_is_served_from_the_retained_bucket_under_its_content_hash(artifact_app, fixtures_dir, tmp_path):
    """A promoted model is kept in the stage's versioned, retained artifacts bucket; the bootstrap
    assets bucket (CDK's, re-created or emptied at will) is only the way in."""
    from sentiment.packaging import build_model_archive
    from stacks.model_artifact import promoted_model_key
    key = promoted_model_key(build_model_archive(fixtures_dir / "model", tmp_path / "model.tar.gz"))
    (model,) = artifact_app.model.find_resources("AWS::SageMaker::Model").values()
    url = json.dumps(model["Properties"]["PrimaryContainer"]["ModelDataUrl"])

    assert key.startswith("models/") and len(key.split("/")[1]) == 64
    assert "cdk-hnb659fds-assets" not in url and "sentiment-dev-artifacts-" in url and url.endswith(f'/{key}"]]}}')


def test_the_promotion_copies_the_asset_to_that_key_before_the_model_is_created(artifact_app):
    resources = artifact_app.model_json["Resources"]
    [(copy_id, copy)] = [(key, r) for key, r in resources.items() if r["Type"] == "Custom::AWS"]
    (model,) = artifact_app.model.find_resources("AWS::SageMaker::Model").values()
    create = json.loads("".join(part if isinstance(part, str) else "X" for part in
                                copy["Properties"]["Create"]["Fn::Join"][1]))

    assert (create["service"], create["action"]) == ("S3", "copyObject")
    assert create["parameters"]["Key"].startswith("models/") and create["parameters"]["CopySource"].endswith(".gz")
    assert "cdk-hnb659fds-assets" in json.dumps(copy["Properties"]["Create"])
    assert "Delete" not in copy["Properties"]
    assert copy_id in model["DependsOn"]


def test_a_model_directory_and_its_tarball_deploy_the_same_asset(artifact_app, synth, fixtures_dir, tmp_path):
    """The directory is packed reproducibly (with code/ from model_code/), so packing it yourself
    with `sentiment package` changes nothing."""
    from sentiment.packaging import build_model_archive
    tarball = build_model_archive(fixtures_dir / "model", tmp_path / "model.tar.gz")

    def model_data(app):
        (model,) = app.model.find_resources("AWS::SageMaker::Model").values()
        return model["Properties"]["PrimaryContainer"]["ModelDataUrl"]

    assert model_data(synth(modelArtifact=str(tarball))) == model_data(artifact_app)


def test_a_local_model_role_cannot_pull_the_training_image(artifact_app):
    (statement,) = [s for s in policy_statements(artifact_app.model) if s.get("Sid") == "PullDeepLearningContainers"]

    assert "pytorch-training" not in json.dumps(statement["Resource"])


@pytest.mark.parametrize("output", ["EndpointName", "TrainingJobName"])
def test_model_stack_outputs(default_app, output):
    default_app.model.has_output(output, {})


@pytest.mark.parametrize("mode", MODES)
def test_sagemaker_role_may_use_only_the_batch_transform_prefix_for_transform_jobs(mode, request):
    """scripts/sentiment/evaluation/batch_transform.py stages input and output under batch-transform/; the role needs
    exactly that prefix, not the whole bucket."""
    statements = policy_statements(request.getfixturevalue(mode).model)
    def covers(action, suffix):
        return any(action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                   and suffix in json.dumps(s["Resource"]) for s in statements)
    assert covers("s3:GetObject", "/batch-transform/*")
    assert covers("s3:PutObject", "/batch-transform/*")
    assert not any("s3:*" in json.dumps(s["Action"]) for s in statements)
