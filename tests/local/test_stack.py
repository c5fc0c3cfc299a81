"""The local stack end to end: real HTTP through the API emulator, the Lambda handler, boto3, the
local SageMaker runtime and the inference handlers, for answers and for errors, plus the
security headers the site is served with and a clean stop on Ctrl-C."""
import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

from sentiment.local.servers import free_port, port_is_free, wait_for_http
from sentiment.local.stack import Stack

MAX_REVIEW_CHARS = 500
POSITIVE = "A wonderful, brilliant film. I loved it; a superb, moving masterpiece."


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), MAX_REVIEW_CHARS, quiet=True) as running:
        yield running


def predict(stack, body, content_type="text/plain", origin="site"):
    headers = {"Content-Type": content_type} if content_type else {}
    if origin:
        headers["Origin"] = stack.site_url if origin == "site" else origin
    return requests.post(f"{stack.api_url}/predict", data=body, headers=headers, timeout=30)


def test_a_review_is_answered_through_the_whole_path(stack):
    for body, content_type in ((POSITIVE, "text/plain"), (json.dumps({"review": POSITIVE}), "application/json")):
        response = predict(stack, body.encode(), content_type)
        assert response.status_code == 200
        answer = response.json()
        assert set(answer) == {"sentiment", "score"}
        assert answer["sentiment"] in ("positive", "negative") and 0 <= answer["score"] <= 1
        assert response.headers["Access-Control-Allow-Origin"] == stack.site_url
        assert response.headers["Content-Type"] == "application/json"


def test_an_explanation_comes_through_the_whole_path_when_asked(stack):
    review = "A wonderful, moving film.<br /><br />The ending was awful."
    response = predict(stack, json.dumps({"review": review, "explain": True}).encode(), "application/json")
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"sentiment", "score", "explanation"}
    words = answer["explanation"]["words"]
    assert all(review[word["start"]: word["end"]] == word["text"] for word in words)
    weights = {word["text"]: word["weight"] for word in words}
    assert weights["wonderful"] > 0 > weights["awful"]
    sentences = [review[s["start"]: s["end"]] for s in answer["explanation"]["sentences"]]
    assert sentences == ["A wonderful, moving film.", "The ending was awful."]
    refused = predict(stack, json.dumps({"review": review, "explain": "yes"}).encode(), "application/json")
    assert refused.status_code == 400
    assert refused.json() == {"error": 'The "explain" field must be true or false.'}


def test_unicode_and_markup_are_just_text(stack):
    review = "<script>alert(1)</script> Ünïcödé 映画 🎬 " + POSITIVE
    assert predict(stack, review.encode()).status_code == 200


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"", "text/plain", 400, "empty"),
    (b"   ", "text/plain", 400, "empty"),
    (b'{"review": ', "application/json", 400, "not valid JSON"),
    (b'{"text": "hello"}', "application/json", 400, '{"review": "..."}'),
    (b"\xff\xfe\xfa", "text/plain", 400, "UTF-8"),
    (b"x" * (MAX_REVIEW_CHARS + 1), "text/plain", 413, f"limit is {MAX_REVIEW_CHARS}"),
    (b"a,b\n1,2", "text/csv", 415, "text/plain or as application/json"),
])
def test_what_a_caller_gets_wrong_is_a_4xx_with_a_json_error_and_cors(stack, body, content_type, status, message):
    response = predict(stack, body, content_type)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert response.headers["Access-Control-Allow-Origin"] == stack.site_url


