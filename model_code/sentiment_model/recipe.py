"""The default model's recipe: every hyperparameter `sentiment train` uses when no flag says
otherwise, stated once, here, each with its help text and the bound train.py holds it to.

- sentiment_model.training generates its recipe flags from these fields (name, type, choices,
  default and help), and checks each value against the field's bound;
- network.ModelConfig takes its defaults from RECIPE;
- the cloud training job (stacks/config.py) passes `hyperparameters(overrides)`: train.py's
  flags for the recipe with a deployment's `-c key=value` overrides;
- `sentiment train-default` passes no recipe flag at all.

Chosen on the validation split of the IMDb training reviews; docs/model.md records how ("How
the default recipe was chosen", under "Model figures")."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


class RecipeError(ValueError):
    """An unknown recipe field or a value train.py would refuse; the message is one line."""


@dataclass(frozen=True)
class Bound:
    """What a field's value must satisfy, worded as the error says it: "must be <wording>"."""
    holds: Callable[[Any], bool]
    wording: str


AT_LEAST_ONE = Bound(lambda value: value >= 1, "at least 1")
A_SHARE = Bound(lambda value: 0 <= value < 1, "in [0, 1)")


def _field(default: Any, help: str, *, section: str, choices: tuple[str, ...] | None = None,
           bound: Bound | None = None):
    return field(default=default, metadata={"help": help, "section": section, "choices": choices, "bound": bound})


def _model(default: Any, help: str, **kwargs):
    return _field(default, help, section="model", **kwargs)


def _training(default: Any, help: str, **kwargs):
    return _field(default, help, section="training", **kwargs)


