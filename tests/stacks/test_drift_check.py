"""The scheduled drift check (stacks/drift_check.py), built alone in a bare stack with a bucket: a
daily rule runs a Python function that may list and read only the endpoint's capture prefix and
its profile, publish only to its namespace, and whose Drifted metric raises an alarm."""
from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Stack, Validations  # noqa: E402
from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402
from aws_cdk.assertions import Capture, Match, Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from sentiment.evaluation.drift_core import Profile, ProfileError, ReviewFigures, summarize  # noqa: E402
from stacks.config import ConfigError, DeploymentConfig  # noqa: E402
from stacks.drift_check import NAMESPACE, DriftCheck, write_bundle  # noqa: E402

ENDPOINT = "sentiment-dev"
CAPTURE_PREFIX = f"data-capture/{ENDPOINT}/AllTraffic/"
BUCKET = "sentiment-dev-artifacts-111111111111-eu-west-1"


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory):
    reference = [ReviewFigures(40 + i % 60, i % 3, False, (i % 10) / 10) for i in range(200)]
    chances = {50: {"unknown_token_rate": 0.004, "length": 0.2, "not_english": 0.0, "score": 0.2},
               100: {"unknown_token_rate": 0.003, "length": 0.12, "not_english": 0.0, "score": 0.12}}
    profile = Profile({"mode": "default", "vocab_size": 30000, "max_tokens": 400, "truncation": "head_tail",
                       "stem": False, "stopwords": []}, ("the", "film", "good"), summarize(reference), chances)
    path = tmp_path_factory.mktemp("profile") / "profile.json"
    path.write_text(profile.dumps(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(profile_file, tmp_path_factory):
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = Stack(app, "DriftCheckTest")
    # The state stack's bucket, imported by name as the model stack does.
    bucket = s3.Bucket.from_bucket_name(stack, "Artifacts", BUCKET)
    check = DriftCheck(stack, "DriftCheck", endpoint_name=ENDPOINT, variant_name="AllTraffic", bucket=bucket,
                       capture_prefix="data-capture/", profile=profile_file, log_retention_days=30)
    cloudwatch.Dashboard(stack, "Dashboard").add_widgets(*check.widgets())
    app.synth()
    return app, stack, check, Template.from_stack(stack)


def policy_statements(template) -> list[dict]:
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_a_daily_rule_runs_the_python_function_with_the_window_and_where_to_read(built):
    """The function runs once a day, on the project's Python runtime, and is told the endpoint's
    own capture prefix (endpoint/variant/, as SageMaker lays it out), the profile and the namespace."""
    _, _, _, template = built
    function_arn = Capture()
    template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "cron(20 0 * * ? *)",
        "State": "ENABLED",
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [function_arn, "Arn"]},
                                       "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 7200}})],
    })
    function = template.to_json()["Resources"][function_arn.as_string()]
    assert function["Type"] == "AWS::Lambda::Function"
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.14" and properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler" and properties["Timeout"] == 300
    environment = properties["Environment"]["Variables"]
    assert environment["ENDPOINT_NAME"] == ENDPOINT and environment["CAPTURE_PREFIX"] == CAPTURE_PREFIX
    assert environment["METRIC_NAMESPACE"] == NAMESPACE == "Sentiment/Drift"
    assert environment["WINDOW_HOURS"] == "24" and environment["PROFILE_KEY"].endswith(".json")
    assert environment["CAPTURE_BUCKET"] == BUCKET


def test_the_function_may_read_only_the_capture_prefix_and_the_profile(built):
    """Least privilege: list and read under this endpoint's capture prefix, read the one profile
    object, and nothing else of S3."""
    _, _, _, template = built
    statements = policy_statements(template)
    by_sid = {statement.get("Sid"): statement for statement in statements}
    assert by_sid["ListCaptureFiles"]["Action"] == "s3:ListBucket"
    assert by_sid["ListCaptureFiles"]["Condition"] == {"StringLike": {"s3:prefix": [f"{CAPTURE_PREFIX}*"]}}
    assert by_sid["ReadCaptureFiles"]["Action"] == "s3:GetObject"
    assert json.dumps(by_sid["ReadCaptureFiles"]["Resource"]).endswith(f':s3:::{BUCKET}/{CAPTURE_PREFIX}*"]]}}')
    profile_object = json.dumps(by_sid["ReadProfile"]["Resource"])
    assert by_sid["ReadProfile"]["Action"] == "s3:GetObject" and "*" not in profile_object
    assert profile_object.endswith('.json"]]}')
    actions = {action for statement in statements for action in
               ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    assert actions == {"s3:ListBucket", "s3:GetObject", "cloudwatch:PutMetricData",
                       "logs:CreateLogStream", "logs:PutLogEvents"}


def test_metrics_may_go_only_to_the_drift_namespace(built):
    """cloudwatch:PutMetricData takes no resource: the namespace condition is the limit."""
    _, _, _, template = built
    (statement,) = [s for s in policy_statements(template) if s["Action"] == "cloudwatch:PutMetricData"]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Sentiment/Drift"}}


def test_a_drifted_day_raises_the_alarm_and_a_quiet_day_keeps_its_state(built):
    """Drifted >= 1 over the daily period alarms; a day with too few records publishes no
    Drifted, which must neither clear nor raise the alarm."""
    _, _, _, template = built
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "Sentiment/Drift", "MetricName": "Drifted",
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
        "Statistic": "Maximum", "Period": 86400, "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "ignore",
    })


