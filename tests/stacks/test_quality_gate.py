"""The quality gate at synth: a model given with -c modelArtifact= is checked against the
metrics.json inside it (folder or model.tar.gz), and the training job carries the gate to its
custom resource."""
from __future__ import annotations

import io
import json
import tarfile

import pytest
from support import make_model_dir

from sentiment.packaging import build_model_archive
from stacks.config import ConfigError, DeploymentConfig
from stacks.quality_gate import GATE_METRIC, METRIC_DEFINITIONS


def parse(**context) -> DeploymentConfig:
    return DeploymentConfig.from_context(context.get)


def test_a_model_folder_at_or_above_the_threshold_passes(tmp_path):
    model = make_model_dir(tmp_path / "model", validation_accuracy=0.9212)
    assert parse(modelArtifact=str(model)).min_validation_accuracy == 0.9
    parse(modelArtifact=str(model), minValidationAccuracy="0.9212")


def test_a_model_folder_below_the_threshold_is_refused_with_metric_value_and_threshold(tmp_path):
    model = make_model_dir(tmp_path / "model", validation_accuracy=0.8731)
    with pytest.raises(ConfigError) as error:
        parse(modelArtifact=str(model))
    assert str(error.value) == ("modelArtifact: validation_accuracy 0.8731 of model (metrics.json) is below "
                                "minValidationAccuracy 0.9")


def test_a_model_tarball_is_checked_against_the_metrics_json_inside_it(tmp_path):
    tarball = build_model_archive(make_model_dir(tmp_path / "model", validation_accuracy=0.85),
                                  tmp_path / "model.tar.gz")
    with pytest.raises(ConfigError, match=r"validation_accuracy 0.8500 of model.tar.gz \(metrics.json\) is below"):
        parse(modelArtifact=str(tarball))
    assert parse(modelArtifact=str(tarball), minValidationAccuracy="0.8").model_artifact == tarball


def test_a_training_job_style_tarball_with_dot_slash_names_is_read(tmp_path):
    """`tar -czf model.tar.gz -C model .`, as SageMaker and people make them, prefixes ./."""
    data = json.dumps({"validation_accuracy": 0.95}).encode()
    tarball = tmp_path / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo("./metrics.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    parse(modelArtifact=str(tarball))


def test_missing_metrics_are_a_clear_failure_not_a_silent_pass(tmp_path):
    model = make_model_dir(tmp_path / "model", validation_accuracy=None)
    with pytest.raises(ConfigError, match=r"has no metrics.json, so its validation accuracy is unknown"):
        parse(modelArtifact=str(model))
    (model / "metrics.json").write_text(json.dumps({"validation_accuracy": None}))
    with pytest.raises(ConfigError, match=r"reports no validation_accuracy.*-c minValidationAccuracy=0"):
        parse(modelArtifact=str(model))
    # 0 turns the gate off, for a model trained on every review.
    parse(modelArtifact=str(model), minValidationAccuracy="0")


def test_models_default_passes_the_default_gate():
    from sentiment.paths import ROOT
    parse(modelArtifact=str(ROOT / "models" / "default"))


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "high", True])
def test_the_threshold_must_be_a_fraction(tmp_path, raw):
    model = make_model_dir(tmp_path / "model")
    with pytest.raises(ConfigError, match=r"^minValidationAccuracy must be a number from 0 and at most 1, got"):
        parse(modelArtifact=str(model), minValidationAccuracy=raw)


def test_the_training_job_resource_carries_the_metric_definitions_and_the_gate(default_app):
    [props] = [resource["Properties"] for resource in default_app.model_json["Resources"].values()
               if resource["Type"] == "Custom::SageMakerTrainingJob"]
    assert props["MetricDefinitions"] == [dict(item) for item in METRIC_DEFINITIONS]
    assert props["QualityGate"] == {"MetricName": GATE_METRIC, "MinValue": "0.9"}
