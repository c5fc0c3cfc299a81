"""AWS WAF web ACL on the API stage (prod's default, optional elsewhere): a per-address rate
limit and AWS's common rules."""
from __future__ import annotations

import json

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# A rate-limited address is blocked until its count over the last 5 minutes falls below the limit.
RATE_LIMITED_RETRY_AFTER_S = 300
RATE_LIMITED_MESSAGE = ("Too many requests from your address in the last few minutes. "
                        "Please wait a few minutes and try again.")


# Rules of AWS's common set that only count here, because a review is free text: long reviews
# exceed the set's 8 KB body limit (the proxy enforces its own, documented review length with a
# JSON 413), and a review may quote markup ("the <script> kiddie plot") that the page only ever
# shows as text and the model only reads as words.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY", "CrossSiteScripting_BODY")


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True)


class ApiFirewall(Construct):
    def __init__(self, scope: Construct, id_: str, *, stage_arn: str, requests_per_5_minutes: int,
                 allowed_origin: str) -> None:
        super().__init__(scope, id_)
        # The rate limit answers like the proxy does (a JSON error the page shows, Retry-After,
        # the site's CORS header); a custom response takes precedence over API Gateway's 403.
        rate_limited = wafv2.CfnWebACL.BlockActionProperty(custom_response=wafv2.CfnWebACL.CustomResponseProperty(
            response_code=429, custom_response_body_key="RateLimited",
            response_headers=[
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=str(RATE_LIMITED_RETRY_AFTER_S)),
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Access-Control-Allow-Origin", value=allowed_origin),
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Vary", value="Origin"),
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Cache-Control", value="no-store"),
            ]))
        self.waf_web_acl = wafv2.CfnWebACL(
            self, "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("SentimentApi"),
            custom_response_bodies={"RateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=json.dumps({"error": RATE_LIMITED_MESSAGE}))},
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerAddress",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block=rate_limited),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=requests_per_5_minutes,
                            evaluation_window_sec=300)),
                    visibility_config=_visibility("RatePerAddress"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AwsCommonRules",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesCommonRuleSet",
                            rule_action_overrides=[wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))
                                for rule in COUNTED_COMMON_RULES],
                        )),
                    visibility_config=_visibility("AwsCommonRules"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(self, "Association", resource_arn=stage_arn,
                                   web_acl_arn=self.waf_web_acl.attr_arn)
