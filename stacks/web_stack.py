"""Serving side: the API and its proxy, the site that calls it, and the alarms on both.

API and site share a stack because each names the other: the site's Content-Security-Policy
allows the API's origin, and the API's CORS allows the site's origin. CloudFormation resolves
that within one template (the REST API's id does not depend on the distribution).
"""
from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.api_firewall import ApiFirewall
from stacks.config import DeploymentConfig
from stacks.drift_check import DriftCheck
from stacks.encryption import READ_OBJECTS, allow_key
from stacks.monitoring import Monitoring
from stacks.nag import acknowledge
from stacks.predict_api import PredictApi
from stacks.state_stack import DATA_CAPTURE_PREFIX, artifacts_bucket_name
from stacks.website import Website

# The local stack's address (scripts/sentiment/local/stack.py), for a dev page talking to the cloud API.
LOCALHOST_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")


class SentimentWebStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, config: DeploymentConfig, endpoint_name: str,
                 endpoint_arn: str, variant_name: str, encryption_key: kms.IKey | None = None,
                 **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        api = PredictApi(
            self, "PredictApi", api_name=f"SentimentPredictApi-{config.stage}",
            endpoint_name=endpoint_name, endpoint_arn=endpoint_arn, endpoint_mode=config.endpoint_mode,
            rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit,
            max_review_chars=config.max_review_chars,
            reserved_concurrency=config.proxy_reserved_concurrency or None,
            log_retention_days=config.log_retention_days,
            # The API's stage is the deployment's: dev's URL ends in /dev, prod's in /prod.
            stage_name=config.stage, tracing=config.tracing,
        )
        site = Website(self, "Website", api_url=api.url, api_origin=api.origin,
                       max_review_chars=config.max_review_chars, retention_days=config.log_retention_days)
        api.allow_origins([site.url, *(LOCALHOST_ORIGINS if config.dev else ())])
        if config.waf:
            ApiFirewall(self, "ApiFirewall", stage_arn=api.rest_api.deployment_stage.stage_arn,
                        requests_per_5_minutes=config.waf_rate_limit, allowed_origin=site.url)
        else:
            acknowledge(api.rest_api.deployment_stage, id="AwsSolutions-APIG3",
                        reason="WAF is off by configuration (waf=false); throttling still bounds use.")
        drift = None
        if config.drift_check:
            # Beside the other alarms, so the same destinations hear of drift.
            drift = DriftCheck(self, "DriftCheck", endpoint_name=endpoint_name, variant_name=variant_name,
                               bucket=s3.Bucket.from_bucket_name(self, "ArtifactsBucket",
                                                                 artifacts_bucket_name(self, config.name_prefix)),
                               capture_prefix=DATA_CAPTURE_PREFIX, profile=config.drift_profile,
                               log_retention_days=config.log_retention_days)
            if encryption_key:
                # The captured requests are encrypted under the stage's key.
                allow_key(encryption_key, drift.lambda_function, READ_OBJECTS)
        Monitoring(self, "Monitoring", endpoint_name=endpoint_name, variant_name=variant_name,
                   function=api.lambda_function, rest_api=api.rest_api, alarm_email=config.alarm_email,
                   alarm_topic_arn=config.alarm_topic_arn, drift=drift, topic_key=encryption_key)

        # Kept as attributes: the delivery pipeline hands them to its smoke test (sentiment smoke).
        self.site_url_output = CfnOutput(self, "SiteUrl", value=site.url, description="The website")
        self.api_url_output = CfnOutput(self, "ApiUrl", value=api.url, description="POST {ApiUrl}/predict")
