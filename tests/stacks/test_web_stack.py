"""The web stack: the Lambda proxy's reach, the API's limits and CORS, the private site behind
CloudFront and its security headers, and the optional WAF."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Capture, Match
from support import assert_auto_delete_logs_expire_and_go

MODES = ["default_app", "options_app", "artifact_app"]


def resource(template, type_: str, where=lambda properties: True) -> dict:
    (found,) = [r["Properties"] for r in template.find_resources(type_).values() if where(r["Properties"])]
    return found


def proxy_function(app) -> dict:
    return resource(app.web, "AWS::Lambda::Function", lambda p: p.get("Handler") == "predict_proxy.handler")


# Lambda proxy -----------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "endpoint_name"), [("default_app", "sentiment-dev"), ("prod_app", "sentiment-prod"),
                                                      ("options_app", "sentiment-prod"),
                                                      ("artifact_app", "sentiment-dev")])
def test_proxy_may_invoke_exactly_the_one_endpoint(mode, endpoint_name, request):
    """The original proxy ran with AmazonSageMakerFullAccess; this one can call one endpoint,
    its own stage's."""
    app = request.getfixturevalue(mode)
    role_id = proxy_function(app)["Role"]["Fn::GetAtt"][0]
    (policy,) = [p["Properties"] for p in app.web.find_resources("AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    sagemaker = [s for s in policy["PolicyDocument"]["Statement"] if "sagemaker" in json.dumps(s["Action"])]

    assert sagemaker == [{
        "Action": "sagemaker:InvokeEndpoint", "Effect": "Allow",
        "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:", {"Ref": "AWS::Region"},
                                       ":", {"Ref": "AWS::AccountId"}, f":endpoint/{endpoint_name}"]]}}]


def test_proxy_role_has_no_managed_policies(default_app):
    role_id = proxy_function(default_app)["Role"]["Fn::GetAtt"][0]

    assert "ManagedPolicyArns" not in default_app.web.find_resources("AWS::IAM::Role")[role_id]["Properties"]


def test_proxy_runs_a_current_python_and_knows_its_endpoint_and_limit(default_app):
    default_app.web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler",
        "Runtime": "python3.14",
        "Environment": {"Variables": Match.object_like({"ENDPOINT_NAME": "sentiment-dev", "MAX_REVIEW_CHARS": "20000"})},
    })


API_GATEWAY_TIMEOUT_S = 29
# Kept free after the proxy's worst case: the function's own cold start counts against API
# Gateway's 29 s, and the answer must still be written and logged.
MARGIN_S = 3


def worst_case_s(settings: dict) -> float:
    """Every attempt (SAGEMAKER_MAX_ATTEMPTS counts them all, the first included) running into
    both timeouts, plus botocore's longest standard-mode back-off before each retry."""
    attempts = int(settings["SAGEMAKER_MAX_ATTEMPTS"])
    per_attempt = float(settings["SAGEMAKER_CONNECT_TIMEOUT_S"]) + float(settings["SAGEMAKER_READ_TIMEOUT_S"])
    return attempts * per_attempt + sum(min(2 ** (attempt - 1), 20) for attempt in range(1, attempts))


@pytest.mark.parametrize(("mode", "expected_s"), [("default_app", 26), ("prod_app", 25), ("options_app", 25)])
def test_proxy_gives_up_on_the_endpoint_before_api_gateway_and_the_function_do(mode, expected_s, request):
    """API Gateway waits 29 s: the proxy's client must stop first, with a margin, so the caller
    gets the proxy's JSON 504 rather than the gateway's, and the function must outlive it."""
    function = proxy_function(request.getfixturevalue(mode))
    worst_case = worst_case_s(function["Environment"]["Variables"])

    assert worst_case == expected_s
    assert worst_case + MARGIN_S <= API_GATEWAY_TIMEOUT_S
    assert worst_case + MARGIN_S <= function["Timeout"]


def test_the_worst_case_counts_every_attempt_and_the_back_off_between_them():
    settings = {"SAGEMAKER_CONNECT_TIMEOUT_S": "2", "SAGEMAKER_READ_TIMEOUT_S": "10"}

    assert worst_case_s({**settings, "SAGEMAKER_MAX_ATTEMPTS": "1"}) == 12
    assert worst_case_s({**settings, "SAGEMAKER_MAX_ATTEMPTS": "3"}) == 12 + 1 + 12 + 2 + 12


def test_proxy_waits_out_a_serverless_cold_start_in_one_long_attempt(default_app):
    settings = proxy_function(default_app)["Environment"]["Variables"]

    assert settings["SAGEMAKER_MAX_ATTEMPTS"] == "1" and float(settings["SAGEMAKER_READ_TIMEOUT_S"]) >= 20


