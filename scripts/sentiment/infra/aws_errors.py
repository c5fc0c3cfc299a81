"""AWS errors as the commands print them: one line each, whatever the service sent."""
from __future__ import annotations


def one_line(text) -> str:
    """text with every run of whitespace (newlines included) as one space."""
    return " ".join(str(text).split())


def client_error_parts(error) -> tuple[str, str, str]:
    """(operation, error code, one-line message) of a botocore ClientError."""
    details = error.response.get("Error", {})
    return (getattr(error, "operation_name", "request"), details.get("Code", "error"),
            one_line(details.get("Message", error)))