@dataclass(frozen=True)
class Recipe:
    # model
    embedding_dim: int = _model(64, "word embedding size", bound=AT_LEAST_ONE)
    hidden_dim: int = _model(64, "LSTM hidden size per direction", bound=AT_LEAST_ONE)
    num_layers: int = _model(1, "stacked LSTM layers", bound=AT_LEAST_ONE)
    bidirectional: bool = _model(True, "read both directions")
    readout: str = _model("pool", "'pool': max+mean over steps plus final states; 'last': final states",
                          choices=("pool", "last"))
    dropout: float = _model(0.5, "dropout before the classifier", bound=A_SHARE)
    word_dropout: float = _model(0.25, "share of whole words hidden at each training step", bound=A_SHARE)
    ngram_order: int = _model(3, "longest n-gram of the NB-weighted n-gram part, 0 = LSTM alone",
                              bound=Bound(lambda value: 0 <= value <= 3, "0 (no n-gram part), 1, 2 or 3"))
    ngram_min_count: int = _model(6, "n-grams kept: those in at least this many training texts",
                                  bound=AT_LEAST_ONE)
    ngram_l2: float = _model(1e-4, "L2 penalty of the n-gram part's logistic regression")
    short_ngrams: bool = _model(True, "add the short-text n-gram part, fitted on the sentence windows alone "
                                      "(needs --windows and a validation split)")
    short_ngram_min_count: int = _model(3, "n-grams the short-text part keeps: those in at least this many "
                                           "windows", bound=AT_LEAST_ONE)
    short_ngram_l2: float = _model(3e-4, "L2 penalty of the short-text n-gram part")
    word_vectors: str = _model("ppmi", "embedding start: 'ppmi', vectors from word co-occurrences in the "
                                       "training reviews (word_vectors.py), or 'random'",
                               choices=("ppmi", "random"))
    context_window: int = _model(5, "words either side counted as context for --word-vectors ppmi",
                                 bound=AT_LEAST_ONE)
    # training
    windows: bool = _training(True, "also learn from the sentence windows of the training reviews "
                                    "(train_windows), for short texts")
    rules: bool = _training(True, "also learn from train_rules, negated and contrasted sentences built by rule "
                                  "from the training reviews, and fit the combining layer on validation_rules "
                                  "too (where the dataset has them)")
    rules_repeat: int = _training(3, "how many times each text built by rule is learnt per epoch (they are few "
                                     "and short beside the reviews)", bound=AT_LEAST_ONE)
    epochs: int = _training(6, "maximum epochs", bound=AT_LEAST_ONE)
    finetune_epochs: int = _training(2, "epochs when the LSTM starts from a pretrained checkpoint "
                                        "(--pretrained-dir or --pretrain-first)", bound=AT_LEAST_ONE)
    finetune_lr: float = _training(1e-3, "peak Adam learning rate when the LSTM starts from a pretrained checkpoint",
                                   bound=Bound(lambda value: value > 0, "above 0"))
    batch_size: int = _training(64, "reviews per step", bound=AT_LEAST_ONE)
    lr: float = _training(3e-3, "peak Adam learning rate", bound=Bound(lambda value: value > 0, "above 0"))
    weight_decay: float = _training(0.05, "AdamW weight decay")
    adversarial: float = _training(5.0, "adversarial training: also learn each batch with its embeddings moved "
                                        "this far (L2 norm per review) in the direction that raises the loss; "
                                        "costs a second forward and backward pass per batch, 0 = off",
                                   bound=Bound(lambda value: value >= 0, "0 (off) or more"))
    clip: float = _training(1.0, "gradient norm clip")
    select_by: str = _training("accuracy", "what 'better on validation' means for early stopping and the weights "
                                           "kept: 'accuracy', or 'loss' (steadier; the pretraining stage's)",
                               choices=("accuracy", "loss"))
    patience: int = _training(2, "stop after this many epochs without a better validation figure (select_by)")
    average_last: int = _training(2, "also try the average of the last N epochs' weights and keep it if it "
                                     "scores better on validation, 0 = off")
    # numpy's generator takes seeds from 0 to 2**32 - 1.
    seed: int = _training(1, "random seed", bound=Bound(lambda value: 0 <= value < 2**32, "from 0 to 4294967295"))

    def as_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Recipe:
        """This recipe with the given fields set from raw values (strings from a command line, or
        JSON values), each parsed and checked as train.py would; RecipeError for an unknown field
        or a bad value."""
        return replace(self, **{name: parse_value(name, raw) for name, raw in overrides.items()})

    def as_flags(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """The named fields (default: every one) as train.py's flags, {"batch-size": "64", ...}:
        names without the leading dashes and values as strings, the form SageMaker passes
        hyperparameters in; training.parse_args reads them back to this recipe's values."""
        names = [f.name for f in fields(self)] if names is None else list(names)
        return {flag_name(name): str(getattr(self, name)) for name in names}


RECIPE = Recipe()
FIELDS = {f.name: f for f in fields(Recipe)}


def flag_name(name: str) -> str:
    """train.py's flag of a recipe field, without the leading dashes: batch_size -> batch-size."""
    return name.replace("_", "-")


def bound_problem(name: str, value: Any) -> str | None:
    """"must be ..." when the value breaks the field's bound, else None."""
    bound = FIELDS[name].metadata["bound"]
    return None if bound is None or bound.holds(value) else f"must be {bound.wording}"


def parse_value(name: str, raw: Any, label: str | None = None) -> Any:
    """raw as the recipe field's type and checked against its choices and bound: a string (as a
    command line gives it) or a JSON value (as cdk.json does). RecipeError names `label`
    (default: the field's name)."""
    label = label or name
    if name not in FIELDS:
        raise RecipeError(f"unknown recipe field {label!r}; the fields are {', '.join(FIELDS)}")
    kind, choices = type(FIELDS[name].default), FIELDS[name].metadata["choices"]
    value = _as_type(kind, raw)
    if value is None:
        wording = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[kind]
        raise RecipeError(f"{label} must be {wording}, got {raw!r}")
    if choices and value not in choices:
        raise RecipeError(f"{label} must be one of {', '.join(choices)}; got {raw!r}")
    problem = bound_problem(name, value)
    if problem:
        raise RecipeError(f"{label} {problem}, got {raw!r}")
    return value


def _as_type(kind: type, raw: Any) -> Any:
    """raw as kind, or None when it is not one (a boolean is not a number here)."""
    if kind is bool:
        text = str(raw).strip().lower()
        return raw if isinstance(raw, bool) else {"true": True, "false": False}.get(text)
    if isinstance(raw, bool):
        return None
    if kind is str:
        return raw if isinstance(raw, str) else None
    try:
        value = kind(str(raw).strip())
    except ValueError:
        return None
    return value if kind is int or math.isfinite(value) else None


def hyperparameters(overrides: Mapping[str, Any] | None = None, always: Iterable[str] = ()) -> dict[str, str]:
    """train.py's flags (Recipe.as_flags) for RECIPE with the overrides (recipe field -> value):
    the fields named in `always`, then every other overridden one."""
    overrides = overrides or {}
    always = list(always)
    return RECIPE.with_overrides(overrides).as_flags([*always, *(name for name in overrides if name not in always)])
