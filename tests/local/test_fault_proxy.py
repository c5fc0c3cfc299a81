"""Fault injection through the local stack: the model server stopped, restarted while clients keep
sending, slower than the API's timeout, answering 5xx, or dropping connections. Meanwhile every
answer is a 502, 503 or 504 with a JSON error and the CORS headers; once the model server is back,
the same API process (never restarted) answers 200 again within 5 s."""
import json
import threading
import time
from dataclasses import dataclass
from typing import Self

import pytest
import requests

from sentiment.local.fault_proxy import FaultProxy
from sentiment.local.model_server import start_runtime_server
from sentiment.local.servers import free_port, spawn, stop_process, wait_for_http
from sentiment.paths import ROOT

pytestmark = pytest.mark.slow


ORIGIN = "http://site.test"
REVIEW = "A wonderful, brilliant film. I loved it; a superb, moving masterpiece."
API_READ_TIMEOUT_S = 1.0
RECOVERY_TARGET_S = 5.0
FAILURE_STATUSES = {502, 503, 504}


@dataclass
class Answer:
    started: float
    finished: float
    status: int
    headers: dict
    body: bytes


class Traffic:
    """Clients that keep sending reviews to the API, each on its own keep-alive connection, and
    record every answer with when it was asked and answered."""

    def __init__(self, api_url: str, clients: int = 4):
        self.api_url, self.clients = api_url, clients
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = session.post(f"{self.api_url}/predict", data=REVIEW.encode(), timeout=30,
                                        headers={"Content-Type": "text/plain", "Origin": ORIGIN})
                answer = Answer(started, time.monotonic(), response.status_code, dict(response.headers), response.content)
            except requests.RequestException as error:  # the API itself failed: always a test failure
                answer = Answer(started, time.monotonic(), 0, {}, repr(error).encode())
            self.answers.append(answer)
        session.close()

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(40)

    def within(self, begin: float, end: float) -> list[Answer]:
        """Answers to requests sent and answered entirely inside [begin, end]."""
        return [a for a in list(self.answers) if a.started >= begin and a.finished <= end]

    def wait_for_ok_after(self, moment: float, timeout: float) -> Answer | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = [a for a in list(self.answers) if a.started >= moment and a.status == 200]
            if ok:
                return min(ok, key=lambda a: a.finished)
            time.sleep(0.02)
        return None


def assert_failure_answers(answers: list[Answer], expected: set[int] = FAILURE_STATUSES) -> None:
    assert answers, "no request was answered during the fault"
    print(f"{len(answers)} answers during the fault: {sorted({a.status for a in answers})}")
    statuses = sorted({a.status for a in answers})
    assert all(a.status in expected for a in answers), f"statuses during the fault: {statuses}"
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        error = json.loads(answer.body)["error"]
        assert error and "Traceback" not in error


def assert_recovers(traffic: Traffic, back_at: float) -> float:
    """Seconds from the model server's return to the first 200; then every later request is 200."""
    first_ok = traffic.wait_for_ok_after(back_at, RECOVERY_TARGET_S + 2)
    assert first_ok is not None, "no 200 after the model server came back"
    recovery = first_ok.finished - back_at
    assert recovery <= RECOVERY_TARGET_S, f"recovered after {recovery:.1f} s"
    time.sleep(1.0)
    later = [a for a in list(traffic.answers) if a.started > first_ok.finished]
    assert later and all(a.status == 200 for a in later), sorted({a.status for a in later})
    print(f"recovered {recovery:.2f} s after the model server's return")  # shown with pytest -s
    return recovery


@pytest.fixture(scope="module")
def model_path(request):
    default = ROOT / "models" / "default"
    return default if (default / "model.pt").is_file() else request.getfixturevalue("tiny_model_dir")


class ModelServer:
    """The local model server in this process, stopped and restarted on the same port with the
    model kept loaded (as a container restart looks to the API, minus the load time)."""

    def __init__(self, model_path):
        self.server = start_runtime_server(model_path, progress=lambda message: None)
        self.port, self.url, self.loaded = self.server.port, self.server.url, self.server.app.loaded

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> float:
        """Starts it again; returns the moment it answers /ping."""
        self.server = start_runtime_server(port=self.port, loaded=self.loaded)
        wait_for_http(f"{self.url}/ping", 10)
        return time.monotonic()


