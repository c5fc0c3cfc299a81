"""One recipe: sentiment_model/recipe.py states the training defaults, and train.py's flags, the
network's defaults, the cloud training job's hyperparameters and `sentiment train-default` all
agree with it."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from sentiment.training import train_default
from sentiment_model import training
from sentiment_model.network import LSTM_FIELDS, ModelConfig
from sentiment_model.recipe import FIELDS, RECIPE, Recipe, RecipeError, flag_name, hyperparameters
from stacks.config import (
    STATED_RECIPE_FIELDS,
    TRAINING_SAVE_MARGIN_MINUTES,
    ConfigError,
    DeploymentConfig,
)


def recipe_of(args) -> Recipe:
    return Recipe(**{name: getattr(args, name) for name in FIELDS})


def as_argv(flags: dict[str, str]) -> list[str]:
    """Hyperparameters as the SageMaker training toolkit passes them: `--name value`."""
    return [part for name, value in flags.items() for part in (f"--{name}", value)]


def configure(tmp_path: Path, **context) -> DeploymentConfig:
    """The deployment's config from context as `-c key=value` gives it, with a stand-in dataset."""
    (tmp_path / "manifest.json").write_text("{}")
    return DeploymentConfig.from_context({"trainingData": str(tmp_path), **context}.get)


def test_train_py_defaults_are_the_recipe():
    args = training.parse_args([])

    assert recipe_of(args) == RECIPE
    assert all(type(getattr(args, name)) is type(getattr(RECIPE, name)) for name in FIELDS)


def test_every_recipe_flag_is_documented_in_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside a help text
    with pytest.raises(SystemExit):
        training.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())

    for name, spec in FIELDS.items():
        assert f"--{flag_name(name)}" in text
        assert " ".join(spec.metadata["help"].split()) in text, name


def test_the_recipe_as_flags_reads_back_as_the_recipe():
    """What the stack renders, SageMaker passes and train.py parses is the same recipe, booleans
    and choices included."""
    changed = RECIPE.with_overrides({"windows": "false", "readout": "last", "lr": "0.01", "num_layers": 2})

    assert recipe_of(training.parse_args(as_argv(RECIPE.as_flags()))) == RECIPE
    assert recipe_of(training.parse_args(as_argv(changed.as_flags()))) == changed


def test_the_stack_trains_the_recipe_without_overrides():
    budget = str(DeploymentConfig().training_max_runtime_minutes - TRAINING_SAVE_MARGIN_MINUTES)

    assert DeploymentConfig().hyperparameters == {**RECIPE.as_flags(STATED_RECIPE_FIELDS), "max-minutes": budget}
    assert recipe_of(training.parse_args(as_argv(DeploymentConfig().hyperparameters))) == RECIPE


@pytest.mark.parametrize(("context", "changed"), [
    ({"batchSize": "32"}, {"batch-size": "32"}),  # a field the job always names
    ({"weightDecay": "0.1"}, {"weight-decay": "0.1"}),  # one it names only when overridden
    ({"shortNgrams": False}, {"short-ngrams": "False"}),  # a boolean, from cdk.json
])
def test_an_override_in_context_changes_exactly_that_hyperparameter(tmp_path, context, changed):
    default = DeploymentConfig().hyperparameters

    assert configure(tmp_path, **context).hyperparameters == {**default, **changed}


def test_an_override_in_a_stage_block_counts_too(tmp_path):
    config = configure(tmp_path, stage="prod", alarmEmail="ops@example.com", stages={"dev": {}, "prod": {"epochs": 4}})

    assert config.hyperparameters["epochs"] == "4"


@pytest.mark.parametrize(("context", "message"), [
    ({"weightDecay": "heavy"}, "weightDecay must be a number, got 'heavy'"),
    ({"epochs": "2.5"}, "epochs must be an integer, got '2.5'"),
    ({"dropout": "1"}, "dropout must be in [0, 1), got '1'"),
    ({"readout": "mean"}, "readout must be one of pool, last; got 'mean'"),
    ({"windows": "yes"}, "windows must be true or false, got 'yes'"),
    ({"stages": {"dev": {"weightDecy": 0.1}}},
     "stages.dev: unknown key 'weightDecy' (keys are those of the context, e.g. endpointMode)"),
])
def test_a_bad_override_is_a_one_line_error(tmp_path, context, message):
    with pytest.raises(ConfigError) as error:
        configure(tmp_path, **context)

    assert str(error.value) == message


def test_an_unknown_recipe_field_is_a_one_line_error():
    with pytest.raises(RecipeError) as error:
        hyperparameters({"epoch": 3})
    with pytest.raises(ConfigError) as config_error:
        DeploymentConfig(recipe_overrides={"epoch": 3})

    assert str(error.value).startswith("unknown recipe field 'epoch'; the fields are embedding_dim, ")
    assert "\n" not in str(error.value) and str(config_error.value) == str(error.value)


def test_the_network_defaults_are_the_recipe():
    assert ModelConfig.from_recipe(100) == ModelConfig(100)
    assert {name: getattr(ModelConfig(100), name) for name in LSTM_FIELDS} == \
        {name: getattr(RECIPE, name) for name in LSTM_FIELDS}


def test_saved_configs_load_as_they_were_saved(tmp_path):
    """Changing the defaults must not change a saved model: every saved field is read back, and
    a model from before word dropout still has none."""
    shipped = Path(__file__).parents[2] / "models" / "default" / "model_config.json"
    before_word_dropout = {"vocab_size": 50, "embedding_dim": 8, "hidden_dim": 8, "num_layers": 1,
                           "bidirectional": True, "dropout": 0.4, "readout": "pool"}
    (tmp_path / "old.json").write_text(json.dumps(before_word_dropout))

    assert asdict(ModelConfig.load(shipped)) == json.loads(shipped.read_text())
    assert ModelConfig.load(tmp_path / "old.json").word_dropout == 0.0


def test_train_default_passes_no_recipe_flag_and_records_the_recipe():
    assert not {flag.removeprefix("--").replace("-", "_") for flag in train_default.TRAIN_FLAGS} & set(FIELDS)
    assert recipe_of(training.parse_args(train_default.recipe_flags().split())) == RECIPE
