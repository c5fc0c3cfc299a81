"""A model trained elsewhere (a model.tar.gz or the unpacked directory) shipped as an asset."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from sentiment.packaging import build_model_archive
from stacks.packaging import packaging_dir
from stacks.sagemaker_role import SageMakerRole


class ModelArtifact(Construct):
    def __init__(self, scope: Construct, id_: str, *, path: Path, role: SageMakerRole) -> None:
        super().__init__(scope, id_)
        # A folder gets its serving code (code/, from model_code/) as it is archived.
        path = build_model_archive(path, packaging_dir(self) / "model.tar.gz")
        self.s3_asset = s3_assets.Asset(self, "ModelTarball", path=str(path))
        role.allow_read_asset(self.s3_asset)
        self.model_data_url = self.s3_asset.s3_object_url
