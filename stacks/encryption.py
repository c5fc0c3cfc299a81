"""Use of the stage's KMS key, granted action by action.

CDK's own key grants (grant_encrypt, grant_decrypt) add wildcard actions such as
kms:GenerateDataKey* and kms:ReEncrypt*; each user here needs a few exact actions, so it gets
exactly those, on the one key: S3 with SSE-KMS needs GenerateDataKey to write an object and
Decrypt to read one (and to finish a multipart upload); SageMaker encrypting a volume as the
execution role needs CreateGrant and DescribeKey.
"""
from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

WRITE_OBJECTS = ("kms:GenerateDataKey", "kms:Decrypt")
READ_OBJECTS = ("kms:Decrypt",)
ENCRYPT_VOLUMES = ("kms:CreateGrant", "kms:DescribeKey")


def allow_key(key: kms.IKey, grantee: iam.IGrantable, actions: tuple[str, ...]) -> None:
    iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[key.key_arn])
