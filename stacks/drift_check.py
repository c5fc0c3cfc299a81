"""The scheduled drift check (handler in lambda/drift_check/): once a day a function reads the
endpoint's data capture of the previous 24 hours, compares it with the profile `sentiment drift
--write-profile` wrote, and publishes the figures as metrics, with an alarm when any drifts.

The function's bundle is its handler plus the two standard-library modules it imports, copied
from the installed packages (write_bundle): the drift statistics and the model's tokenizer are the
code `sentiment drift` runs. The profile ships as an S3 asset, so a new profile deploys with the
stack, and the function may read exactly that object and the endpoint's capture prefix.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from sentiment.evaluation import drift_core
from sentiment.evaluation.drift_core import PSI_RULES_OF_THUMB, Profile, ProfileError
from stacks.log_groups import log_group
from stacks.nag import acknowledge
from stacks.packaging import packaging_dir
from stacks.sagemaker_role import nag_object_arn

HANDLER = Path(__file__).resolve().parents[1] / "lambda" / "drift_check" / "handler.py"
NAMESPACE = "Sentiment/Drift"
METRIC_NAMES = ("Records", "UnknownTokenRate", "LengthPSI", "NotEnglishShare", "ScorePSI", "Drifted")
# 00:20 UTC: the window is the previous UTC day, hour folders 00 to 23, and SageMaker has had
# twenty minutes to write the last hour's files.
DAILY = events.Schedule.cron(minute="20", hour="0")
PERIOD = Duration.days(1)


def write_bundle(destination: Path) -> Path:
    """The function's code: handler.py, and each module it imports at its package path with its
    packages' __init__.py (sentiment.evaluation.drift_core, sentiment_model.preprocessing)."""
    from sentiment_model import preprocessing

    destination = Path(destination)
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    shutil.copyfile(HANDLER, destination / "handler.py")
    for module in (drift_core, preprocessing):
        parts = module.__name__.split(".")
        source = Path(module.__file__)
        for depth in range(1, len(parts)):
            package_dir = source.parents[len(parts) - 1 - depth]
            (destination / Path(*parts[:depth])).mkdir(parents=True, exist_ok=True)
            if (package_dir / "__init__.py").is_file():
                shutil.copyfile(package_dir / "__init__.py", destination / Path(*parts[:depth]) / "__init__.py")
        shutil.copyfile(source, destination / Path(*parts).with_suffix(".py"))
    return destination


def read_profile(path: Path) -> Profile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(f"drift profile {path}: {error.strerror or error}; write one with "
                           f"sentiment drift --write-profile") from None
    return Profile.loads(text, f"drift profile {path}")


class DriftCheck(Construct):
    def __init__(self, scope: Construct, id_: str, *, endpoint_name: str, variant_name: str, bucket: s3.IBucket,
                 capture_prefix: str, profile: Path, log_retention_days: int, window_hours: int = 24,
                 schedule: events.Schedule = DAILY) -> None:
        super().__init__(scope, id_)
        self.profile = read_profile(profile)
        endpoint_prefix = f"{capture_prefix}{endpoint_name}/{variant_name}/"
        profile_asset = s3_assets.Asset(self, "Profile", path=str(profile))

        logs = log_group(self, "FunctionLogs", retention_days=log_retention_days)
        role = iam.Role(self, "FunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        logs.grant_write(role)
        role.add_to_policy(iam.PolicyStatement(
            sid="ListCaptureFiles", actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{endpoint_prefix}*"]}}))
        role.add_to_policy(iam.PolicyStatement(
            sid="ReadCaptureFiles", actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{endpoint_prefix}*")]))
        role.add_to_policy(iam.PolicyStatement(
            sid="ReadProfile", actions=["s3:GetObject"],
            resources=[profile_asset.bucket.arn_for_objects(profile_asset.s3_object_key)]))
        role.add_to_policy(iam.PolicyStatement(
            sid="PublishDriftMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}}))
        acknowledge(role, id=f"AwsSolutions-IAM5[Resource::{nag_object_arn(bucket, endpoint_prefix)}]",
                    reason="SageMaker writes one capture file per few minutes under hour folders of this "
                           "endpoint's prefix; the function reads only there.")
        acknowledge(role, id="AwsSolutions-IAM5[Resource::*]",
                    reason="cloudwatch:PutMetricData supports no resource scoping; the statement allows "
                           f"only the {NAMESPACE} namespace.")

        self.lambda_function = lambda_.Function(
            self, "Function",
            description=f"Daily drift check of {endpoint_name}'s captured traffic against its training data",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(write_bundle(packaging_dir(self) / f"drift-check-{self.node.addr}"))),
            handler="handler.handler",
            # 5,000 IMDb-sized reviews (8 MB of captures) took 1.1 s and 94 MB on one core; the
            # 32 MiB cap of long reviews fits in a few hundred MB. The rest is S3 round trips.
            memory_size=512,
            timeout=Duration.minutes(5),
            role=role,
            log_group=logs,
            environment={"ENDPOINT_NAME": endpoint_name, "CAPTURE_BUCKET": bucket.bucket_name,
                         "CAPTURE_PREFIX": endpoint_prefix, "PROFILE_BUCKET": profile_asset.s3_bucket_name,
                         "PROFILE_KEY": profile_asset.s3_object_key, "METRIC_NAMESPACE": NAMESPACE,
                         "WINDOW_HOURS": str(window_hours)},
        )
        self.events_rule = events.Rule(
            self, "Schedule", schedule=schedule, description=f"Daily drift check of {endpoint_name}",
            targets=[targets.LambdaFunction(self.lambda_function, retry_attempts=2,
                                            max_event_age=Duration.hours(2))])

        self.drift_metrics = {name: cloudwatch.Metric(
            namespace=NAMESPACE, metric_name=name, statistic="Maximum", period=PERIOD,
            dimensions_map={"EndpointName": endpoint_name}) for name in METRIC_NAMES}
        self.drifted_alarm = cloudwatch.Alarm(
            self, "Drifted", metric=self.drift_metrics["Drifted"], threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # A day too quiet to judge publishes no Drifted: the alarm keeps its state.
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description="Yesterday's captured traffic differs from the training data beyond chance "
                              "(see the drift check's log line for the figure; docs/operations.md#drift)")
        self.failed_alarm = cloudwatch.Alarm(
            self, "CheckFailed", metric=self.lambda_function.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="The drift check failed (profile or captures unreadable): no drift figures today")
        self.cloudwatch_alarms = [self.drifted_alarm, self.failed_alarm]

    def widgets(self) -> list[cloudwatch.IWidget]:
        """A dashboard row: the distributions' PSI against the rules of thumb, the two shares
        against the reference's, and the records read with the verdict."""
        metrics, reference = self.drift_metrics, self.profile.reference
        return [
            cloudwatch.GraphWidget(
                title="Drift: PSI of lengths and scores", width=8, left=[metrics["LengthPSI"], metrics["ScorePSI"]],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=value, label=label) for value, label in
                                  zip(PSI_RULES_OF_THUMB, ("moderate shift", "major shift"))]),
            cloudwatch.GraphWidget(
                title="Drift: unknown tokens and not-English share", width=8,
                left=[metrics["UnknownTokenRate"], metrics["NotEnglishShare"]],
                left_annotations=[cloudwatch.HorizontalAnnotation(
                    value=round(drift_core.unknown_rate(reference), 4), label="reference unknown-token rate")]),
            cloudwatch.GraphWidget(title="Drift: records read, drifted (0/1)", width=8,
                                   left=[metrics["Records"]], right=[metrics["Drifted"]]),
        ]