def test_preflight_lets_the_site_post_json(stack):
    response = requests.options(f"{stack.api_url}/predict", timeout=10, headers={
        "Origin": stack.site_url, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == stack.site_url
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_another_origin_cannot_read_answers(stack):
    response = predict(stack, POSITIVE.encode(), origin="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_paths_and_methods_outside_the_api_are_refused_like_api_gateway(stack):
    for response in (requests.get(f"{stack.api_url}/predict", timeout=10),
                     requests.post(f"{stack.api_url}/other", data=b"x", timeout=10)):
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["Access-Control-Allow-Origin"] == stack.site_url


@pytest.mark.parametrize("path", ["/", "/index.html", "/app.js", "/styles.css", "/config.json"])
def test_site_is_served_with_the_security_headers(stack, path):
    response = requests.get(f"{stack.site_url}{path}", timeout=10)
    assert response.status_code == 200
    csp = {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split("; ")}
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", stack.api_url]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'none'"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_site_headers_are_the_ones_cloudfront_sends(stack):
    """What is tested locally is what is deployed: the same policy as the CDK stack's."""
    from stacks.website import content_security_policy

    headers = requests.get(f"{stack.site_url}/", timeout=10).headers
    assert headers["Content-Security-Policy"] == content_security_policy(stack.api_url)
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_config_json_points_the_page_at_the_api(stack):
    config = requests.get(f"{stack.site_url}/config.json", timeout=10).json()
    assert config == {"apiUrl": stack.api_url, "maxReviewChars": MAX_REVIEW_CHARS, "uncertainBand": [0.4, 0.6]}


def test_nothing_outside_website_is_served(stack):
    for path in ("/../README.md", "/%2e%2e/README.md", "/scripts/local_site.py", "/.git/config"):
        assert requests.get(f"{stack.site_url}{path}", timeout=10).status_code == 404


def test_model_server_speaks_the_container_contract(stack):
    assert requests.get(f"{stack.model_url}/ping", timeout=10).status_code == 200
    lines = requests.post(f"{stack.model_url}/invocations", data=f'"{POSITIVE}"\n{{"review": "dull"}}\n',
                          headers={"Content-Type": "application/jsonlines"}, timeout=10)
    assert lines.status_code == 200
    assert [set(json.loads(line)) for line in lines.text.splitlines()] == [{"sentiment", "score"}] * 2
    bad = requests.post(f"{stack.model_url}/invocations", data=b"x", headers={"Content-Type": "text/csv"}, timeout=10)
    assert bad.status_code == 415 and "content type" in bad.json()["error"]


def test_model_server_speaks_the_runtime_api_to_boto3(stack):
    import boto3
    from botocore.config import Config

    client = boto3.client("sagemaker-runtime", endpoint_url=stack.model_url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local",
                          config=Config(retries={"total_max_attempts": 1}))
    answer = client.invoke_endpoint(EndpointName="local-sentiment", ContentType="application/json",
                                    Body=json.dumps({"reviews": [POSITIVE, "awful"]}))
    assert len(json.loads(answer["Body"].read())["predictions"]) == 2
    with pytest.raises(client.exceptions.ModelError) as model_error:
        client.invoke_endpoint(EndpointName="local-sentiment", ContentType="text/plain", Body=b"  ")
    assert model_error.value.response["OriginalStatusCode"] == 400
    with pytest.raises(client.exceptions.ValidationError):
        client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/plain", Body=b"fine")


@pytest.fixture
def in_process_servers(stack_model, tmp_path):
    """Model server and API in this process, for stopping one and checking the other."""
    from sentiment.local.api import start_api_server
    from sentiment.local.model_server import start_runtime_server

    saved = dict(os.environ)
    runtime = start_runtime_server(stack_model, progress=lambda message: None)
    api = start_api_server(runtime_url=runtime.url, allowed_origins=["http://site.test"],
                           endpoint_name="local-sentiment", read_timeout_s=2)
    yield runtime, api
    api.stop()
    runtime.stop()
    os.environ.clear()
    os.environ.update(saved)


def test_api_answers_503_while_the_model_server_is_down_and_recovers(in_process_servers):
    from sentiment.local.model_server import start_runtime_server

    runtime, api = in_process_servers
    post = lambda: requests.post(f"{api.url}/predict", data=POSITIVE.encode(), timeout=30,  # noqa: E731
                                 headers={"Content-Type": "text/plain", "Origin": "http://site.test"})
    assert post().status_code == 200
    runtime.stop()
    assert port_is_free(runtime.port)
    down = post()
    assert down.status_code == 503
    assert "cannot be reached" in down.json()["error"]
    assert down.headers["Access-Control-Allow-Origin"] == "http://site.test"
    restarted = start_runtime_server(port=runtime.port, loaded=runtime.app.loaded)  # the model stays loaded
    try:
        assert post().status_code == 200
    finally:
        restarted.stop()


def test_a_model_tar_gz_is_served_like_a_directory(stack_model, tmp_path):
    """An archive is served with the handlers of its own code/; one without code/ (which the
    SageMaker container could not serve either) is refused with one line saying how to build it."""
    from sentiment.local.model_server import start_runtime_server
    from sentiment.models import ModelPathError
    from sentiment.packaging import build_model_archive

    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(bare, "w:gz") as tar:
        for path in Path(stack_model).iterdir():
            tar.add(path, arcname=path.name)
    with pytest.raises(ModelPathError, match="no code/inference.py"):
        start_runtime_server(bare, progress=lambda message: None)
    archive = build_model_archive(stack_model, tmp_path / "model.tar.gz")
    server = start_runtime_server(archive, progress=lambda message: None)
    try:
        answer = requests.post(f"{server.url}/invocations", data=POSITIVE.encode(),
                               headers={"Content-Type": "text/plain"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["sentiment"] in ("positive", "negative")
    finally:
        server.stop()


def run_cli(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "sentiment", "local", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_cli_explains_itself_and_refuses_a_missing_model(tmp_path):
    assert "--model" in run_cli("--help").stdout
    missing = run_cli("--model", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no such model directory" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_prints_its_urls_and_stops_cleanly_on_ctrl_c(stack_model):
    ports = [free_port(), free_port(), free_port()]
    process = subprocess.Popen(
        [sys.executable, "-m", "sentiment", "local", "--model", str(stack_model),
         "--port", str(ports[0]), "--api-port", str(ports[1]), "--model-port", str(ports[2])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        while "press Ctrl-C to stop" not in banner and process.poll() is None:
            banner += process.stdout.readline()
        # The banner is the promise that a visitor's review gets an answer: at once, no 503.
        first = requests.post(f"http://127.0.0.1:{ports[1]}/predict", data=POSITIVE.encode(),
                              headers={"Content-Type": "text/plain"}, timeout=30)
        assert first.status_code == 200, first.text
        wait_for_http(f"http://127.0.0.1:{ports[0]}/", 10, process)
        process.send_signal(signal.SIGINT)
        output = banner + process.communicate(timeout=20)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert f"http://127.0.0.1:{ports[0]}/" in output and f"http://127.0.0.1:{ports[1]}/predict" in output
    assert "model ready" in output and "stopped" in output and "Traceback" not in output
    assert all(port_is_free(port) for port in ports)


def test_the_stack_is_ready_only_after_a_prediction_came_back_through_the_api(stack_model, monkeypatch):
    """`sentiment local` prints the site's URL when start() returns. Each server answering its own
    health check is not enough (TorchServe's /ping answers before its model is loaded, and the
    API's first call to the model can still fail): the last thing start() waits for is a 200
    for a review POSTed to the API."""
    from sentiment.local import stack as stack_module

    waited = []

    def recording_wait(url, *args, **kwargs):
        seconds = wait_for_http(url, *args, **kwargs)
        waited.append((url, kwargs.get("body"), kwargs.get("expect_status", 200)))
        return seconds

    monkeypatch.setattr(stack_module, "wait_for_http", recording_wait)
    with Stack(stack_model, free_port(), free_port(), free_port(), MAX_REVIEW_CHARS, quiet=True) as running:
        url, body, status = waited[-1]
        assert (url, status) == (f"{running.api_url}/predict", 200) and body
        assert predict(running, POSITIVE.encode()).status_code == 200


def test_concurrent_requests_batched_together_each_get_their_own_answer(stack_model):
    """The model server merges concurrent reviews into one predict_fn call; a mix-up would give
    visitors each other's results."""
    from concurrent.futures import ThreadPoolExecutor

    from sentiment.local.model_server import start_runtime_server

    words = ["wonderful", "awful", "brilliant", "boring", "superb", "terrible", "loved", "hated"]
    reviews = [f"{' '.join(words[i % 8:i % 8 + 1 + i % 3])} film number {i}" + " plot" * (i % 13) for i in range(48)]
    server = start_runtime_server(stack_model, progress=lambda message: None)
    try:
        def score(review):
            answer = requests.post(f"{server.url}/invocations", data=review.encode(),
                                   headers={"Content-Type": "text/plain"}, timeout=30)
            return answer.json()["score"]

        one_at_a_time = [score(review) for review in reviews]
        calls_before = server.app.batcher.calls
        with ThreadPoolExecutor(16) as pool:
            together = list(pool.map(score, reviews))
        calls = server.app.batcher.calls - calls_before
    finally:
        server.stop()
    assert calls < len(reviews), "no two requests were scored together"
    assert len(set(one_at_a_time)) > 1
    assert together == pytest.approx(one_at_a_time, abs=1e-5)


def test_explained_requests_are_merged_only_with_explained_ones_and_keep_their_own_answer(stack_model):
    """Explained requests share gradient passes (the site asks for an explanation on every submit,
    so one at a time would cap its throughput), but an explanation belongs to one review: each
    explained answer describes its own review, as it does when sent alone, and no plain answer
    carries one."""
    from concurrent.futures import ThreadPoolExecutor

    from sentiment.local.model_server import start_runtime_server

    reviews = [f"{word} film number {i}" + ". The plot" * (i % 5) for i, word in
               enumerate(["wonderful", "awful", "superb", "boring"] * 8)]
    server = start_runtime_server(stack_model, progress=lambda message: None)
    try:
        def ask(index):
            request = {"review": reviews[index], "explain": index % 2 == 0}
            answer = requests.post(f"{server.url}/invocations", data=json.dumps(request).encode(),
                                   headers={"Content-Type": "application/json"}, timeout=30)
            return answer.json()

        alone = [ask(index) for index in range(len(reviews))]
        calls_before = server.app.batcher.calls
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(len(reviews))))
        calls = server.app.batcher.calls - calls_before
    finally:
        server.stop()
    assert calls < len(reviews), "no two requests were scored together"
    for index, (answer, lone) in enumerate(zip(answers, alone)):
        assert answer["score"] == pytest.approx(lone["score"], abs=1e-5)
        if index % 2:
            assert "explanation" not in answer
            continue
        assert " ".join(word["text"] for word in answer["explanation"]["words"]) == reviews[index].replace(".", "")
        assert [w["weight"] for w in answer["explanation"]["words"]] == pytest.approx(
            [w["weight"] for w in lone["explanation"]["words"]], abs=2e-4)
        assert [(s["start"], s["end"]) for s in answer["explanation"]["sentences"]] == [
            (s["start"], s["end"]) for s in lone["explanation"]["sentences"]]
