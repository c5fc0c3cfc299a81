"""`-c stage=dev|prod`: two deployments side by side in one account and region. Each stage has
its own stacks and its own fixed names, so deploying one never touches, adopts or watches the
other's resources; dev is serverless and disposable, prod runs instances behind the canary."""
from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from stacks.config import stack_names

# Properties that give a resource a fixed name, which must be unique in the account and region
# (or, for the REST API and the alarms' dimensions, which the metrics are keyed by).
FIXED_NAMES = {
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::ApiGateway::RestApi": "Name",
    "Custom::SageMakerTrainingJob": "JobName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}


def fixed_names(app) -> set[str]:
    names = set()
    for template in (app.state, app.model, app.web):
        for resource in template.to_json()["Resources"].values():
            value = resource.get("Properties", {}).get(FIXED_NAMES.get(resource["Type"], ""))
            if value is not None:
                names.add(plain_name(resource["Type"], value))
    return names


def plain_name(resource_type: str, value) -> str:
    """A fixed name as text; the account and region (pseudo parameters, the same for both stages
    in one account) may be part of it, nothing else that is decided at deploy time."""
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        value = separator.join(part if isinstance(part, str) else
                               "${%s}" % part["Ref"] if part in ({"Ref": "AWS::AccountId"}, {"Ref": "AWS::Region"})
                               else repr(part) for part in parts)
    assert isinstance(value, str) and "{'" not in value, f"{resource_type} name is not fixed: {value}"
    return value


def test_the_stages_stacks_are_named_after_them(default_app, prod_app):
    assert default_app.stack_names == stack_names("dev") == \
        ("SentimentState-dev", "SentimentModel-dev", "SentimentWeb-dev")
    assert prod_app.stack_names == ("SentimentState-prod", "SentimentModel-prod", "SentimentWeb-prod")


def test_no_fixed_name_is_shared_by_the_two_stages(default_app, prod_app):
    """Two stages in one account: a shared endpoint, alarm, dashboard or training job name would
    make the second deployment fail, or worse, adopt or watch the first one's resource."""
    dev, prod = fixed_names(default_app), fixed_names(prod_app)

    assert {"sentiment-dev", "sentiment-dev-service", "SentimentPredictApi-dev",
            "sentiment-dev-artifacts-${AWS::AccountId}-${AWS::Region}"} <= dev
    assert {"sentiment-prod", "sentiment-prod-service", "SentimentPredictApi-prod", "sentiment-prod-rollback-5xx",
            "sentiment-prod-rollback-latency"} <= prod
    assert dev.isdisjoint(prod)
    assert all("dev" in name for name in dev) and all("prod" in name for name in prod)


def test_the_same_inputs_train_one_job_per_stage(default_app, prod_app):
    """The training handler adopts a job of its name if one exists; prod must not adopt dev's
    job, whose model lies in dev's bucket."""
    def job_name(app) -> str:
        [job] = app.model.find_resources("Custom::SageMakerTrainingJob").values()
        return job["Properties"]["JobName"]

    dev, prod = job_name(default_app), job_name(prod_app)
    assert dev.startswith("sentiment-dev-") and prod.startswith("sentiment-prod-")
    assert dev.removeprefix("sentiment-dev-") == prod.removeprefix("sentiment-prod-")


@pytest.mark.parametrize(("mode", "stage"), [("default_app", "dev"), ("prod_app", "prod")])
def test_a_stages_training_handler_may_touch_only_its_own_stages_jobs(mode, stage, request):
    app = request.getfixturevalue(mode)
    statements = [statement for policy in app.model.find_resources("AWS::IAM::Policy").values()
                  for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                  if "sagemaker:CreateTrainingJob" in statement["Action"]]

    [statement] = statements
    assert statement["Resource"]["Fn::Join"][1][-1] == f":training-job/sentiment-{stage}-*"


@pytest.mark.parametrize(("mode", "stage"), [("default_app", "dev"), ("prod_app", "prod")])
def test_a_stages_alarms_watch_its_own_endpoint_and_api(mode, stage, request):
    """CloudWatch metrics are keyed by the endpoint's and the REST API's names: with shared names
    one stage's traffic would set off the other's alarms."""
    alarms = request.getfixturevalue(mode).web.find_resources("AWS::CloudWatch::Alarm").values()
    dimensions = {(d["Name"], d["Value"]) for alarm in alarms for d in alarm["Properties"].get("Dimensions", [])
                  if d["Name"] in ("EndpointName", "ApiName")}

    assert dimensions == {("EndpointName", f"sentiment-{stage}"), ("ApiName", f"SentimentPredictApi-{stage}")}


def test_dev_is_a_serverless_endpoint_with_sagemakers_default_update(default_app):
    default_app.model.has_resource_properties("AWS::SageMaker::EndpointConfig", {"ProductionVariants": [
        Match.object_like({"ServerlessConfig": Match.object_like({"MemorySizeInMB": 2048}),
                           "InstanceType": Match.absent()})]})
    default_app.model.has_resource_properties("AWS::SageMaker::Endpoint", {"DeploymentConfig": Match.absent()})
    default_app.model.resource_count_is("AWS::CloudWatch::Alarm", 0)


def test_prod_runs_two_instances_updated_through_the_canary_with_rollback_alarms(prod_app):
    prod_app.model.has_resource_properties("AWS::SageMaker::EndpointConfig", {"ProductionVariants": [
        Match.object_like({"InstanceType": "ml.m5.large", "InitialInstanceCount": 2,
                           "ServerlessConfig": Match.absent()})]})
    [endpoint] = prod_app.model.find_resources("AWS::SageMaker::Endpoint").values()
    deployment = endpoint["Properties"]["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    alarm_names = {alarm["Properties"]["AlarmName"]
                   for alarm in prod_app.model.find_resources("AWS::CloudWatch::Alarm").values()}

    assert (routing["Type"], routing["CanarySize"]) == ("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 50})
    assert [alarm["AlarmName"] for alarm in deployment["AutoRollbackConfiguration"]["Alarms"]] == \
        ["sentiment-prod-rollback-5xx", "sentiment-prod-rollback-latency"]
    assert alarm_names == {"sentiment-prod-rollback-5xx", "sentiment-prod-rollback-latency"}


@pytest.mark.parametrize(("mode", "stage"), [("default_app", "dev"), ("prod_app", "prod")])
def test_every_tagged_resource_carries_its_stage_for_cost_allocation(mode, stage, request):
    """Cost Explorer splits the bill by the `stage` tag (once it is activated as a cost
    allocation tag)."""
    app = request.getfixturevalue(mode)
    tag_lists = [resource["Properties"]["Tags"] for template in (app.state, app.model, app.web)
                 for resource in template.to_json()["Resources"].values()
                 if isinstance(resource.get("Properties", {}).get("Tags"), list)]

    assert len(tag_lists) > 10
    assert all({"Key": "stage", "Value": stage} in tags for tags in tag_lists)
