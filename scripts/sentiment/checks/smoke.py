#!/usr/bin/env python3
"""Check a deployment from the outside, the way a visitor's browser uses it:

    site page     GET SITE/ is the review page (HTML with the review form)
    site config   GET SITE/config.json names the API the page must call (apiUrl == API)
    API positive  POST API/predict, a clearly positive review -> 200, "positive" (and the
                  site's origin may read the answer: CORS)
    API negative  POST API/predict, a clearly negative review -> 200, "negative"
    API explain   POST API/predict {"review": ..., "explain": true}, two sentences -> 200 with an
                  explanation: words that are the review's own characters, two sentences
    API empty     POST API/predict, an empty review -> 400 with a JSON error

Prints one line per check; exits 1 if any fails (each failure says what was expected and what
came back), 2 if the URLs are missing or the outputs file cannot be read.

    sentiment smoke --stack-outputs cdk-outputs.json     # after cdk deploy --outputs-file
    sentiment smoke --site-url http://127.0.0.1:8080 --api-url http://127.0.0.1:8081
"""
from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import urlsplit

from sentiment.infra.stack_outputs import StackOutputsError, read_stack_outputs, require

POSITIVE = "A wonderful, brilliant film. I loved it; a superb, moving masterpiece with great acting."
NEGATIVE = "An awful, boring mess. I hated it: the worst, most dull waste of two hours."
TWO_SENTENCES = "A wonderful, moving film. The ending was awful."
PAGE_MARKER = 'id="review-form"'
# A serverless endpoint's cold start can outlast the API's first answer (503/504): try again.
RETRY_STATUSES = (502, 503, 504)


class CheckFailed(Exception):
    """One check's failure, as one line."""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def describe_body(response) -> str:
    text = " ".join(response.text.split())
    return text[:120] + ("..." if len(text) > 120 else "")


