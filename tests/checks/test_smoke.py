"""The post-deploy smoke test, run against the local stack the way it runs against CloudFront and
API Gateway: every check passes on a working deployment, and each broken part is named in one line."""
import json
import subprocess
import sys

import pytest

from sentiment.checks import smoke as smoke_test
from sentiment.local.servers import free_port
from sentiment.local.stack import Stack


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), quiet=True) as running:
        yield running


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sentiment", "smoke", *args],
                          check=False, capture_output=True, text=True, timeout=120)


def test_a_working_deployment_passes_every_check(stack, tmp_path):
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({"SentimentModel": {"EndpointName": "local-sentiment"},
                                   "SentimentWeb": {"SiteUrl": stack.site_url, "ApiUrl": stack.api_url + "/"}}))
    result = run_cli("--stack-outputs", str(outputs))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:6]] == ["ok"] * 6
    assert "positive (score" in lines[2] and "negative (score" in lines[3]
    assert "words weighed, 2 sentences scored" in lines[4] and "400: " in lines[5]
    assert lines[-1] == "all 6 checks passed"


def test_an_api_other_than_the_one_the_site_calls_fails_the_config_check(stack):
    """A site deployed against a stale API: the page would call the wrong place."""
    other = Stack(stack.model, free_port(), free_port(), free_port(), quiet=True)
    with other:
        failures = smoke_test.SmokeTest(stack.site_url, other.api_url).run(out=lambda line: None)
    assert any(f.startswith("FAIL  site config") and f"expected '{other.api_url}'" in f for f in failures)
    assert any(f.startswith("FAIL  site page") and "Content-Security-Policy" in f for f in failures)
    assert any(f.startswith("FAIL  API positive") and "Access-Control-Allow-Origin" in f for f in failures)


def test_a_site_url_that_serves_something_else_fails_with_one_line_per_check(stack):
    result = run_cli("--site-url", stack.api_url, "--api-url", stack.api_url, "--attempts", "1")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed[0] == f"FAIL  site page    GET {stack.api_url}/: HTTP 403, expected 200"
    assert failed[1].startswith("FAIL  site config") and "HTTP 403" in failed[1]
    assert result.stdout.splitlines()[-1].endswith("of 6 checks passed")


def test_nothing_listening_fails_every_check_without_a_traceback():
    site, api = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    result = run_cli("--site-url", site, "--api-url", api, "--attempts", "1", "--timeout", "5")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[:6]] == ["FAIL"] * 6
    assert "no answer (ConnectionError)" in result.stdout


class FakeResponse:
    def __init__(self, status, body, headers=None):
        self.status_code, self.text = status, json.dumps(body)
        self.headers = headers or {}

    def json(self):
        return json.loads(self.text)


class FakeSession:
    def __init__(self, responses):
        self.responses, self.posts = list(responses), 0

    def post(self, url, **kwargs):
        self.posts += 1
        return self.responses.pop(0)


def test_a_wrong_sentiment_is_reported_with_its_score():
    session = FakeSession([FakeResponse(200, {"sentiment": "negative", "score": 0.31},
                                        {"Access-Control-Allow-Origin": "https://site.example"})])
    check = smoke_test.SmokeTest("https://site.example", "https://api.example/prod", session=session)
    with pytest.raises(smoke_test.CheckFailed, match="a clearly positive review came back negative"):
        check.api_sentiment(smoke_test.POSITIVE, "positive")


def test_a_cold_endpoint_is_given_more_tries():
    """A serverless endpoint's first answer can be a 504 from the API while the model loads."""
    cors = {"Access-Control-Allow-Origin": "https://site.example"}
    session = FakeSession([FakeResponse(504, {"error": "took too long"}, cors),
                           FakeResponse(200, {"sentiment": "positive", "score": 0.97}, cors)])
    check = smoke_test.SmokeTest("https://site.example", "https://api.example/prod", retry_wait=0, session=session)
    assert check.api_sentiment(smoke_test.POSITIVE, "positive") == "positive (score 0.970)"
    assert session.posts == 2


def test_an_api_that_drops_the_explanation_fails_the_explain_check():
    """A Lambda older than the page: the site would show no highlights."""
    session = FakeSession([FakeResponse(200, {"sentiment": "positive", "score": 0.6})])
    check = smoke_test.SmokeTest("https://site.example", "https://api.example/prod", session=session)
    with pytest.raises(smoke_test.CheckFailed, match="no explanation"):
        check.api_explain()


@pytest.mark.parametrize("args, message", [
    ([], "pass --stack-outputs cdk-outputs.json, or --site-url and --api-url"),
    (["--stack-outputs", "/nonexistent/cdk-outputs.json"], "not found (write it with `cdk deploy"),
    (["--site-url", "site.example", "--api-url", "https://api.example"], "must start with http"),
])
def test_missing_urls_are_one_line_and_exit_code_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_an_outputs_file_without_the_web_stack_names_the_missing_output(tmp_path):
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({"SentimentModel": {"EndpointName": "sentiment"}}))
    result = run_cli("--stack-outputs", str(outputs))
    assert result.returncode == 2 and "no SiteUrl output" in result.stderr
