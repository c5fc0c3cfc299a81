"""Encryption under the company's key: prod (encryptionKey, its default) creates one rotating KMS
key and encrypts the artifacts bucket, the training job's volume and output, the real-time
endpoint's storage, data capture and the alarm topic with it; kmsKeyArn uses an existing key;
what AWS does not support is refused or left out knowingly."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from stacks.config import ConfigError, DeploymentConfig

ON_CALL = "arn:aws:sns:eu-west-1:123456789012:on-call"
EXISTING = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"


def key_id(app) -> str:
    [(logical_id, _)] = app.state.find_resources("AWS::KMS::Key").items()
    return logical_id


def test_prod_has_its_own_rotating_key_that_outlives_the_stack(prod_app):
    """Data encrypted under a deleted key is lost for good."""
    prod_app.state.has_resource("AWS::KMS::Key", {"Properties": Match.object_like({"EnableKeyRotation": True}),
                                                  "DeletionPolicy": "Retain"})
    prod_app.state.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/sentiment-prod"})


def test_cloudwatch_may_use_the_key_for_the_alarm_topic_and_only_from_this_account(prod_app):
    (key,) = prod_app.state.find_resources("AWS::KMS::Key").values()
    [statement] = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                   if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_the_artifacts_bucket_is_encrypted_with_it(prod_app):
    prod_app.state.has_resource_properties("AWS::S3::Bucket", {"BucketEncryption": {
        "ServerSideEncryptionConfiguration": [{"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": Match.any_value()}}]}})


def test_training_volume_output_and_endpoint_storage_use_the_key(synth):
    app = synth(stage="prod", alarmTopicArn=ON_CALL, dataCapture="true")
    (job,) = app.model.find_resources("Custom::SageMakerTrainingJob").values()
    (config,) = app.model.find_resources("AWS::SageMaker::EndpointConfig").values()
    key = json.dumps(job["Properties"]["KmsKeyId"])

    assert key_id(app) in key
    assert json.dumps(config["Properties"]["KmsKeyId"]) == key
    assert json.dumps(config["Properties"]["DataCaptureConfig"]["KmsKeyId"]) == key


def test_the_training_handler_encrypts_the_volume_and_the_output():
    from stacks.training_job import handler
    props = {"JobName": "j", "RoleArn": "r", "TrainingImage": "i", "Hyperparameters": {}, "OutputUri": "s3://b/o/",
             "InstanceType": "ml.c5.2xlarge", "VolumeSizeGb": "10", "UseSpot": "false", "MaxRuntimeSeconds": "60",
             "TrainingDataUri": "s3://b/t/", "KmsKeyId": EXISTING}
    request = handler.training_job_request(props)

    assert request["ResourceConfig"]["VolumeKmsKeyId"] == request["OutputDataConfig"]["KmsKeyId"] == EXISTING
    assert "VolumeKmsKeyId" not in handler.training_job_request({**props, "KmsKeyId": ""})["ResourceConfig"]


def test_the_alarm_topic_is_encrypted_with_the_key(options_app):
    options_app.web.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_each_user_gets_exact_kms_actions_on_the_one_key(prod_app, options_app):
    for app in (prod_app, options_app):
        for template in (app.model_json, app.web_json):
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::IAM::Policy":
                    continue
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    kms_actions = [a for a in actions if a.startswith("kms:")]
                    assert not [a for a in kms_actions if "*" in a], statement
                    if kms_actions:
                        assert statement["Resource"] != "*"


def test_dev_keeps_s3_managed_keys_and_serverless_storage_takes_none(default_app, synth):
    default_app.state.resource_count_is("AWS::KMS::Key", 0)
    app = synth(encryptionKey="true")
    (config,) = app.model.find_resources("AWS::SageMaker::EndpointConfig").values()
    app.state.resource_count_is("AWS::KMS::Key", 1)
    assert "KmsKeyId" not in config["Properties"]


def test_an_existing_key_is_used_instead_of_a_new_one(synth):
    app = synth(stage="prod", alarmTopicArn=ON_CALL, kmsKeyArn=EXISTING)
    (job,) = app.model.find_resources("Custom::SageMakerTrainingJob").values()

    app.state.resource_count_is("AWS::KMS::Key", 0)
    assert job["Properties"]["KmsKeyId"] == EXISTING
    app.state.has_resource_properties("AWS::S3::Bucket", {"BucketEncryption": {
        "ServerSideEncryptionConfiguration": [Match.object_like({"ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": EXISTING}})]}})


@pytest.mark.parametrize("instance_type", ["ml.m5d.large", "ml.g4dn.xlarge", "ml.g5.xlarge", "ml.c5d.2xlarge"])
def test_instance_types_with_local_storage_refuse_a_key_in_one_line(tmp_path, instance_type):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match=f"^instanceType {instance_type} has local NVMe storage"):
        DeploymentConfig.from_context({"stage": "prod", "alarmTopicArn": ON_CALL, "endpointMode": "realtime",
                                       "encryptionKey": "true", "instanceType": instance_type,
                                       "trainingData": str(tmp_path)}.get)


def test_a_bad_key_arn_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="^kmsKeyArn must be a KMS key ARN"):
        DeploymentConfig.from_context({"kmsKeyArn": "alias/mine", "trainingData": str(tmp_path)}.get)
