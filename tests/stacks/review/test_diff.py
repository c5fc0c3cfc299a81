"""`sentiment diff` on small fixture templates: each kind of change, the security section first,
plain text and markdown, the exit status, and old snapshots read from a git ref."""
from __future__ import annotations

import copy
import json
import subprocess

import pytest

from stacks.review import diff as infra_diff
from stacks.review.diff import compare, report

BASE = {
    "Resources": {
        "Model": {"Type": "AWS::SageMaker::Model", "Properties": {
            "PrimaryContainer": {"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz"}, "Tags": []}},
        "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
            "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large"}]}},
        "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
            "EndpointName": "sentiment", "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": "artifacts",
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True}}},
        "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"},
            "PolicyDocument": {"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                                              "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "arn:endpoint/sentiment"}]}}},
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}]}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "a", "Threshold": 1}},
        "Old": {"Type": "AWS::SNS::Topic", "Properties": {}},
    },
    "Outputs": {"EndpointName": {"Value": "sentiment"}},
}


def changed(edit) -> dict:
    template = copy.deepcopy(BASE)
    edit(template["Resources"])
    return template


def test_identical_templates_have_no_diff():
    result = compare("S", BASE, copy.deepcopy(BASE))
    assert result.empty
    assert "No infrastructure changes." in report([result], "main", markdown=False)


def test_added_and_removed_resources():
    def edit(resources):
        del resources["Old"]
        resources["New"] = {"Type": "AWS::Logs::LogGroup", "Properties": {}}
    result = compare("S", BASE, changed(edit))
    assert result.added == ["New (AWS::Logs::LogGroup)"]
    assert result.removed == ["Old (AWS::SNS::Topic)"]


def test_any_property_of_a_sagemaker_model_or_endpoint_config_forces_replacement():
    def edit(resources):
        resources["Model"]["Properties"]["PrimaryContainer"]["ModelDataUrl"] = "s3://b/new.tar.gz"
        resources["Config"]["Properties"]["ProductionVariants"][0]["InstanceType"] = "ml.c5.large"
    result = compare("S", BASE, changed(edit))
    assert result.replaced == [
        'Config (AWS::SageMaker::EndpointConfig), forced by ProductionVariants: '
        'ProductionVariants[0].InstanceType "ml.m5.large" -> "ml.c5.large"',
        'Model (AWS::SageMaker::Model), forced by PrimaryContainer: '
        'PrimaryContainer.ModelDataUrl "s3://b/model.tar.gz" -> "s3://b/new.tar.gz"',
    ]
    assert result.changed == []


def test_tags_alone_do_not_replace_a_model():
    result = compare("S", BASE, changed(lambda r: r["Model"]["Properties"].update(Tags=[{"Key": "k", "Value": "v"}])))
    assert result.replaced == [] and len(result.changed) == 1


def test_a_bucket_name_forces_replacement_and_a_threshold_is_an_in_place_change():
    def edit(resources):
        resources["Bucket"]["Properties"]["BucketName"] = "artifacts-2"
        resources["Alarm"]["Properties"]["Threshold"] = 5
    result = compare("S", BASE, changed(edit))
    assert result.replaced == ['Bucket (AWS::S3::Bucket), forced by BucketName: BucketName "artifacts" -> "artifacts-2"']
    assert result.changed == ["Alarm (AWS::CloudWatch::Alarm): Threshold 1 -> 5"]


def test_an_endpoint_update_is_in_place_but_a_new_endpoint_name_replaces_it():
    def config_only(resources):
        resources["Endpoint"]["Properties"]["DeploymentConfig"] = {"BlueGreenUpdatePolicy": {}}
    assert compare("S", BASE, changed(config_only)).changed[0].startswith("Endpoint (AWS::SageMaker::Endpoint): "
                                                                          "DeploymentConfig added")
    rename = compare("S", BASE, changed(lambda r: r["Endpoint"]["Properties"].update(EndpointName="other")))
    assert rename.replaced[0].startswith("Endpoint (AWS::SageMaker::Endpoint), forced by EndpointName")


