"""The handlers under the SageMaker inference toolkit's own request handling (issue 13, findings
6 to 9): bodies reach input_fn as bytes, every error is the documented JSON without a traceback,
Accept may be a list with q-values, and the body limit counts bytes.

The toolkit's HandlerService is driven in-process with TorchServe's own Context objects, as a
TorchServe worker drives it; `sentiment container-test` (tests/checks/) runs the whole stack."""
import json
import os

import pytest

from sentiment_model import serving

POSITIVE = "A wonderful, moving film; the cast is superb."


@pytest.fixture(scope="module")
def toolkit_service(serving_toolkit, stack_model):
    """The toolkit's handler service over the model as it would be uploaded (model.tar.gz,
    unpacked): it imports code/inference.py, calls its model_fn, which adapts the toolkit."""
    import sys

    from sagemaker_pytorch_serving_container.handler_service import HandlerService

    from sentiment.models import unpack_served_model

    model_dir, unpacked = unpack_served_model(stack_model)
    saved_path, saved_sys_path = os.environ.get("PYTHONPATH"), list(sys.path)
    sys.path.insert(0, str(model_dir / "code"))  # the container's PYTHONPATH holds the model's code/
    service = HandlerService()
    service.initialize(_context(model_dir))
    yield service, model_dir
    sys.modules.pop("inference", None)
    sys.path[:] = saved_sys_path
    unpacked.cleanup()
    if saved_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved_path


def _context(model_dir, headers=None):
    from ts.context import Context, RequestProcessor

    context = Context("model", str(model_dir), None, 1, None, "0.12.0")
    context.request_processor = [RequestProcessor(headers or {})]
    return context


def invoke(toolkit_service, body: bytes, content_type: str | None, accept: str | None = None):
    """(status, content type, body) as the worker would hand them to TorchServe's frontend."""
    service, model_dir = toolkit_service
    headers = {key: value for key, value in (("Content-Type", content_type), ("Accept", accept)) if value is not None}
    context = _context(model_dir, headers)
    [answer] = service.handle([{"body": body}], context)
    if isinstance(answer, str):
        answer = answer.encode()
    return context.get_response_status(0)[0], context.get_response_content_type(0), answer


def test_bytes_that_are_not_utf8_get_400_even_as_exactly_application_json(toolkit_service):
    """The toolkit decoded application/json and text/csv bodies before input_fn: a UnicodeDecodeError
    there was a 500, counted against the endpoint's error alarm."""
    for content_type, status in (("application/json", 400), ("text/csv", 415), ("text/plain", 400)):
        answer = invoke(toolkit_service, b'{"review": "\xff\xfe"}', content_type)
        assert answer[:2] == (status, "application/json"), (content_type, answer)


def test_errors_are_the_documented_json_without_a_traceback(toolkit_service):
    status, content_type, body = invoke(toolkit_service, b'{"review": 5}', "application/json")
    assert (status, content_type) == (400, "application/json")
    assert json.loads(body) == {"error": '"review" must be a string, got int'}
    assert b"Traceback" not in body


def test_a_failure_that_is_not_the_callers_fault_is_a_500_that_names_nothing_inside(toolkit_service, monkeypatch):
    def broken_predict(data, model):
        raise RuntimeError("tensor shapes do not match: /opt/ml/model/model.pt")

    service, _ = toolkit_service
    monkeypatch.setattr(service._service, "_predict_fn", broken_predict)
    status, content_type, body = invoke(toolkit_service, POSITIVE.encode(), "text/plain")
    assert (status, content_type) == (500, "application/json")
    assert json.loads(body) == {"error": "the model failed to process the request"}


@pytest.mark.parametrize("accept, status", [
    ("application/json, text/csv", 200),
    ("text/csv, application/json;q=0.5", 200),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200),
    ("*/*", 200),
    (None, 200),
    ("application/json;q=0", 406),
    ("application/json;q=0, */*", 406),
    ("application/*;q=0.5, application/json;q=0", 406),
    ("application/jsonlines", 200),
    ("text/csv", 406),
])
def test_accept_is_read_as_a_list_with_q_values(toolkit_service, accept, status):
    assert invoke(toolkit_service, POSITIVE.encode(), "text/plain", accept)[0] == status


def test_the_body_limit_counts_bytes_also_when_the_body_arrives_decoded(monkeypatch):
    """The toolkit used to hand JSON bodies to input_fn as str: a limit on len() counted
    characters, so 2-byte characters let twice the bytes through."""
    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    wide = json.dumps({"review": "é" * 600}, ensure_ascii=False)
    assert len(wide) < 1000 < len(wide.encode())
    with pytest.raises(serving.InferenceError) as caught:
        serving.input_fn(wide, "application/json")
    assert caught.value.status_code == 413 and "bytes" in str(caught.value)
    narrower = json.dumps({"review": "é" * 400}, ensure_ascii=False)
    assert len(narrower.encode()) < 1000
    assert serving.input_fn(narrower, "application/json").texts == ["é" * 400]


def test_the_contract_cases_limits_are_the_handlers_defaults():
    """sentiment.contract states the limits the contract cases test; code/ cannot import it."""
    from sentiment.contract import MODEL_MAX_BODY_BYTES, MODEL_MAX_REVIEW_CHARS, MODEL_MAX_REVIEWS

    defaults = serving.Limits.from_environ({})
    assert (defaults.max_body_bytes, defaults.max_review_chars, defaults.max_reviews) == (
        MODEL_MAX_BODY_BYTES, MODEL_MAX_REVIEW_CHARS, MODEL_MAX_REVIEWS)
