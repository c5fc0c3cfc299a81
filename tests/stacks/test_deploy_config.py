"""The deployment's configuration: cdk.json's defaults, `-c key=value` strings, and one-line
errors that name the key and what it accepts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentiment.paths import ROOT
from sentiment_model.recipe import FIELDS, RECIPE
from stacks.config import STAGES, STATED_RECIPE_FIELDS, ConfigError, DeploymentConfig, _camel, context_keys, to_context


def parse(tmp_path: Path, **context) -> DeploymentConfig:
    if "trainingData" not in context and not context.get("modelArtifact"):
        (tmp_path / "manifest.json").write_text("{}")
        context["trainingData"] = str(tmp_path)
    return DeploymentConfig.from_context(context.get)


RECIPE_KEYS = {_camel(name) for name in FIELDS}


def cdk_json_context() -> dict:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def documented_defaults() -> dict:
    """The dataclass defaults as cdk.json spells them (an empty endpointName: named after the stage),
    and the recipe's values of the fields the training job always names."""
    return {**to_context(DeploymentConfig()), "endpointName": "",
            **{_camel(name): getattr(RECIPE, name) for name in STATED_RECIPE_FIELDS}}


def test_cdk_json_states_every_key_once_with_the_dataclass_default():
    """cdk.json is the documented default configuration; it must not drift from the code. A key
    sits either at the top level (the same in every stage) or in every stage's block (the values
    that differ), never in both: a top-level key would hide the stage's value, since `-c` lands
    at the top level too. The training recipe is the one exception: it is stated once, in
    model_code/sentiment_model/recipe.py."""
    context = cdk_json_context()
    stage_keys = set(context["stages"]["dev"])
    defaults = documented_defaults()

    assert set(context["stages"]) == set(STAGES)
    assert all(set(block) == stage_keys for block in context["stages"].values())
    assert not (RECIPE_KEYS | stage_keys) & context.keys()
    assert set(context_keys()) == {key for key in context_keys() if key in context} | stage_keys | RECIPE_KEYS
    assert {key: context[key] for key in context_keys() if key in context} == \
        {key: value for key, value in defaults.items() if key in context}


def parse_as_shipped(tmp_path: Path, **overrides) -> DeploymentConfig:
    """cdk.json's context plus command-line overrides, with a stand-in dataset (and, as prod
    requires, an alarm destination)."""
    context = {key: value for key, value in cdk_json_context().items() if key != "trainingData"}
    if overrides.get("stage") == "prod":
        context["alarmEmail"] = "ops@example.com"
    return parse(tmp_path, **{**context, **overrides})


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_gets_its_block_of_cdk_json(tmp_path, stage):
    block = cdk_json_context()["stages"][stage]
    config = parse_as_shipped(tmp_path, stage=stage)

    assert {key: to_context(config)[key] for key in block} == block
    assert config.stage == stage


def test_dev_is_serverless_and_disposable_prod_is_realtime_on_two_instances_with_the_canary(tmp_path):
    dev = parse_as_shipped(tmp_path)
    prod = parse_as_shipped(tmp_path, stage="prod")

    assert (dev.stage, dev.endpoint_mode, dev.dev, dev.endpoint_name) == ("dev", "serverless", True, "sentiment-dev")
    assert (prod.stage, prod.endpoint_mode, prod.instance_count, prod.canary, prod.dev, prod.endpoint_name) == \
        ("prod", "realtime", 2, True, False, "sentiment-prod")


def test_a_command_line_key_wins_over_the_stages_value(tmp_path):
    """`-c stage=prod -c endpointMode=serverless` is a serverless prod; -c lands at the top level."""
    config = parse_as_shipped(tmp_path, stage="prod", endpointMode="serverless", instanceCount="1",
                              endpointName="reviews")

    assert (config.endpoint_mode, config.instance_count, config.max_instance_count, config.endpoint_name) == \
        ("serverless", 1, 4, "reviews")


@pytest.mark.parametrize(("context", "message"), [
    ({"stage": "staging"}, "stage must be one of dev, prod; got 'staging'"),
    ({"stages": {"qa": {}}}, "stages: unknown stage 'qa'; stages are dev, prod"),
    ({"stages": {"prod": {"endpointMod": "realtime"}}},
     "stages.prod: unknown key 'endpointMod' (keys are those of the context, e.g. endpointMode)"),
    ({"stages": ["dev"]}, 'stages must map each stage to its keys, e.g. {"prod": {"endpointMode": "realtime"}}; '
                          "got ['dev']"),
    ({"stage": "prod", "stages": {"prod": {"instanceCount": 0}}},
     "stages.prod.instanceCount must be an integer from 1 to 100, got 0"),
])
def test_a_bad_stage_or_stage_block_is_a_one_line_error(tmp_path, context, message):
    with pytest.raises(ConfigError) as error:
        parse(tmp_path, **context)
    assert str(error.value) == message


def test_the_training_job_defaults_are_train_py_defaults():
    """One recipe: without -c overrides the cloud job trains exactly what `sentiment train` does."""
    from sentiment_model import training

    flags = training.parse_args(["--data-dir", "d", "--model-dir", "m"])
    hyperparameters = DeploymentConfig().hyperparameters
    for name, value in hyperparameters.items():
        if name != "max-minutes":
            assert str(getattr(flags, name.replace("-", "_"))) == value, name


