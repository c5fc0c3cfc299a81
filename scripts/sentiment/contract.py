"""Facts the cloud stacks and the local stack share, stated once.

The CDK stacks (stacks/) deploy these values; the local stack (sentiment.local) serves the same
ones; the tests compare both against this module. It imports neither aws_cdk nor torch, so every
side can read it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

# ---- Deployments --------------------------------------------------------------------------
STAGES = ("dev", "prod")
# Every name that must be unique in an account and region starts with this plus the stage
# (endpoint, alarms, dashboard, training jobs, the model registry), so two stages never reach
# for the same name.
NAME_PREFIX = "sentiment"

# ---- The API ------------------------------------------------------------------------------
API_RESOURCE = "/predict"          # POST {ApiUrl}/predict
# The REST API's one stage is named after the deployment's stage: dev's ApiUrl ends in /dev,
# prod's in /prod. The local API (sentiment.local) tells the proxy its stage is this one.
LOCAL_API_STAGE = "local"
# API Gateway refuses request payloads over 10 MB before the Lambda runs.
API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# The longest review the API accepts (config key maxReviewChars); longer ones get 413.
DEFAULT_MAX_REVIEW_CHARS = 20_000

# ---- The endpoint -------------------------------------------------------------------------
VARIANT_NAME = "AllTraffic"        # the endpoint's one production variant
# InvokeEndpoint refuses bodies over 6 MB before they reach the container.
INVOKE_ENDPOINT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# The inference handlers' own limits (model_code/inference.py, env MAX_BODY_BYTES,
# MAX_REVIEW_CHARS, MAX_REVIEWS_PER_REQUEST): a body's bytes, one review's characters, and the
# reviews of one request.
MODEL_MAX_BODY_BYTES = 5 * 1024 * 1024
MODEL_MAX_REVIEW_CHARS = 100_000
MODEL_MAX_REVIEWS = 10_000

# ---- The site -----------------------------------------------------------------------------
# Probabilities of "positive" in this closed band are shown as "mixed / not sure", not as a
# verdict (config key uncertainBand). On the IMDb test split, models/default puts 5.1% of the
# reviews in it and is right about 56% of the time there, against 93% outside it (docs/model.md,
# sentiment bench-explain).
UNCERTAIN_BAND = (0.4, 0.6)
HSTS_MAX_AGE_SECONDS = 730 * 24 * 3600   # two years, with subdomains
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL (what a CSP's connect-src names)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(api_origin: str) -> str:
    """Only the site's own files run and style the page; fetch may reach the site (config.json)
    and the API; nothing may frame it."""
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src 'self' {api_origin}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ])


def security_headers(api_origin: str) -> list[tuple[str, str]]:
    """The response headers every page of the site carries (CloudFront's response-headers policy
    in the cloud, the local site server on this machine)."""
    return [
        ("Content-Security-Policy", content_security_policy(api_origin)),
        ("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", FRAME_OPTIONS),
        ("Referrer-Policy", REFERRER_POLICY),
    ]


def site_config(api_url: str, max_review_chars: int) -> dict:
    """The site's config.json: where the API is, the longest review it accepts and the band of
    scores it shows as uncertain. The hosted site (stacks/website.py) and the local one serve
    exactly this."""
    if isinstance(api_url, str) and "${Token[" not in api_url:
        api_url = api_url.rstrip("/")
    return {"apiUrl": api_url, "maxReviewChars": int(max_review_chars), "uncertainBand": list(UNCERTAIN_BAND)}
