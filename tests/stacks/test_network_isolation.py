"""-c vpcSubnetIds / vpcSecurityGroupIds: the training job and the real-time model run in the
company's subnets, the model with network isolation; serverless endpoints cannot, and say so."""
from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from stacks.config import ConfigError, DeploymentConfig

ON_CALL = "arn:aws:sns:eu-west-1:123456789012:on-call"
SUBNETS = "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719"
GROUPS = "sg-0a1b2c3d4e5f60718"


@pytest.fixture(scope="module")
def vpc_app(synth):
    return synth(stage="prod", alarmTopicArn=ON_CALL, vpcSubnetIds=SUBNETS, vpcSecurityGroupIds=GROUPS)


def test_the_model_runs_in_the_subnets_with_no_network_of_its_own(vpc_app):
    """The serving code is in the archive and downloads nothing, so isolation costs nothing."""
    vpc_app.model.has_resource_properties("AWS::SageMaker::Model", {
        "VpcConfig": {"Subnets": SUBNETS.split(","), "SecurityGroupIds": GROUPS.split(",")},
        "EnableNetworkIsolation": True})


def test_the_training_job_runs_in_the_subnets(vpc_app):
    vpc_app.model.has_resource_properties("Custom::SageMakerTrainingJob", {
        "VpcConfig": {"Subnets": SUBNETS.split(","), "SecurityGroupIds": GROUPS.split(",")}})


def test_sagemaker_may_manage_the_network_interfaces_only_in_a_vpc(vpc_app, prod_app):
    interfaces = Match.object_like({"Action": Match.array_with(["ec2:CreateNetworkInterface"])})
    vpc_app.model.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {
        "Statement": Match.array_with([interfaces])}})
    prod_app.model.has_resource_properties("AWS::SageMaker::Model", {"VpcConfig": Match.absent(),
                                                                     "EnableNetworkIsolation": Match.absent()})
    assert "ec2:CreateNetworkInterface" not in str(prod_app.model_json)


def test_the_training_handler_passes_the_placement_to_sagemaker():
    from stacks.training_job import handler
    props = {"JobName": "j", "RoleArn": "r", "TrainingImage": "i", "Hyperparameters": {}, "OutputUri": "s3://b/o/",
             "InstanceType": "ml.c5.2xlarge", "VolumeSizeGb": "10", "UseSpot": "false", "MaxRuntimeSeconds": "60",
             "TrainingDataUri": "s3://b/t/",
             "VpcConfig": {"Subnets": SUBNETS.split(","), "SecurityGroupIds": GROUPS.split(",")}}

    assert handler.training_job_request(props)["VpcConfig"] == {"Subnets": SUBNETS.split(","),
                                                                "SecurityGroupIds": GROUPS.split(",")}
    assert "VpcConfig" not in handler.training_job_request({**props, "VpcConfig": None})


@pytest.mark.parametrize(("context", "message"), [
    ({"vpcSubnetIds": SUBNETS, "vpcSecurityGroupIds": GROUPS, "endpointMode": "serverless"},
     "^vpcSubnetIds needs endpointMode=realtime: SageMaker serverless endpoints cannot run in a VPC$"),
    ({"vpcSubnetIds": SUBNETS}, "^vpcSubnetIds and vpcSecurityGroupIds go together"),
    ({"vpcSubnetIds": "subnet-xyz", "vpcSecurityGroupIds": GROUPS}, "^vpcSubnetIds must be comma-separated"),
    ({"vpcSubnetIds": SUBNETS, "vpcSecurityGroupIds": "default"}, "^vpcSecurityGroupIds must be comma-separated"),
])
def test_a_vpc_for_a_serverless_endpoint_or_half_a_placement_is_a_one_line_error(tmp_path, context, message):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match=message):
        DeploymentConfig.from_context({"stage": "prod", "alarmTopicArn": ON_CALL, "endpointMode": "realtime",
                                       "trainingData": str(tmp_path), **context}.get)
