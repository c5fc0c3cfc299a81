"""cdk-nag acknowledgements, written next to the resource they excuse."""
from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, *, id: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=id, reason=reason))


def nag_spelling(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a value in a finding's id: literals as they are, `Ref`s as
    `<AWS::AccountId>` or `<LogicalId>`, `Fn::GetAtt`s as `<LogicalId.Attribute>`, joins joined."""
    return _spell(Stack.of(scope).resolve(value))


def _spell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{'.'.join(argument)}>"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(_spell(part) for part in parts)
    raise ValueError(f"cdk-nag's spelling of {value!r} is not known here")
