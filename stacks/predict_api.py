"""`POST /predict`: API Gateway (REST) in front of the Lambda proxy in lambda/."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from sentiment.contract import API_RESOURCE
from stacks.log_groups import log_group
from stacks.nag import acknowledge

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda"
# API Gateway stops waiting for the integration after 29 s. The proxy's SageMaker client must
# give up before that, with a few seconds to spare (a cold start of the function itself, the
# answer), so the caller gets the proxy's own JSON error, and the function must outlive the
# client. SAGEMAKER_MAX_ATTEMPTS counts every attempt, the first included. Worst cases: a
# serverless endpoint's cold start can take 20 s, so there the client makes one long attempt,
# 2 + 24 = 26 s; an always-on endpoint gets two shorter ones, 2 + 10, up to 1 s of back-off,
# 2 + 10 = 25 s.
FUNCTION_TIMEOUT = Duration.seconds(30)
CLIENT_SETTINGS = {
    "serverless": {"SAGEMAKER_CONNECT_TIMEOUT_S": "2", "SAGEMAKER_READ_TIMEOUT_S": "24",
                   "SAGEMAKER_MAX_ATTEMPTS": "1"},
    "realtime": {"SAGEMAKER_CONNECT_TIMEOUT_S": "2", "SAGEMAKER_READ_TIMEOUT_S": "10",
                 "SAGEMAKER_MAX_ATTEMPTS": "2"},
}


class PredictApi(Construct):
    def __init__(self, scope: Construct, id_: str, *, api_name: str, endpoint_name: str, endpoint_arn: str,
                 endpoint_mode: str, rate_limit: int, burst_limit: int, max_review_chars: int,
                 reserved_concurrency: int | None, log_retention_days: int, stage_name: str,
                 tracing: bool = False) -> None:
        super().__init__(scope, id_)
        function_logs = log_group(self, "FunctionLogs", retention_days=log_retention_days)
        role = iam.Role(self, "FunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        function_logs.grant_write(role)
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"],
                                               resources=[endpoint_arn]))
        self.lambda_function = lambda_.Function(
            self, "Function",
            description="POST /predict: validates the review and asks the SageMaker endpoint",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(LAMBDA_DIR), exclude=["__pycache__", "*.pyc", "tests", "drift_check"]),
            handler="predict_proxy.handler",
            memory_size=256,
            timeout=FUNCTION_TIMEOUT,
            # Both a guarantee and a ceiling: past it Lambda throttles the proxy and API Gateway
            # answers 500, rather than the proxy taking the account's concurrency (1,000 by
            # default, shared by every function in the region). None: not reserved.
            reserved_concurrent_executions=reserved_concurrency,
            role=role,
            log_group=function_logs,
            # X-Ray active tracing (config key tracing): billed per trace recorded and retrieved.
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            environment={"ENDPOINT_NAME": endpoint_name, "MAX_REVIEW_CHARS": str(max_review_chars),
                         **CLIENT_SETTINGS[endpoint_mode]},
        )

        access_logs = log_group(self, "AccessLogs", retention_days=log_retention_days)
        self.rest_api = apigw.RestApi(
            self, "Api",
            rest_api_name=api_name,
            description="Sentiment of a movie review",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access logging needs the account's API Gateway CloudWatch role; in an account that
            # never set one, the stage fails to deploy without it. The role and the account
            # setting are shared by every REST API in the account and region, so both stay
            # after `cdk destroy`: deleting them would silently stop other APIs' logs.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                tracing_enabled=tracing or None,
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False),
            ),
        )
        self.predict_resource = self.rest_api.root.add_resource(API_RESOURCE.lstrip("/"))
        self.predict_method = self.predict_resource.add_method(
            "POST", apigw.LambdaIntegration(self.lambda_function, proxy=True))
        self.origin = f"https://{self.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.url = f"{self.origin}/{stage_name}"

        if tracing:
            acknowledge(role, id="AwsSolutions-IAM5[Resource::*]",
                        reason="X-Ray's PutTraceSegments and PutTelemetryRecords, which CDK grants for active "
                               "tracing, accept no resource narrower than *.")
        acknowledge(self.rest_api, id="AwsSolutions-APIG2",
                    reason="The proxy validates every body itself (text or JSON, length, encoding) and "
                           "answers 400/413/415 with a JSON error; a model schema cannot express that.")
        acknowledge(self.rest_api, id="AwsSolutions-APIG6",
                    reason="Access logs record every request; execution logs would go to log groups "
                           "API Gateway creates itself, which never expire and outlive the stack.")
        acknowledge(self.rest_api.node.find_child("CloudWatchRole"),
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                       "AmazonAPIGatewayPushToCloudWatchLogs]",
                    reason="The AWS-managed policy made for the account's API Gateway logging role; "
                           "API Gateway writes to log groups of every API in the account, so an "
                           "inline policy would need the same wildcards.")
        acknowledge(self.predict_method, id="AwsSolutions-APIG4",
                    reason="A public page calls this API anonymously; throttling (and WAF when "
                           "enabled) bound its use.")
        acknowledge(self.predict_method, id="AwsSolutions-COG4",
                    reason="Visitors are anonymous; there is no user pool to authorize against.")

    def allow_origins(self, origins: list[str]) -> None:
        """Lets browsers on these origins call the API (the first one also gets CORS headers on
        API Gateway's own errors, such as 429 when throttled)."""
        self.lambda_function.add_environment("ALLOWED_ORIGINS", ",".join(origins))
        preflight = self.predict_resource.add_cors_preflight(
            allow_origins=origins, allow_methods=["POST", "OPTIONS"],
            allow_headers=["Content-Type"], max_age=Duration.minutes(10))
        for code, response_type in (("4xx", apigw.ResponseType.DEFAULT_4_XX),
                                    ("5xx", apigw.ResponseType.DEFAULT_5_XX)):
            self.rest_api.add_gateway_response(
                f"Default{code}", type=response_type,
                response_headers={"Access-Control-Allow-Origin": f"'{origins[0]}'", "Vary": "'Origin'"})
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(preflight, id=rule, reason="CORS preflight requests carry no credentials by design.")
