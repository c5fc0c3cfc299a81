"""An endpoint that accepts connections and never answers, behind the local API: the caller gets
the proxy's own 504 with its JSON error and CORS header after exactly the configured attempts
(SAGEMAKER_MAX_ATTEMPTS counts them all, the first included), never a hang."""
import time

import requests
from support import SilentEndpoint

from sentiment.local.api import ApiApp, lambda_environment
from sentiment.local.servers import BackgroundServer

ORIGIN = "http://site.test"


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
