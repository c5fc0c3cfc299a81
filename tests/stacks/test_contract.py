"""Facts the cloud and the local stack share come from sentiment.contract: what the templates
deploy is what the local stack serves."""
from sentiment import contract


def resource(template, kind):
    (properties,) = [r["Properties"] for r in template.find_resources(kind).values()]
    return properties


def test_the_api_stage_is_named_after_the_deployment_s_and_the_resource_is_the_contract_s(default_app, prod_app):
    """dev's and prod's URLs say which deployment they reach (…/dev/predict, …/prod/predict)."""
    assert resource(default_app.web, "AWS::ApiGateway::Stage")["StageName"] == "dev"
    assert resource(prod_app.web, "AWS::ApiGateway::Stage")["StageName"] == "prod"
    assert resource(default_app.web, "AWS::ApiGateway::Resource")["PathPart"] == contract.API_RESOURCE.lstrip("/")


def test_the_endpoint_variant_is_the_contract_s(options_app):
    (variant,) = resource(options_app.model, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    assert variant["VariantName"] == contract.VARIANT_NAME


def test_cloudfront_sends_the_contract_s_headers(default_app):
    headers = resource(default_app.web, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == contract.HSTS_MAX_AGE_SECONDS
    assert security["FrameOptions"]["FrameOption"] == contract.FRAME_OPTIONS
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == contract.REFERRER_POLICY
    # The CSP is a join of the contract's directives around the API's deploy-time origin.
    joined = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Join"][1]
    literal = "".join(part for part in joined if isinstance(part, str))
    for directive in contract.content_security_policy("API").split("; "):
        if "API" not in directive:
            assert directive in literal, directive