def test_iam_statements_bucket_policies_security_groups_and_public_access_are_reported_as_security():
    def edit(resources):
        resources["Policy"]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        resources["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] = []
        resources["Group"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = "0.0.0.0/0"
        resources["Bucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False
        resources["Role"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "Policies": [{"PolicyName": "inline", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}}]}}
    result = compare("S", BASE, changed(edit))
    assert result.security == [
        '! Bucket public access: PublicAccessBlockConfiguration {"BlockPublicAcls":true,"BlockPublicPolicy":true} '
        '-> {"BlockPublicAcls":true,"BlockPublicPolicy":false}',
        '- BucketPolicy bucket policy: Deny Principal {"AWS":"*"} Action "s3:*" '
        'Condition {"Bool":{"aws:SecureTransport":"false"}}',
        '- Group security group rule: {"CidrIp":"10.0.0.0/8","FromPort":443,"IpProtocol":"tcp","ToPort":443}',
        '+ Group security group rule: {"CidrIp":"0.0.0.0/0","FromPort":443,"IpProtocol":"tcp","ToPort":443}',
        '+ Policy policy: Allow Action "s3:*" Resource "*"',
        '+ Role inline policy inline: Allow Action "logs:PutLogEvents" Resource "*"',
        '+ Role trust policy: Allow Principal {"Service":"lambda.amazonaws.com"} Action "sts:AssumeRole"',
    ]
    text = report([result], "main", markdown=False)
    assert text.index("Security") < text.index("Added (1)") < text.index("Changed")


def test_outputs_are_compared_too():
    template = copy.deepcopy(BASE)
    template["Outputs"]["EndpointName"]["Value"] = "other"
    assert compare("S", BASE, template).other == ["Output EndpointName changed"]


def test_markdown_report_has_a_heading_per_stack_and_a_diff_block_for_security():
    def edit(resources):
        resources["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    text = report([compare("SentimentModel (default)", BASE, changed(edit))], "abc123", markdown=True)
    assert text.startswith("## Infrastructure diff against `abc123`\n")
    assert "### SentimentModel (default)" in text
    assert '```diff\n- Policy policy: Allow Action "sagemaker:InvokeEndpoint" Resource "arn:endpoint/sentiment"\n' \
           '+ Policy policy: Allow Action "sagemaker:InvokeEndpoint" Resource "*"\n```' in text
    assert "**Changed** (1)\n\n- `Policy` (AWS::IAM::Policy): PolicyDocument.Statement[0].Resource" in text


def test_a_stack_new_since_the_base_is_all_added():
    result = compare("S", None, BASE)
    assert len(result.added) == len(BASE["Resources"])


@pytest.fixture
def repo(tmp_path):
    """A git repository whose first commit holds a snapshot of BASE."""
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path,
                       check=True, capture_output=True)
    git("init", "-q", "-b", "main")
    snapshot = tmp_path / "tests" / "snapshots" / "default" / "SentimentModel.template.json"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_text(json.dumps(BASE))
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    return tmp_path


def test_old_snapshots_come_from_git_at_the_base_ref(repo):
    unchanged = infra_diff.diff_against("main", {("default", "SentimentModel"): copy.deepcopy(BASE)}, root=repo)
    assert [d.empty for d in unchanged] == [True]

    edited = changed(lambda r: r["Alarm"]["Properties"].update(Threshold=2))
    with_new_stack = {("default", "SentimentModel"): edited, ("default", "SentimentWeb"): BASE}
    diffs = infra_diff.diff_against("main", with_new_stack, root=repo)
    assert [(d.name, d.empty) for d in diffs] == [("SentimentModel (default)", False), ("SentimentWeb (default)", False)]
    assert diffs[1].added and not diffs[1].removed
    assert infra_diff.default_base(repo) == subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, text=True,
                                                           capture_output=True, check=True).stdout.strip()


def test_main_exits_0_without_changes_and_1_with_them(repo, tmp_path_factory, monkeypatch, capsys):
    monkeypatch.setattr(infra_diff, "ROOT", repo)
    current = tmp_path_factory.mktemp("current")
    (current / "default").mkdir()
    (current / "default" / "SentimentModel.template.json").write_text(json.dumps(BASE))
    assert infra_diff.main(["--templates", str(current)]) == 0
    assert "No infrastructure changes." in capsys.readouterr().out

    (current / "default" / "SentimentModel.template.json").write_text(
        json.dumps(changed(lambda r: r["Alarm"]["Properties"].update(Threshold=2))))
    assert infra_diff.main(["--templates", str(current), "--markdown", "--base", "main"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("## Infrastructure diff against `main`") and "Threshold 1 -> 2" in out


def test_an_unknown_ref_is_a_usage_error(repo, monkeypatch, capsys):
    monkeypatch.setattr(infra_diff, "ROOT", repo)
    assert infra_diff.main(["--templates", str(repo / "tests" / "snapshots"), "--base", "no-such-ref"]) == 2
    assert capsys.readouterr().err.startswith("sentiment diff: git ls-tree no-such-ref")


def test_only_the_chosen_configuration_is_compared(repo, tmp_path_factory, monkeypatch, capsys):
    """--configuration prod leaves the base's other configurations out instead of calling them removed."""
    monkeypatch.setattr(infra_diff, "ROOT", repo)
    current = tmp_path_factory.mktemp("current")
    (current / "prod").mkdir()
    (current / "prod" / "SentimentModel-prod.template.json").write_text(json.dumps(BASE))

    assert infra_diff.main(["--templates", str(current), "--base", "main", "--configuration", "prod"]) == 1
    out = capsys.readouterr().out
    assert "== SentimentModel-prod (prod)" in out and "(default)" not in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--base", "main", "--base-context", "canary=false"], "--base and --base-context each name what to compare"),
    (["--base-context", "canary"], "argument --base-context: expected KEY=VALUE, got 'canary'"),
    (["--templates", "x", "-c", "waf=true"], "--context applies to synthesized templates"),
])
def test_contradictory_or_malformed_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        infra_diff.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_context_value_is_a_one_line_error(capsys):
    assert infra_diff.main(["--configuration", "dev", "--base-context", "canary=maybe"]) == 2
    assert capsys.readouterr().err == "sentiment diff: canary must be true or false, got 'maybe'\n"


def test_turning_the_canary_on_in_prod_adds_the_rollback_alarms_and_the_deployment_config(capsys):
    """The closing example of docs/safe-rollouts.md, synthesized: prod without and with the canary."""
    assert infra_diff.main(["--configuration", "prod", "--base-context", "canary=false"]) == 1
    out = capsys.readouterr().out

    assert out.startswith("Infrastructure diff against the same configurations with canary=false\n")
    assert "== SentimentModel-prod (prod)\nAdded (2):\n  EndpointRollbackAlarmsErrors" in out
    # The endpoint waits for the alarms as well as for the scaling pause it always depends on.
    assert ('(AWS::SageMaker::Endpoint): DependsOn ["EndpointAutoscalingBeforeEndpointUpdate80DC77E6"] -> '
            '["EndpointAutoscalingBeforeEndpointUpdate80DC77E6","EndpointRollbackAlarmsErr') in out
    assert 'DeploymentConfig added ({"AutoRollbackConfiguration":{"Alarms":[{"AlarmName":"sentiment-prod-rollback' in out
    assert "Replaced" not in out and "SentimentWeb-prod" not in out