@pytest.fixture(scope="module")
def model_server(model_path):
    server = ModelServer(model_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(model_server):
    with FaultProxy(model_server.url) as running:
        yield running


def start_api(runtime_url: str):
    """The API as its own process, as the local stack runs it, with a short read timeout."""
    port = free_port()
    process = spawn("api-server", ["--port", str(port), "--runtime-url", runtime_url, "--allowed-origin", ORIGIN,
                                     "--read-timeout", str(API_READ_TIMEOUT_S)], quiet=True)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/predict", 60, process, expect_status=None, name="the API")
    return process, url


@pytest.fixture(scope="module")
def direct_api(model_server):
    process, url = start_api(model_server.url)
    yield url
    stop_process(process)


@pytest.fixture(scope="module")
def proxied_api(proxy):
    process, url = start_api(proxy.url)
    yield url
    stop_process(process)


@pytest.fixture
def healthy(proxy):
    proxy.mode = "pass"
    yield
    proxy.mode = "pass"


def test_model_server_stopped_then_back_while_clients_keep_sending(model_server, direct_api):
    with Traffic(direct_api) as traffic:
        assert traffic.wait_for_ok_after(time.monotonic(), 10), "no 200 before the fault"
        model_server.stop()
        # A request that reached the model server's worker threads just before the stop may
        # still be answered; the fault window starts once those have drained.
        down_at = time.monotonic() + 0.25
        time.sleep(2.0)
        # The window ends when the restart begins: the server answers before restart() returns.
        restarting_at = time.monotonic()
        back_at = model_server.restart()
        during = traffic.within(down_at, restarting_at)
        assert_failure_answers(during, {503})
        assert all(b"cannot be reached" in a.body for a in during)
        assert all(a.headers.get("Retry-After") == "5" for a in during)
        assert_recovers(traffic, back_at)


def test_model_server_restarted_repeatedly_under_load(model_server, direct_api):
    """Three quick restarts: no answer is ever anything but 200 or a JSON 5xx with CORS."""
    with Traffic(direct_api, clients=6) as traffic:
        for _ in range(3):
            time.sleep(0.5)
            model_server.stop()
            time.sleep(0.3)
            back_at = model_server.restart()
        assert_recovers(traffic, back_at)
    assert {a.status for a in traffic.answers} <= {200} | FAILURE_STATUSES
    failures = [a for a in traffic.answers if a.status != 200]
    if failures:
        assert_failure_answers(failures)


@pytest.mark.parametrize("status, expected", [
    (500, {502}),   # InternalFailure: the endpoint failed
    (503, {503}),   # ServiceUnavailable
    (429, {503}),   # ThrottlingException
    (502, {502}),   # an HTML page from something in between
])
def test_model_server_answering_errors(proxy, proxied_api, healthy, status, expected):
    with Traffic(proxied_api) as traffic:
        assert traffic.wait_for_ok_after(time.monotonic(), 10), "no 200 before the fault"
        proxy.status, proxy.mode = status, "error"
        fault_at = time.monotonic()
        time.sleep(2.5)
        proxy.mode = "pass"
        back_at = time.monotonic()
        assert_failure_answers(traffic.within(fault_at, back_at), expected)
        assert_recovers(traffic, back_at)


def test_model_server_slower_than_the_timeout(proxy, proxied_api, healthy):
    with Traffic(proxied_api) as traffic:
        assert traffic.wait_for_ok_after(time.monotonic(), 10), "no 200 before the fault"
        proxy.delay_s, proxy.mode = API_READ_TIMEOUT_S + 1.5, "delay"
        fault_at = time.monotonic()
        time.sleep(4 * API_READ_TIMEOUT_S + 2)  # two timed-out attempts and the back-off between them
        proxy.mode = "pass"
        back_at = time.monotonic()
        during = traffic.within(fault_at, back_at)
        assert_failure_answers(during, {504})
        assert all(b"took too long" in a.body for a in during)
        assert_recovers(traffic, back_at)


def test_model_server_dropping_connections(proxy, proxied_api, healthy):
    with Traffic(proxied_api) as traffic:
        assert traffic.wait_for_ok_after(time.monotonic(), 10), "no 200 before the fault"
        proxy.mode = "drop"
        fault_at = time.monotonic()
        time.sleep(2.0)
        proxy.mode = "pass"
        back_at = time.monotonic()
        assert_failure_answers(traffic.within(fault_at, back_at), {503})
        assert_recovers(traffic, back_at)