def test_a_failed_check_alarms_too(built):
    """A check that cannot run (profile or captures unreadable) must not look like a quiet day."""
    _, _, _, template = built
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "AWS/Lambda", "MetricName": "Errors", "Period": 86400, "Statistic": "Sum", "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
    })


def test_function_logs_expire_and_go_with_the_stack(built):
    _, _, _, template = built
    template.has_resource("AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Delete"})


def test_the_alarms_and_metrics_are_exposed_for_the_dashboard(built):
    """The service dashboard shows a drift row from widgets(): every published metric, by endpoint."""
    _, _, check, template = built
    assert check.cloudwatch_alarms == [check.drifted_alarm, check.failed_alarm]
    assert set(check.drift_metrics) == {"Records", "UnknownTokenRate", "LengthPSI", "NotEnglishShare", "ScorePSI",
                                        "Drifted"}
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for name in check.drift_metrics:
        assert f'\\"{name}\\"' in body
    assert body.count("Sentiment/Drift") >= 3 and ENDPOINT in body


def test_no_unacknowledged_cdk_nag_finding(built):
    app, _, _, _ = built
    report_file = app.outdir and os.path.join(app.outdir, "validation-report.json")
    report = json.loads(open(report_file).read()) if os.path.exists(report_file) else {"pluginReports": []}
    findings = [(violation["ruleName"], construct["constructPath"])
                for plugin in report["pluginReports"] for violation in plugin["violations"]
                for construct in violation["violatingConstructs"]
                if construct["constructPath"].startswith("DriftCheckTest/DriftCheck/")]
    assert findings == []


def test_the_bundle_is_the_handler_and_the_two_modules_it_imports(tmp_path):
    """What ships: no model, no torch, only the shared statistics and the model's tokenizer."""
    bundle = write_bundle(tmp_path / "bundle")
    shipped = sorted(path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file())
    assert shipped == ["handler.py", "sentiment/__init__.py", "sentiment/evaluation/drift_core.py",
                       "sentiment_model/__init__.py", "sentiment_model/preprocessing.py"]


def test_a_missing_or_foreign_profile_fails_synthesis_in_one_line(tmp_path):
    stack = Stack(App(outdir=str(tmp_path / "out")), "Bare")
    bucket = s3.Bucket.from_bucket_name(stack, "Artifacts", BUCKET)
    with pytest.raises(ProfileError, match="write one with sentiment drift --write-profile"):
        DriftCheck(stack, "Missing", endpoint_name=ENDPOINT, variant_name="AllTraffic", bucket=bucket,
                   capture_prefix="data-capture/", profile=tmp_path / "absent.json", log_retention_days=30)
    (tmp_path / "other.json").write_text('{"format": 0}')
    with pytest.raises(ProfileError, match="not a drift profile") as error:
        DriftCheck(stack, "Foreign", endpoint_name=ENDPOINT, variant_name="AllTraffic", bucket=bucket,
                   capture_prefix="data-capture/", profile=tmp_path / "other.json", log_retention_days=30)
    assert "\n" not in str(error.value)


# Wired into the stage ----------------------------------------------------------------------

def test_driftcheck_runs_in_the_web_stack_beside_the_other_alarms_and_on_the_dashboard(synth, profile_file):
    """With data capture on, driftCheck adds the daily function, its alarms go to the stage's
    alarm destinations like every other alarm, and the service dashboard gets its row."""
    app = synth(stage="prod", alarmTopicArn="arn:aws:sns:eu-west-1:123456789012:on-call", endpointMode="realtime",
                dataCapture="true", driftCheck="true", driftProfile=str(profile_file))
    web = app.web_json["Resources"]
    alarms = [r["Properties"] for r in web.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    drifted = [a for a in alarms if a.get("Namespace") == NAMESPACE and a.get("MetricName") == "Drifted"]
    (dashboard,) = [r["Properties"] for r in web.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]

    assert len(drifted) == 1 and drifted[0]["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:on-call"]
    assert NAMESPACE in json.dumps(dashboard["DashboardBody"])
    assert any(r["Type"] == "AWS::Events::Rule" for r in web.values())


def test_without_driftcheck_nothing_of_it_is_deployed(synth):
    app = synth(stage="prod", alarmTopicArn="arn:aws:sns:eu-west-1:123456789012:on-call", endpointMode="realtime",
                dataCapture="true")
    assert NAMESPACE not in json.dumps(app.web_json)


def test_driftcheck_needs_data_capture_and_a_profile(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="^driftCheck needs dataCapture=true"):
        DeploymentConfig.from_context({"driftCheck": "true", "trainingData": str(tmp_path)}.get)
    with pytest.raises(ConfigError, match="^driftProfile: drift profile .*sentiment drift --write-profile"):
        DeploymentConfig.from_context({"driftCheck": "true", "dataCapture": "true", "endpointMode": "realtime",
                                       "driftProfile": str(tmp_path / "absent.json"),
                                       "trainingData": str(tmp_path)}.get)
