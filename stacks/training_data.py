"""The prepared dataset (`sentiment prepare` output) copied to a content-addressed prefix, and the
encoded unlabelled reviews, where prepare wrote them, to one of their own (the job's `unlabelled`
channel). The pretrained checkpoint the job fine-tunes, when there is one, to a prefix of its own too
(the `pretrained` channel). Beside it, the linear baseline's figures for exactly this dataset, when
`make prepare` wrote them (sentiment.data.baseline_figures), for the model registry."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Size
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from sentiment.data.baseline_figures import read_baseline_figures
from sentiment.packaging import tree_hash
from stacks.encryption import WRITE_OBJECTS, allow_key
from stacks.training_job import registry
from stacks.uploads import upload


class TrainingData(Construct):
    def __init__(self, scope: Construct, id_: str, *, bucket: s3.IBucket, data_dir: Path,
                 retention_days: int, unlabelled_dir: Path | None = None,
                 pretrained_dir: Path | None = None, encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, id_)
        self._encryption_key = encryption_key
        self.data_hash = tree_hash(data_dir)
        # The Registry block's Baseline (figure key -> value): empty without a baseline file, or
        # with one written for another dataset (then a synth warning says so).
        figures, why_none = read_baseline_figures(data_dir, self.data_hash)
        self.registry_baseline = {key: registry.format_figure(figures[name])
                                  for name, key, _ in registry.FIGURES if name in figures}
        if why_none:
            Annotations.of(self).add_warning_v2("sentiment:baselineFigures", why_none)
        # One prefix per dataset version: a training job keeps reading exactly what it was
        # started on, and a changed dataset changes the prefix, hence the job's name.
        self.s3_prefix = f"training-data/{self.data_hash[:16]}/"
        self.s3_uri = bucket.s3_url_for_object(self.s3_prefix)
        self.s3_deployment = self._upload("Upload", bucket, data_dir, self.s3_prefix, retention_days)
        self.unlabelled_prefix = None
        if unlabelled_dir is not None:
            unlabelled_hash = tree_hash(unlabelled_dir)
            self.data_hash = f"{self.data_hash}+{unlabelled_hash}"
            self.unlabelled_prefix = f"unlabelled-data/{unlabelled_hash[:16]}/"
            self._upload("UploadUnlabelled", bucket, unlabelled_dir, self.unlabelled_prefix, retention_days)
        # Hashed apart from the dataset: the registry's DataHash stays the dataset's, and the job's
        # name takes both (stacks/training.py).
        self.pretrained_prefix = self.pretrained_hash = None
        if pretrained_dir is not None:
            self.pretrained_hash = tree_hash(pretrained_dir)
            self.pretrained_prefix = f"pretrained/{self.pretrained_hash[:16]}/"
            self._upload("UploadPretrained", bucket, pretrained_dir, self.pretrained_prefix, retention_days)

    def _upload(self, id_: str, bucket: s3.IBucket, folder: Path, prefix: str, retention_days: int):
        deployment = upload(
            self, id_,
            sources=[s3_deployment.Source.asset(str(folder), exclude=["__pycache__"])],
            destination=bucket,
            retention_days=retention_days,
            destination_key_prefix=prefix,
            prune=False,
            retain_on_delete=False,
            memory_limit=1024,
            ephemeral_storage_size=Size.gibibytes(2),
        )
        if self._encryption_key:
            allow_key(self._encryption_key, deployment.handler_role, WRITE_OBJECTS)
        return deployment