class SmokeTest:
    def __init__(self, site_url: str, api_url: str, timeout: float = 30, attempts: int = 3,
                 retry_wait: float = 5, session=None) -> None:
        import requests

        self.site_url, self.api_url = site_url.rstrip("/"), api_url.rstrip("/")
        self.timeout, self.attempts, self.retry_wait = timeout, attempts, retry_wait
        self.session = session or requests.Session()

    # -- requests ---------------------------------------------------------------------------

    def get(self, url: str):
        import requests

        try:
            return self.session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            raise CheckFailed(f"GET {url}: no answer ({type(error).__name__})") from None

    def predict(self, review: str, explain: bool = False):
        import requests

        url = f"{self.api_url}/predict"
        body = {"review": review, "explain": True} if explain else {"review": review}
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(url, json=body, timeout=self.timeout,
                                             headers={"Origin": origin_of(self.site_url)})
            except requests.RequestException as error:
                raise CheckFailed(f"POST {url}: no answer ({type(error).__name__})") from None
            if response.status_code not in RETRY_STATUSES or attempt == self.attempts:
                return response
            time.sleep(self.retry_wait)
        raise AssertionError("unreachable")

    # -- checks -----------------------------------------------------------------------------

    def site_page(self) -> str:
        response = self.get(f"{self.site_url}/")
        if response.status_code != 200:
            raise CheckFailed(f"GET {self.site_url}/: HTTP {response.status_code}, expected 200")
        if "text/html" not in response.headers.get("Content-Type", ""):
            raise CheckFailed(f"GET {self.site_url}/: Content-Type {response.headers.get('Content-Type')!r}, "
                              "expected text/html")
        if PAGE_MARKER not in response.text:
            raise CheckFailed(f"GET {self.site_url}/: not the review page (no {PAGE_MARKER})")
        policy = response.headers.get("Content-Security-Policy")
        if policy:
            directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
            if origin_of(self.api_url) not in directives.get("connect-src", []):
                raise CheckFailed(f"GET {self.site_url}/: the Content-Security-Policy does not let the page "
                                  f"call {origin_of(self.api_url)} (connect-src {' '.join(directives.get('connect-src', []))})")
        return "serves the review page"

    def site_config(self) -> str:
        url = f"{self.site_url}/config.json"
        response = self.get(url)
        if response.status_code != 200:
            raise CheckFailed(f"GET {url}: HTTP {response.status_code}, expected 200")
        try:
            api_url = response.json()["apiUrl"]
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"GET {url}: expected JSON with apiUrl, got: {describe_body(response)}") from None
        if not isinstance(api_url, str) or not same_url(api_url, self.api_url):
            raise CheckFailed(f"GET {url}: apiUrl is {api_url!r}, expected {self.api_url!r}")
        return f"apiUrl is {api_url}"

    def api_sentiment(self, review: str, expected: str) -> str:
        response = self.predict(review)
        if response.status_code != 200:
            raise CheckFailed(f"POST {self.api_url}/predict ({expected} review): HTTP {response.status_code}, "
                              f"expected 200: {describe_body(response)}")
        try:
            answer = response.json()
            sentiment, score = answer["sentiment"], float(answer["score"])
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"POST {self.api_url}/predict ({expected} review): not a prediction: "
                              f"{describe_body(response)}") from None
        if sentiment != expected:
            raise CheckFailed(f"POST {self.api_url}/predict: a clearly {expected} review came back {sentiment} "
                              f"(score {score:.3f})")
        allowed = response.headers.get("Access-Control-Allow-Origin")
        if allowed != origin_of(self.site_url):
            raise CheckFailed(f"POST {self.api_url}/predict: the site's origin {origin_of(self.site_url)} may not "
                              f"read the answer (Access-Control-Allow-Origin: {allowed})")
        return f"{sentiment} (score {score:.3f})"

    def api_explain(self) -> str:
        review = TWO_SENTENCES
        response = self.predict(review, explain=True)
        where = f"POST {self.api_url}/predict (explain)"
        if response.status_code != 200:
            raise CheckFailed(f"{where}: HTTP {response.status_code}, expected 200: {describe_body(response)}")
        try:
            explanation = response.json()["explanation"]
            words, sentences = explanation["words"], explanation["sentences"]
            shown = [review[word["start"]: word["end"]] == word["text"] for word in words]
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"{where}: no explanation: {describe_body(response)}") from None
        if not words or not all(shown):
            raise CheckFailed(f"{where}: the words are not the review's own: {describe_body(response)}")
        if len(sentences) != 2:
            raise CheckFailed(f"{where}: {len(sentences)} sentences, expected 2: {describe_body(response)}")
        return f"{len(words)} words weighed, 2 sentences scored"

    def api_empty(self) -> str:
        response = self.predict("")
        if response.status_code != 400:
            raise CheckFailed(f"POST {self.api_url}/predict (empty review): HTTP {response.status_code}, expected 400")
        try:
            message = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"POST {self.api_url}/predict (empty review): 400 without a JSON error: "
                              f"{describe_body(response)}") from None
        return f"400: {message}"

    def checks(self):
        return [("site page", self.site_page), ("site config", self.site_config),
                ("API positive", lambda: self.api_sentiment(POSITIVE, "positive")),
                ("API negative", lambda: self.api_sentiment(NEGATIVE, "negative")),
                ("API explain", self.api_explain), ("API empty", self.api_empty)]

    def run(self, out=print) -> list[str]:
        """Runs every check; returns the failure lines (empty when all pass)."""
        failures = []
        for name, check in self.checks():
            try:
                out(f"ok    {name:13s}{check()}")
            except CheckFailed as error:
                failures.append(f"FAIL  {name:13s}{error}")
                out(failures[-1])
        return failures


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-outputs", help="cdk deploy --outputs-file JSON (SiteUrl and ApiUrl)")
    parser.add_argument("--site-url", help="the website's URL (overrides SiteUrl)")
    parser.add_argument("--api-url", help="the API's base URL, without /predict (overrides ApiUrl)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for one answer (default: 30)")
    parser.add_argument("--attempts", type=int, default=3,
                        help="tries for a prediction answered 502/503/504, e.g. while the endpoint starts (default: 3)")
    return parser.parse_args(argv)


def resolve_urls(args: argparse.Namespace) -> tuple[str, str]:
    outputs = read_stack_outputs(args.stack_outputs) if args.stack_outputs else {}
    site = args.site_url or (require(outputs, "SiteUrl", args.stack_outputs) if outputs else None)
    api = args.api_url or (require(outputs, "ApiUrl", args.stack_outputs) if outputs else None)
    if not site or not api:
        raise StackOutputsError("pass --stack-outputs cdk-outputs.json, or --site-url and --api-url")
    for url in (site, api):
        if not url.startswith(("http://", "https://")):
            raise StackOutputsError(f"{url}: a URL must start with http:// or https://")
    return site, api


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        site, api = resolve_urls(args)
    except StackOutputsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    smoke = SmokeTest(site, api, args.timeout, max(1, args.attempts))
    failures = smoke.run()
    count = len(smoke.checks())
    print(f"{count - len(failures)} of {count} checks passed" if failures else f"all {count} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
