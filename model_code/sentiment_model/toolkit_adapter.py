"""The SageMaker inference toolkit around the handlers, adjusted where its own request handling
breaks the endpoint's documented contract (bad input gets a 4xx and {"error": "..."}).

Measured with the real toolkit of the PyTorch 2.6 inference image (sagemaker-pytorch-inference
2.0.25, which bundles sagemaker_inference, on TorchServe 0.12.0; `sentiment container-test`):

- Its Transformer decodes a body as UTF-8 before input_fn runs when the Content-Type is exactly
  application/json or text/csv, so bytes that are not UTF-8 failed there and were answered 500.
  With its list of such types emptied, every body reaches input_fn as bytes, and input_fn says
  what was wrong (400, or 415 for a type it does not read).
- Its error answer is the message followed by a Python traceback, with no content type. Here it
  is the documented JSON body, as the local model server sends it; a 5xx says only that the
  model failed, and the traceback goes to the log, never to the caller.

Neither can be changed from the handlers themselves: the decoding happens before input_fn, and
transform_fn (which could set statuses) cannot be combined with input_fn/predict_fn/output_fn.
So adapt_calling_toolkit() adjusts the toolkit's module in the worker process, from the entry
script's model_fn, which only the toolkit calls there. Importing this module changes nothing, and
in a process that has not loaded the toolkit (the local model server, tests, scoring scripts) the
function changes nothing either.
"""
from __future__ import annotations

import json
import logging
import sys
from http import HTTPStatus

ERROR_CONTENT_TYPE = "application/json"
# What a caller learns about a failure that is not its request's fault.
MODEL_FAILURE_MESSAGE = "the model failed to process the request"

logger = logging.getLogger(__name__)


def error_answer(status: int, message: str) -> bytes:
    """The body of every error answer, from the container and from the local model server."""
    return json.dumps({"error": message if status < 500 else MODEL_FAILURE_MESSAGE}).encode()


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def request_error_status(error) -> int | None:
    """The HTTP status an exception raised by the handlers asks for (InferenceError's), if any."""
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else None


def _answer_error(context, inference_exception, trace: str) -> list[bytes]:
    """Transformer.handle_error's replacement: same status, documented body, trace only logged.

    The toolkit calls it inside its `except` block, after wrapping any exception that is not its
    own error type in a 500; sys.exc_info() still holds the handlers' original exception, whose
    status_code (an InferenceError's 400, 413, 415 ...) is the one to answer with."""
    original = sys.exc_info()[1]
    status, message = int(inference_exception.status_code), str(inference_exception.message)
    if original is not inference_exception and request_error_status(original) is not None:
        status, message = request_error_status(original), str(getattr(original, "message", original))
    if status >= 500:
        logger.error("inference failed (%s): %s\n%s", status, message, trace)
    else:
        logger.info("request refused (%s): %s", status, message)
    context.set_response_status(code=status, phrase=_reason_phrase(status))
    context.set_response_content_type(0, ERROR_CONTENT_TYPE)
    return [error_answer(status, message)]


def adapt_calling_toolkit() -> bool:
    """Adjusts the serving toolkit when it is what loaded the handlers (it imports itself before
    importing the entry script); True when it did. Never imports the toolkit."""
    if "sagemaker_inference" not in sys.modules:
        return False
    from sagemaker_inference import content_types
    from sagemaker_inference.transformer import Transformer

    content_types.UTF8_TYPES.clear()
    Transformer.handle_error = staticmethod(_answer_error)
    return True