@pytest.mark.parametrize(("mode", "reserved"), [("default_app", 10), ("prod_app", 20)])
def test_proxy_has_its_stages_reserved_concurrency(mode, reserved, request):
    """Reserved concurrency is the proxy's ceiling: a flood of requests or a hung endpoint cannot
    take the account's Lambda concurrency, shared by every function in the region."""
    request.getfixturevalue(mode).web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler", "ReservedConcurrentExecutions": reserved})


def test_proxy_reserved_concurrency_of_0_reserves_none(synth):
    """For an account whose concurrency quota leaves nothing to reserve (Lambda keeps 100 unreserved)."""
    synth(proxyReservedConcurrency=0).web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler", "ReservedConcurrentExecutions": Match.absent()})


def test_proxy_logs_are_kept_for_the_configured_days(default_app):
    log_group = proxy_function(default_app)["LoggingConfig"]["LogGroup"]["Ref"]

    assert default_app.web.find_resources("AWS::Logs::LogGroup")[log_group]["Properties"]["RetentionInDays"] == 30


# API --------------------------------------------------------------------------------------

def test_api_routes_post_predict_to_the_proxy(default_app):
    default_app.web.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "POST", "Integration": Match.object_like({"Type": "AWS_PROXY"})})
    default_app.web.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "predict"})


