"""One client hoarding connections cannot lock the local API out for everyone else: each client
address may hold MAX_CONNECTIONS_PER_CLIENT connections, and a connection past that is answered
429 with a JSON error and Retry-After, then closed. Before the cap, 1,010 idle connections from
one address filled waitress's connection limit and every other client waited until waitress
closed idle connections (120 s)."""
import contextlib
import http.client
import json
import socket
import time

import pytest

from sentiment.local.api import start_api_server
from sentiment.local.servers import MAX_CONNECTIONS_PER_CLIENT, BackgroundServer

HOARDER = "127.0.0.1"
OTHER_CLIENT = "127.0.0.2"  # Linux routes all of 127.0.0.0/8 to the loopback interface
ORIGIN = "http://site.test"


def other_client_can_connect() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((OTHER_CLIENT, 0))
        except OSError:
            return False
    return True


def connection_from(source: str, port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))


def answered_and_closed(connection: socket.socket) -> bytes | None:
    """What the server sent on this connection if it has also closed it, else None."""
    connection.settimeout(2)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        return None
    return received


@pytest.fixture
def api():
    server = start_api_server(runtime_url="http://127.0.0.1:9", allowed_origins=[ORIGIN],
                              endpoint_name="local-sentiment")
    yield server
    server.stop()


@pytest.mark.skipif(not other_client_can_connect(), reason=f"{OTHER_CLIENT} is not a local address here")
def test_idle_connections_from_one_client_do_not_lock_out_another(api):
    hoard = [socket.create_connection((HOARDER, api.port), timeout=5) for _ in range(1010)]
    try:
        started = time.monotonic()
        other = connection_from(OTHER_CLIENT, api.port)
        other.request("OPTIONS", "/predict", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        response = other.getresponse()
        response.read()

        assert response.status == 204 and response.getheader("Access-Control-Allow-Origin") == ORIGIN
        assert time.monotonic() - started < 2

        # The hoarder's first connections are served; each one past the cap got its 429 at once.
        answers = [answered_and_closed(connection) for connection in hoard[MAX_CONNECTIONS_PER_CLIENT:]]
        assert all(answer is not None and answer.startswith(b"HTTP/1.1 429 ") for answer in answers)
        assert answered_and_closed(hoard[0]) is None
    finally:
        for connection in hoard:
            connection.close()


def test_a_connection_past_the_cap_gets_a_429_with_a_json_error_and_retry_after():
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    with BackgroundServer(hello, max_connections_per_client=3) as server:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
        try:
            time.sleep(0.2)  # the server accepts the three before the fourth
            over = connection_from("127.0.0.1", server.port)
            over.request("GET", "/")
            response = over.getresponse()

            assert response.status == 429
            assert response.getheader("Content-Type") == "application/json"
            assert response.getheader("Retry-After") == "5"
            assert json.loads(response.read()) == {"error": "Too many connections from your address at once "
                                                            "(the limit is 3). Close some and try again in a few "
                                                            "seconds."}
        finally:
            for connection in held:
                connection.close()

        # Once the client closes its connections, it is served again.
        deadline = time.monotonic() + 5
        while True:
            with contextlib.closing(connection_from("127.0.0.1", server.port)) as again:
                again.request("GET", "/")
                response = again.getresponse()
                answer = (response.status, response.read())
            if answer[0] == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answer == (200, b"hello")
