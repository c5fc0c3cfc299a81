"""An endpoint that accepts connections and never answers, behind the local API: the caller gets
the proxy's own 504 with its JSON error and CORS header after exactly the configured attempts
(SAGEMAKER_MAX_ATTEMPTS counts them all, the first included), never a hang."""
import contextlib
import socket
import threading
import time

import requests

from sentiment.local.api import ApiApp, lambda_environment
from sentiment.local.servers import BackgroundServer

ORIGIN = "http://site.test"


class SilentEndpoint:
    """Accepts every connection, reads the requests (counting them) and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests = 0
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.listener.accept()
                self.connections.append(connection)
                threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection):
        with contextlib.suppress(OSError):
            while chunk := connection.recv(65536):
                self.requests += chunk.count(b"POST /endpoints/")

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


def test_a_silent_endpoint_gets_the_configured_attempts_and_the_caller_our_504():
    endpoint = SilentEndpoint()
    environment = {**lambda_environment(endpoint.url, [ORIGIN], "local-sentiment", read_timeout_s=0.3),
                   "SAGEMAKER_CONNECT_TIMEOUT_S": "1", "SAGEMAKER_MAX_ATTEMPTS": "2"}
    try:
        with BackgroundServer(ApiApp(environment), name="api") as api:
            started = time.monotonic()
            response = requests.post(f"{api.url}/predict", data=b"A review.", timeout=10,
                                     headers={"Content-Type": "text/plain", "Origin": ORIGIN})
            elapsed = time.monotonic() - started
    finally:
        endpoint.close()

    assert endpoint.requests == 2
    assert response.status_code == 504
    assert response.json() == {"error": "The sentiment model took too long to answer. Please try again in a moment."}
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert elapsed < 8  # two 0.3 s reads and a short back-off; far below API Gateway's 29 s
