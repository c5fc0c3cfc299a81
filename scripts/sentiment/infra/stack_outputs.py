"""The deployed stacks' outputs, from the file `cdk deploy --outputs-file cdk-outputs-dev.json`
writes (`make deploy STAGE=dev` does):
{"SentimentState-dev": {"ArtifactsBucketName": ...}, "SentimentModel-dev": {"EndpointName": ...},
 "SentimentWeb-dev": {"SiteUrl": ..., "ApiUrl": ...}}."""
from __future__ import annotations

import json
from pathlib import Path


class StackOutputsError(ValueError):
    """An outputs file that is missing, unreadable or lacks a needed output (one line)."""


def read_stack_outputs(path: str | Path) -> dict[str, str]:
    """Every stack's outputs merged into one {output name: value} mapping."""
    path = Path(path).expanduser()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackOutputsError(f"{path}: not found (write it with `cdk deploy --all --outputs-file {path}`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StackOutputsError(f"{path}: not a cdk outputs file ({error})") from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise StackOutputsError(f"{path}: not a cdk outputs file (expected {{stack: {{output: value}}}})")
    merged: dict[str, str] = {}
    for outputs in document.values():
        merged.update({name: value for name, value in outputs.items() if isinstance(value, str)})
    return merged


def require(outputs: dict[str, str], name: str, path: str | Path) -> str:
    if not outputs.get(name):
        raise StackOutputsError(f"{path}: no {name} output (deploy every stack: `cdk deploy --all`)")
    return outputs[name]