def test_command_line_strings_are_parsed_to_their_types(tmp_path):
    """`-c` values always arrive as strings."""
    config = parse(tmp_path, epochs="3", lr="0.01", waf="true", endpointMode="realtime")

    assert (config.recipe_overrides, config.waf, config.endpoint_mode) == ({"epochs": 3, "lr": 0.01}, True, "realtime")


def test_hyperparameters_are_keyed_by_the_training_script_flags(tmp_path):
    config = parse(tmp_path, batchSize=32, embeddingDim=16, trainingMaxRuntimeMinutes=30)

    assert config.hyperparameters == {"epochs": "6", "batch-size": "32", "embedding-dim": "16",
                                      "word-vectors": "ppmi", "adversarial": "5.0", "hidden-dim": "64",
                                      "lr": "0.003", "patience": "2", "seed": "1",
                                      "max-minutes": "25"}


@pytest.mark.parametrize("key, value, expected", [
    ("endpointMode", "gpu", "endpointMode must be one of serverless, realtime; got 'gpu'"),
    ("serverlessMemoryMb", "1500", "serverlessMemoryMb must be an integer from 1024 to 6144 in steps of 1024"),
    ("waf", "yes", "waf must be true or false, got 'yes'"),
    ("wordVectors", "glove", "wordVectors must be one of ppmi, random; got 'glove'"),
    ("adversarial", "-1", "adversarial must be 0 (off) or more, got '-1'"),
    ("batchSize", "0", "batchSize must be at least 1, got '0'"),
    ("shortNgrams", "maybe", "shortNgrams must be true or false, got 'maybe'"),
    ("logRetentionDays", "10", "logRetentionDays must be one of 1, 7, 14, 30, 90, 180, 365"),
    ("instanceType", "m5.large", "instanceType must be a SageMaker instance type such as ml.m5.large"),
    ("endpointName", "-sentiment", "endpointName must be 1-63 letters, digits or hyphens"),
])
def test_a_bad_value_names_the_key_and_the_allowed_values(tmp_path, key, value, expected):
    with pytest.raises(ConfigError, match="^" + expected.replace("(", r"\(").replace(")", r"\)")):
        parse(tmp_path, **{key: value})


def test_training_cannot_outlast_cloudformation_custom_resource_hour(tmp_path):
    """CloudFormation abandons a custom resource after one hour; the job must end before."""
    with pytest.raises(ConfigError, match="trainingMaxRuntimeMinutes must be an integer from 6 to 50"):
        parse(tmp_path, trainingMaxRuntimeMinutes="90")


def test_autoscaling_bounds_must_be_ordered(tmp_path):
    with pytest.raises(ConfigError, match="maxInstanceCount must be >= instanceCount"):
        parse(tmp_path, instanceCount="3", maxInstanceCount="2")


def test_missing_prepared_dataset_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(ConfigError, match=r"run `make prepare` \(sentiment prepare"):
        DeploymentConfig.from_context({"trainingData": str(tmp_path / "nothing")}.get)


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not weights")

    with pytest.raises(ConfigError, match="modelArtifact: .* has no model.pt"):
        DeploymentConfig.from_context({"modelArtifact": str(tmp_path)}.get)


def test_a_local_model_file_must_be_a_gzipped_tarball(tmp_path):
    (tmp_path / "model.zip").write_bytes(b"PK")

    with pytest.raises(ConfigError, match=r"modelArtifact: .*model.zip must be a .tar.gz file or a model directory"):
        DeploymentConfig.from_context({"modelArtifact": str(tmp_path / "model.zip")}.get)


def test_a_local_model_needs_no_dataset(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"weights")
    # The quality gate reads it (tests/stacks/test_quality_gate.py).
    (tmp_path / "metrics.json").write_text(json.dumps({"validation_accuracy": 0.92}))

    config = DeploymentConfig.from_context({"modelArtifact": str(tmp_path), "trainingData": "/nowhere"}.get)

    assert not config.training_mode


@pytest.mark.parametrize(("context", "message"), [
    ({"endpointMode": "gpu"}, "endpointMode must be one of serverless, realtime; got 'gpu'"),
    ({"stage": "qa"}, "stage must be one of dev, prod; got 'qa'"),
    ({"stage": "prod"}, "prod needs an alarm destination: set alarmEmail (an address to mail) or alarmTopicArn "
                        "(an existing SNS topic)"),
])
def test_the_app_reports_a_bad_value_in_one_line_without_a_traceback(context, message):
    """What a person running `cdk synth -c endpointMode=gpu` or `-c stage=qa` sees."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"configuration error: {message}" in result.stderr


def test_readme_documents_every_key_with_its_default():
    """docs/deployment.md's configuration table is the user's reference; it must match the code
    and cdk.json (a stage's key shows each stage's value)."""
    readme = (ROOT / "docs" / "deployment.md").read_text()
    stages = cdk_json_context()["stages"]

    def shown(value) -> str:
        return json.dumps(value) if isinstance(value, (bool, str)) and value in ("", True, False) else str(value)

    for key, default in documented_defaults().items():
        if key in stages["dev"]:
            row = f"| `{key}` | " + ", ".join(f"{stage} `{shown(stages[stage][key])}`" for stage in STAGES) + " |"
        else:
            row = f"| `{key}` | `{shown(default)}` |"
        assert row in readme, row
