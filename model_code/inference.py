"""SageMaker's serving entry point. The PyTorch inference toolkit imports this file from the
model's code/ folder (where sentiment_model/ sits beside it) and calls the four handlers of
sentiment_model.serving; the contract is docs/api.md#the-endpoint."""
from sentiment_model import serving
from sentiment_model.serving import input_fn, output_fn, predict_fn
from sentiment_model.toolkit_adapter import adapt_calling_toolkit

__all__ = ["model_fn", "input_fn", "predict_fn", "output_fn"]


def model_fn(model_dir: str):
    # Only the toolkit calls model_fn inside the container: fit its error answers and body
    # decoding to the endpoint's contract before the first request (toolkit_adapter says why).
    adapt_calling_toolkit()
    return serving.model_fn(model_dir)
