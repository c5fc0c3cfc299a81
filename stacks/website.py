"""The static site: a private bucket, served only by CloudFront through Origin Access Control."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from sentiment.contract import (
    FRAME_OPTIONS,
    HSTS_MAX_AGE_SECONDS,
    content_security_policy,
    site_config,
)
from stacks.log_groups import auto_delete_objects_logs
from stacks.nag import acknowledge
from stacks.uploads import upload

WEBSITE_DIR = Path(__file__).resolve().parents[1] / "website"


class Website(Construct):
    def __init__(self, scope: Construct, id_: str, *, api_url: str, api_origin: str,
                 max_review_chars: int, retention_days: int) -> None:
        super().__init__(scope, id_)
        # Everything in it is rebuilt from website/ on each deploy, so it goes with the stack.
        self.s3_bucket = s3.Bucket(
            self, "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        auto_delete_objects_logs(self.s3_bucket, retention_days=retention_days)
        acknowledge(self.s3_bucket, id="AwsSolutions-S1",
                    reason="The bucket holds only the public site's files, read by CloudFront alone; "
                           "server access logs would record nothing but CloudFront's fetches.")

        headers = cloudfront.ResponseHeadersPolicy(
            self, "SecurityHeaders",
            comment="CSP (own scripts, the API), HSTS, nosniff, no framing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(api_origin), override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.seconds(HSTS_MAX_AGE_SECONDS), include_subdomains=True, override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption(FRAME_OPTIONS), override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True),
            ),
        )
        self.cloudfront_distribution = cloudfront.Distribution(
            self, "Distribution",
            comment="Sentiment of a movie review: the site",
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.s3_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
        )
        acknowledge(self.cloudfront_distribution, id="AwsSolutions-CFR1",
                    reason="A public page for anyone; there is no country to exclude.")
        acknowledge(self.cloudfront_distribution, id="AwsSolutions-CFR2",
                    reason="The site is static files; the API behind it has its own, optional WAF "
                           "web ACL (config key waf).")
        acknowledge(self.cloudfront_distribution, id="AwsSolutions-CFR3",
                    reason="Standard logs need an ACL-enabled bucket; the site serves only public "
                           "static files, and CloudFront's metrics cover traffic.")
        acknowledge(self.cloudfront_distribution, id="AwsSolutions-CFR4",
                    reason="The default *.cloudfront.net certificate cannot pin a minimum TLS "
                           "version; a custom domain would set TLSv1.2_2021.")
        self.url = f"https://{self.cloudfront_distribution.distribution_domain_name}"

        self.s3_deployment = upload(
            self, "Content",
            sources=[
                s3_deployment.Source.asset(str(WEBSITE_DIR), exclude=["*.md", "tests"]),
                s3_deployment.Source.json_data("config.json", site_config(api_url, max_review_chars)),
            ],
            destination=self.s3_bucket,
            retention_days=retention_days,
            distribution=self.cloudfront_distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