def test_api_throttling_is_as_configured(default_app, options_app):
    for app, rate, burst in ((default_app, 10, 20), (options_app, 7, 9)):
        app.web.has_resource_properties("AWS::ApiGateway::Stage", {"MethodSettings": [Match.object_like({
            "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst})]})


def test_api_writes_access_logs(default_app):
    default_app.web.has_resource_properties("AWS::ApiGateway::Stage", {
        "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("status")}})


def test_cors_allows_only_the_site_origin_in_prod(prod_app):
    distribution = Capture()
    prod_app.web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler",
        "Environment": {"Variables": Match.object_like({"ALLOWED_ORIGINS": {"Fn::Join": ["", [
            "https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}})}})

    assert prod_app.web.find_resources("AWS::CloudFront::Distribution").keys() == {distribution.as_string()}


def test_cors_allows_localhost_only_in_a_dev_deployment(default_app, prod_app, options_app):
    """The dev stage (dev=true) lets the local site call its API; prod does unless dev=true."""
    def allowed(app) -> str:
        return json.dumps(proxy_function(app)["Environment"]["Variables"]["ALLOWED_ORIGINS"])

    assert "localhost" not in allowed(prod_app)
    assert "http://localhost:8080,http://127.0.0.1:8080" in allowed(default_app)
    assert "http://localhost:8080,http://127.0.0.1:8080" in allowed(options_app)


def test_preflight_answers_for_the_site_origin(default_app):
    default_app.web.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "OPTIONS",
        "Integration": Match.object_like({"IntegrationResponses": [Match.object_like({"ResponseParameters": Match.object_like({
            "method.response.header.Access-Control-Allow-Origin": {"Fn::Join": ["", [
                "'https://", {"Fn::GetAtt": [Match.any_value(), "DomainName"]}, "'"]]},
            "method.response.header.Access-Control-Allow-Methods": "'POST,OPTIONS'"})})]})})


def test_api_gateway_own_errors_carry_cors_headers(default_app):
    """A throttled (429) browser request must be readable by the page, not a CORS failure."""
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        default_app.web.has_resource_properties("AWS::ApiGateway::GatewayResponse", {
            "ResponseType": response_type,
            "ResponseParameters": Match.object_like({"gatewayresponse.header.Access-Control-Allow-Origin": Match.any_value()})})


# WAF --------------------------------------------------------------------------------------

def test_waf_guards_prod_by_default_and_dev_only_when_configured(default_app, prod_app):
    """Prod is public and lasting: one address must not use up the API-wide throttle for
    everyone. Dev saves the $7 a month (docs/security.md)."""
    default_app.web.resource_count_is("AWS::WAFv2::WebACL", 0)
    prod_app.web.has_resource_properties("AWS::WAFv2::WebACL", {"Rules": Match.array_with([
        Match.object_like({"Name": "RatePerAddress", "Statement": {"RateBasedStatement": Match.object_like(
            {"AggregateKeyType": "IP", "Limit": 300})}})])})


def test_waf_limits_each_address_and_applies_aws_common_rules(options_app):
    options_app.web.has_resource_properties("AWS::WAFv2::WebACL", {
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "Rules": Match.array_with([
            Match.object_like({"Action": {"Block": Match.any_value()}, "Statement": {"RateBasedStatement": Match.object_like(
                {"AggregateKeyType": "IP", "Limit": 500})}}),
            Match.object_like({"OverrideAction": {"None": {}}, "Statement": {"ManagedRuleGroupStatement": Match.object_like(
                {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"})}}),
        ])})


def test_the_common_rules_do_not_block_a_long_review_or_one_that_quotes_markup(prod_app):
    """A review is free text up to 20,000 characters: the set's 8 KB body limit and its body
    XSS patterns only count, so such a review reaches the proxy (its own 413, the page's
    textContent) instead of a 403 that tells the visitor to reload the page."""
    prod_app.web.has_resource_properties("AWS::WAFv2::WebACL", {"Rules": Match.array_with([
        Match.object_like({"Statement": {"ManagedRuleGroupStatement": Match.object_like({
            "Name": "AWSManagedRulesCommonRuleSet",
            "RuleActionOverrides": [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}},
                                    {"Name": "CrossSiteScripting_BODY", "ActionToUse": {"Count": {}}}]})}}),
    ])})


def test_a_rate_limited_address_gets_a_429_the_page_can_read_and_show(prod_app):
    """Like the proxy's own errors: a JSON {"error": ...}, Retry-After, and the site's CORS header
    (WAF's custom response replaces API Gateway's gateway responses)."""
    acl = resource(prod_app.web, "AWS::WAFv2::WebACL")
    (rule,) = [rule for rule in acl["Rules"] if rule["Name"] == "RatePerAddress"]
    answer = rule["Action"]["Block"]["CustomResponse"]
    headers = {header["Name"]: header["Value"] for header in answer["ResponseHeaders"]}
    body = acl["CustomResponseBodies"][answer["CustomResponseBodyKey"]]

    assert answer["ResponseCode"] == 429
    assert body["ContentType"] == "APPLICATION_JSON" and "wait a few minutes" in json.loads(body["Content"])["error"]
    assert headers["Retry-After"] == "300"
    (distribution_id,) = prod_app.web.find_resources("AWS::CloudFront::Distribution")
    assert headers["Access-Control-Allow-Origin"] == {"Fn::Join": ["", [
        "https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}


def test_waf_guards_the_api_stage(options_app):
    (stage_id,) = options_app.web.find_resources("AWS::ApiGateway::Stage")
    (api_id,) = options_app.web.find_resources("AWS::ApiGateway::RestApi")
    arn = resource(options_app.web, "AWS::WAFv2::WebACLAssociation")["ResourceArn"]["Fn::Join"][1]

    assert {"Ref": api_id} in arn and {"Ref": stage_id} in arn and "::/restapis/" in json.dumps(arn)


# Website ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_site_bucket_blocks_public_access_and_non_tls_requests(mode, request):
    app = request.getfixturevalue(mode)
    app.web.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True}})
    app.web.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


@pytest.mark.parametrize("mode", MODES)
def test_site_bucket_is_readable_only_by_its_distribution(mode, request):
    app = request.getfixturevalue(mode)
    (policy,) = app.web.find_resources("AWS::S3::BucketPolicy").values()
    readers = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
               if s["Effect"] == "Allow" and "s3:GetObject" in json.dumps(s["Action"])]

    assert len(readers) == 1
    assert readers[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    source = json.dumps(readers[0]["Condition"]["StringEquals"]["AWS:SourceArn"])
    (distribution_id,) = app.web.find_resources("AWS::CloudFront::Distribution")
    assert f'":distribution/", {{"Ref": "{distribution_id}"}}' in source


def test_distribution_serves_the_page_over_https_through_origin_access_control(default_app):
    default_app.web.has_resource_properties("AWS::CloudFront::Distribution", {"DistributionConfig": Match.object_like({
        "DefaultRootObject": "index.html",
        "DefaultCacheBehavior": Match.object_like({"ViewerProtocolPolicy": "redirect-to-https"}),
        "Origins": [Match.object_like({"OriginAccessControlId": Match.any_value(),
                                       "S3OriginConfig": {"OriginAccessIdentity": ""}})]})})


def security_headers(app) -> dict:
    return resource(app.web, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]


def test_csp_runs_only_the_site_scripts_and_connects_only_to_itself_and_the_api(default_app):
    policy = security_headers(default_app)["ContentSecurityPolicy"]
    (api_id,) = default_app.web.find_resources("AWS::ApiGateway::RestApi")
    parts = policy["ContentSecurityPolicy"]["Fn::Join"][1]

    assert policy["Override"] is True
    assert "default-src 'none'; script-src 'self';" in parts[0]
    assert parts[0].endswith("connect-src 'self' https://")
    assert parts[1:6] == [{"Ref": api_id}, ".execute-api.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]
    assert "frame-ancestors 'none'" in parts[6] and "unsafe" not in json.dumps(parts)


def test_site_sends_hsts_nosniff_and_refuses_framing(default_app):
    headers = security_headers(default_app)

    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_site_gets_a_generated_config_with_the_api_url_and_is_invalidated(default_app):
    deployment = resource(default_app.web, "Custom::CDKBucketDeployment")
    (api_id,) = default_app.web.find_resources("AWS::ApiGateway::RestApi")
    (distribution_id,) = default_app.web.find_resources("AWS::CloudFront::Distribution")
    markers = json.dumps(deployment["SourceMarkers"])

    assert f'["\\"https://", {{"Ref": "{api_id}"}}, ".execute-api."' in markers and '"/dev\\""' in markers
    assert deployment["DistributionId"] == {"Ref": distribution_id}
    assert deployment["DistributionPaths"] == ["/*"]


def test_hosted_and_local_config_json_come_from_one_function(synth, fixtures_dir):
    """The deployed page and the local page read the same config.json fields, so the hosted site
    counts characters against the deployment's maxReviewChars as the local one does."""
    from sentiment.contract import site_config
    from sentiment.local.site import SiteApp

    app = synth(maxReviewChars=1234)
    (hosted,) = {path.read_text() for path in app.outdir.glob("asset.*/config.json")}
    # The API URL is a deploy-time token, which CDK writes as a marker that the deployment fills in.
    hosted = json.loads(hosted.replace("<<marker:0xbaba:0>>", '"API_URL"'))
    assert hosted == site_config("API_URL", 1234)

    local_body, _ = SiteApp("http://127.0.0.1:8081", max_review_chars=1234).files["/config.json"]
    assert json.loads(local_body) == site_config("http://127.0.0.1:8081", 1234)
    assert hosted.keys() == json.loads(local_body).keys()


def test_site_bucket_goes_with_the_stack(default_app):
    """Its content is rebuilt from website/ on each deploy; `cdk destroy` must leave nothing."""
    default_app.web.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})


def test_web_stack_outputs_site_and_api_urls(default_app):
    default_app.web.has_output("SiteUrl", {"Value": {"Fn::Join": ["", ["https://", Match.any_value()]]}})
    default_app.web.has_output("ApiUrl", {"Value": Match.any_value()})


def test_site_bucket_emptying_function_logs_expire_and_go_with_the_stack(default_app):
    assert_auto_delete_logs_expire_and_go(default_app.web)


def test_site_deployment_may_invalidate_only_its_own_distribution(default_app):
    (distribution_id,) = default_app.web.find_resources("AWS::CloudFront::Distribution")
    statements = [s for policy in default_app.web.find_resources("AWS::IAM::Policy").values()
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]
                  if "cloudfront:" in json.dumps(s["Action"])]

    assert statements == [{
        "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"], "Effect": "Allow",
        "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::",
                                       {"Ref": "AWS::AccountId"}, ":distribution/", {"Ref": distribution_id}]]}}]


# API Gateway's account-wide CloudWatch role -----------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_access_logging_stage_deploys_after_the_account_has_a_cloudwatch_role(mode, request):
    """Without an account-level role, the first stage with access logs fails to deploy:
    "CloudWatch Logs role ARN must be set in account settings to enable logging"."""
    template = request.getfixturevalue(mode).web_json["Resources"]
    (account_id,) = [key for key, r in template.items() if r["Type"] == "AWS::ApiGateway::Account"]
    role_id = template[account_id]["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template[role_id]
    stages = [r for r in template.values() if r["Type"] == "AWS::ApiGateway::Stage"]

    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert [s for s in stages if "AccessLogSetting" in s["Properties"]]
    assert all(account_id in stage.get("DependsOn", []) for stage in stages)
    # Shared by every REST API of the account and region: kept after `cdk destroy`.
    assert template[account_id]["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"


def test_tracing_is_off_unless_configured(default_app):
    """X-Ray bills every trace recorded past the free tier; a deployment opts in."""
    default_app.web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler", "TracingConfig": Match.absent()})
    default_app.web.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": Match.absent()})


def test_tracing_true_traces_the_proxy_and_the_api_stage(options_app):
    """With -c tracing=true a slow or failing request can be followed from the API through the proxy."""
    options_app.web.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "predict_proxy.handler", "TracingConfig": {"Mode": "Active"}})
    options_app.web.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})
