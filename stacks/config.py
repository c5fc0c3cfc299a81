"""The deployment's configuration: one frozen dataclass, parsed and validated once in app.py.

Every key can be set in cdk.json ("context") or on the command line with `-c key=value`;
command-line values arrive as strings, so each field is parsed from either form. A bad value
raises ConfigError with one line naming the key and what it accepts.

`stage` (dev or prod) picks one block of cdk.json's `stages`: the values that differ between
stages (endpoint mode, instances, disposability). A key given at the top level of the context,
which is where `-c key=value` lands, wins over the stage's value; keys set in `stages` are
therefore kept out of cdk.json's top level.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sentiment.contract import DEFAULT_MAX_REVIEW_CHARS, NAME_PREFIX, STAGES
from sentiment_model import recipe  # model_code/: the one statement of the training recipe
from sentiment_model.dataset import has_unlabelled, unlabelled_folder  # model_code/: the dataset layout

REPO_ROOT = Path(__file__).resolve().parents[1]
# The pretrained checkpoint the repository commits (`sentiment pretrain` writes it). The default
# may be absent (then the job has no `pretrained` channel); any other folder named must exist.
DEFAULT_PRETRAINED_CHECKPOINT = REPO_ROOT / "models" / "pretrained"

# CloudFormation waits at most one hour for a custom resource (its ServiceTimeout cap), so the
# training job, spot waiting included, must end well inside that hour.
TRAINING_BUDGET_MINUTES = 50
# The job stops its own loop this long before SageMaker's hard stop so it can save the model.
TRAINING_SAVE_MARGIN_MINUTES = 5
# The recipe fields the training job names in its hyperparameters even when not overridden, as
# it always has: the job's name is a hash of its hyperparameters, so naming more or fewer would
# retrain an unchanged model. The other fields train at the recipe's value by train.py's defaults.
STATED_RECIPE_FIELDS = ("epochs", "batch_size", "embedding_dim", "word_vectors", "adversarial", "hidden_dim",
                        "lr", "patience", "seed")

LOG_RETENTION_DAYS = (1, 7, 14, 30, 90, 180, 365)
ENDPOINT_MODES = ("serverless", "realtime")
# The quality gate's default: models/default scores 0.9348 on its validation split and the
# recipe's seeds land within about a point of it, so 0.90 passes every healthy run and stops a
# broken one (bad data, a regression in the code) before it reaches the endpoint.
DEFAULT_MIN_VALIDATION_ACCURACY = 0.90


class ConfigError(ValueError):
    """A configuration value that synthesis cannot use; the message is one line for the user."""


def stack_names(stage: str) -> tuple[str, str, str]:
    """The state stack's, the model stack's and the web stack's names in this stage, in deployment order."""
    return f"SentimentState-{stage}", f"SentimentModel-{stage}", f"SentimentWeb-{stage}"


@dataclass(frozen=True)
class DeploymentConfig:
    # Which deployment: its stacks and every fixed resource name carry it.
    stage: str = "dev"
    # Model source: a local model (tarball or unpacked directory) or a training job on SageMaker.
    model_artifact: Path | None = None
    # Or an Approved version of the stage's model registry (the model package group
    # sentiment-<stage>): what prod serves once a person has approved it. Empty: none.
    model_package_arn: str = ""
    training_data: Path = REPO_ROOT / "data" / "processed"
    # The checkpoint the job fine-tunes (its `pretrained` channel). None (`-c pretrainedCheckpoint=`):
    # the job starts the LSTM from word vectors. pretrainInJob=true: no channel either, the job first
    # rebuilds the pretraining stage itself, with the whole TRAINING_BUDGET_MINUTES for both.
    pretrained_checkpoint: Path | None = DEFAULT_PRETRAINED_CHECKPOINT
    pretrain_in_job: bool = False
    training_instance_type: str = "ml.c5.2xlarge"
    training_use_spot: bool = False
    training_max_runtime_minutes: int = 45
    # The training job trains the recipe (model_code/sentiment_model/recipe.py); these are this
    # deployment's overrides of it, recipe field -> value, each set by the field's camelCase key
    # (`-c batchSize=32`, `-c weightDecay=0.1`).
    recipe_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Quality gate: a model scoring below this on its validation split is not deployed (0: off).
    min_validation_accuracy: float = DEFAULT_MIN_VALIDATION_ACCURACY
    # Network isolation: comma-separated subnet and security group ids. With both, the training
    # job runs in those subnets and the real-time model too, with network isolation. Empty: none.
    vpc_subnet_ids: str = ""
    vpc_security_group_ids: str = ""
    # Encryption under the company's key: a customer-managed KMS key of the stage's own
    # (encryptionKey, prod's default) or an existing one (kmsKeyArn, which implies it) encrypts the
    # artifacts bucket, the training job's volume and output, the real-time endpoint's storage,
    # data capture and the alarm topic. Off: S3-managed keys (dev's default).
    encryption_key: bool = False
    kms_key_arn: str = ""
    # Serving. Empty: sentiment-<stage>.
    endpoint_name: str = ""
    endpoint_mode: str = "serverless"
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    # Serverless copies kept warm (no cold starts for them; billed while provisioned). 0: none.
    provisioned_concurrency: int = 0
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    max_instance_count: int = 2
    target_invocations_per_instance: int = 100
    # Real-time updates: blue/green with a canary, rolled back automatically on alarms.
    canary: bool = True
    canary_percent: int = 50
    canary_bake_minutes: int = 10
    # Data capture (real-time only): requests and answers kept in the artifacts bucket. Off: the
    # requests are people's reviews (docs/safe-rollouts.md, "Data capture and privacy").
    data_capture: bool = False
    data_capture_percent: int = 100
    data_capture_retention_days: int = 30
    # A daily check of the captured traffic against the training data (stacks/drift_check.py),
    # with the reference profile `sentiment drift --write-profile` writes for the served model.
    drift_check: bool = False
    drift_profile: Path = REPO_ROOT / "build" / "drift" / "profile.json"
    # API and site.
    api_rate_limit: int = 10
    api_burst_limit: int = 20
    max_review_chars: int = DEFAULT_MAX_REVIEW_CHARS
    waf: bool = False
    waf_rate_limit: int = 300
    # Concurrent executions reserved for the API's Lambda proxy, which are also its ceiling: a
    # flood or a hung endpoint cannot take the account's Lambda concurrency from other functions.
    # 0: none reserved (for accounts whose concurrency quota leaves nothing to reserve).
    proxy_reserved_concurrency: int = 10
    # Operations.
    alarm_email: str = ""
    # An existing SNS topic (the company's on-call route) that every alarm notifies, the canary's
    # rollback alarms included. Prod needs this or alarm_email: alarms nobody hears are no alarms.
    alarm_topic_arn: str = ""
    # X-Ray active tracing of the proxy function and the API stage (billed per trace).
    tracing: bool = False
    log_retention_days: int = 30
    # Landing zone. A permissions boundary (policy ARN or name in the deploying account) on every
    # IAM role the app creates, CDK's own custom-resource roles included. Empty: none.
    permissions_boundary: str = ""
    # The account each stage deploys into and the region of both: a stage given its account is
    # bound to it, so `cdk deploy` with another account's credentials refuses. Empty: the stacks
    # stay environment-agnostic (deploy wherever the credentials point).
    dev_account: str = ""
    prod_account: str = ""
    region: str = ""
    # A disposable deployment: `cdk destroy` empties and deletes the artifacts bucket, and the
    # local site (localhost) may call the API. The dev stage sets it.
    dev: bool = False
    # Delivery pipeline (stacks/pipeline_stack.py, docs/deployment.md "Delivery pipeline"). With
    # pipeline=true the app synthesizes one stack, SentimentPipeline, in pipelineAccount (empty:
    # devAccount) and region, which deploys dev, then prod after a manual approval, from the
    # branch of the GitHub repository (owner/name) read through a CodeConnections connection.
    pipeline: bool = False
    source_repository: str = ""
    source_branch: str = "main"
    source_connection_arn: str = ""
    pipeline_account: str = ""

    def __post_init__(self) -> None:
        # Checked here too for a config built in code; from_context's arrive parsed already.
        object.__setattr__(self, "recipe_overrides", {name: _recipe_field(name)(name, value)
                                                      for name, value in self.recipe_overrides.items()})
        if not self.endpoint_name:
            object.__setattr__(self, "endpoint_name", self.name_prefix)

    @property
    def name_prefix(self) -> str:
        """sentiment-<stage>: the start of every fixed name this stage creates."""
        return f"{NAME_PREFIX}-{self.stage}"

    @property
    def account(self) -> str:
        """The stage's account (devAccount or prodAccount); empty when not configured."""
        return self.prod_account if self.stage == "prod" else self.dev_account

    @property
    def delivery_account(self) -> str:
        """The account the delivery pipeline lives in: pipelineAccount, else devAccount."""
        return self.pipeline_account or self.dev_account

    @property
    def stack_names(self) -> tuple[str, str, str]:
        return stack_names(self.stage)

    @property
    def unlabelled_data(self) -> Path | None:
        """`sentiment prepare` writes the encoded unlabelled reviews beside the training folder
        (<trainingData>-unlabelled); where they are, the job gets them as its `unlabelled` channel."""
        folder = unlabelled_folder(self.training_data)
        return folder if has_unlabelled(folder) else None

    @property
    def pretrained_channel(self) -> Path | None:
        """The checkpoint folder the training job gets as its `pretrained` channel: pretrainedCheckpoint,
        unless it is empty, or the default folder and absent, or pretrainInJob is set."""
        checkpoint = self.pretrained_checkpoint
        if not self.training_mode or self.pretrain_in_job or checkpoint is None:
            return None
        if checkpoint == DEFAULT_PRETRAINED_CHECKPOINT and not checkpoint.exists():
            return None
        return checkpoint

    @property
    def max_runtime_minutes(self) -> int:
        """The job's hard stop: trainingMaxRuntimeMinutes, or with pretrainInJob the whole budget,
        since the job then runs the pretraining stage before the fine-tuning."""
        return TRAINING_BUDGET_MINUTES if self.pretrain_in_job else self.training_max_runtime_minutes

    @property
    def training_mode(self) -> bool:
        return self.model_artifact is None and not self.model_package_arn

    @property
    def network(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """(subnet ids, security group ids) when the stage runs in a VPC, else None."""
        if not self.vpc_subnet_ids:
            return None
        return (tuple(self.vpc_subnet_ids.split(",")), tuple(self.vpc_security_group_ids.split(",")))

    @property
    def encrypted(self) -> bool:
        """Whether a customer-managed key (the stage's or kmsKeyArn) encrypts the stage's data."""
        return self.encryption_key or bool(self.kms_key_arn)

    @property
    def model_package_group(self) -> str:
        """The stage's model registry: sentiment-<stage>."""
        return self.name_prefix

    @property
    def hyperparameters(self) -> dict[str, str]:
        """The training job's hyperparameters, keyed by train.py's flag names: the recipe with this
        deployment's overrides (STATED_RECIPE_FIELDS, then each other overridden field), the job's
        time budget, and pretrain-first only when set (so a job without it keeps its name)."""
        return {**recipe.hyperparameters(self.recipe_overrides, always=STATED_RECIPE_FIELDS),
                "max-minutes": str(self.max_runtime_minutes - TRAINING_SAVE_MARGIN_MINUTES),
                **({"pretrain-first": "True"} if self.pretrain_in_job else {})}

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeploymentConfig:
        """Builds the config from a context lookup (`node.try_get_context`): a top-level key,
        else the stage's value in `stages`, else the default. Raises ConfigError for the first
        bad value."""
        stage = _PARSERS["stage"]("stage", get("stage")) if get("stage") is not None else cls.stage
        stage_values = _stage_values(get("stages"), stage)
        values, overrides = {}, {}
        for name in _setting_names():
            key = label = _camel(name)
            raw = get(key)
            if raw is None and key in stage_values:
                raw, label = stage_values[key], f"stages.{stage}.{key}"
            if raw is None or (raw == "" and name in _EMPTY_MEANS_DEFAULT):
                continue
            (overrides if name in recipe.FIELDS else values)[name] = _PARSERS[name](label, raw)
        config = cls(**values, recipe_overrides=overrides)
        config._check_combinations()
        return config

    def _check_combinations(self) -> None:
        if self.max_instance_count < self.instance_count:
            raise ConfigError(f"maxInstanceCount must be >= instanceCount ({self.instance_count}), "
                              f"got {self.max_instance_count}")
        if self.provisioned_concurrency > self.serverless_max_concurrency:
            raise ConfigError(f"provisionedConcurrency must be <= serverlessMaxConcurrency "
                              f"({self.serverless_max_concurrency}), got {self.provisioned_concurrency}")
        if self.provisioned_concurrency and self.endpoint_mode != "serverless":
            raise ConfigError(f"provisionedConcurrency applies to serverless endpoints only; endpointMode is "
                              f"{self.endpoint_mode} (set instanceCount instead)")
        if self.data_capture and self.endpoint_mode != "realtime":
            raise ConfigError("dataCapture needs endpointMode=realtime (SageMaker serverless endpoints do not "
                              "capture data)")
        if self.encrypted and self.endpoint_mode == "realtime" and _has_local_storage(self.instance_type):
            raise ConfigError(f"instanceType {self.instance_type} has local NVMe storage, which SageMaker encrypts "
                              f"itself and refuses a KMS key for: pick an instance type without local storage, or "
                              f"set encryptionKey=false")
        if bool(self.vpc_subnet_ids) != bool(self.vpc_security_group_ids):
            raise ConfigError("vpcSubnetIds and vpcSecurityGroupIds go together: set both or neither")
        if self.vpc_subnet_ids and self.endpoint_mode == "serverless":
            raise ConfigError("vpcSubnetIds needs endpointMode=realtime: SageMaker serverless endpoints cannot "
                              "run in a VPC")
        if self.drift_check and not self.data_capture:
            raise ConfigError("driftCheck needs dataCapture=true (it reads the captured requests)")
        if self.drift_check:
            from stacks.drift_check import ProfileError, read_profile
            try:
                read_profile(self.drift_profile)
            except ProfileError as error:
                raise ConfigError(f"driftProfile: {error}") from None
        if self.api_burst_limit < self.api_rate_limit:
            raise ConfigError(f"apiBurstLimit must be >= apiRateLimit ({self.api_rate_limit}), "
                              f"got {self.api_burst_limit}")
        if self.stage == "prod" and not (self.alarm_email or self.alarm_topic_arn):
            raise ConfigError("prod needs an alarm destination: set alarmEmail (an address to mail) or "
                              "alarmTopicArn (an existing SNS topic)")
        if self.pipeline:
            needed = {"sourceRepository": self.source_repository, "sourceConnectionArn": self.source_connection_arn,
                      "devAccount": self.dev_account, "prodAccount": self.prod_account, "region": self.region}
            missing = [key for key, value in needed.items() if not value]
            if missing:
                raise ConfigError(f"pipeline=true needs {', '.join(missing)}: the pipeline deploys one repository's "
                                  f"branch into fixed dev and prod accounts in one region")
        if self.model_package_arn:
            group = self.model_package_arn.split(":model-package/")[1].split("/")[0]
            if self.model_artifact is not None:
                raise ConfigError("modelPackageArn and modelArtifact both name the model to serve; set one")
            if group != self.model_package_group:
                raise ConfigError(f"modelPackageArn: a version of {group!r}, not of this stage's registry "
                                  f"{self.model_package_group!r} (its model data is in another stage's bucket)")
        elif self.training_mode:
            manifest = self.training_data / "manifest.json"
            if not manifest.is_file():
                raise ConfigError(
                    f"trainingData: no prepared dataset at {self.training_data} (missing "
                    f"manifest.json); run `make prepare` (sentiment prepare --out "
                    f"{self.training_data}) or pass -c modelArtifact=<model.tar.gz or model dir>")
            self._check_pretrained_checkpoint()
        elif not self.model_artifact.exists():
            raise ConfigError(f"modelArtifact: {self.model_artifact} does not exist; pass a "
                              f"model.tar.gz or an unpacked model directory")
        elif self.model_artifact.is_dir() and not (self.model_artifact / "model.pt").is_file():
            raise ConfigError(f"modelArtifact: {self.model_artifact} has no model.pt; "
                              f"pass a model directory written by `sentiment train` (or models/default)")
        elif self.model_artifact.is_file() and not self.model_artifact.name.endswith(".tar.gz"):
            raise ConfigError(f"modelArtifact: {self.model_artifact} must be a .tar.gz file or a "
                              f"model directory")
        if self.model_artifact is not None and self.min_validation_accuracy > 0:
            from stacks.quality_gate import QualityGateError, check_artifact
            try:
                check_artifact(self.model_artifact, self.min_validation_accuracy)
            except QualityGateError as error:
                raise ConfigError(f"modelArtifact: {error}") from None

    def _check_pretrained_checkpoint(self) -> None:
        checkpoint = self.pretrained_channel
        if checkpoint is None:
            return
        problem = ("does not exist" if not checkpoint.exists() else "is not a folder" if not checkpoint.is_dir()
                   else "has no model.pt" if not (checkpoint / "model.pt").is_file() else None)
        if problem:
            raise ConfigError(f"pretrainedCheckpoint: {checkpoint} {problem}; pass a checkpoint folder written by "
                              f"`sentiment pretrain` (models/pretrained), or -c pretrainedCheckpoint= for none")
        # train.py refuses another vocabulary only once the job runs; where both files are here, say it now.
        theirs, ours = checkpoint / "vocab.json", self.training_data / "vocab.json"
        try:
            different = json.loads(theirs.read_text(encoding="utf-8")) != json.loads(ours.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if different:
            raise ConfigError(f"pretrainedCheckpoint: {theirs} is not the vocabulary of trainingData's {ours}; "
                              f"prepare the data with the checkpoint's preprocessing.json settings, or pass "
                              f"-c pretrainedCheckpoint= for none")


def _stage_values(stages: Any, stage: str) -> Mapping[str, Any]:
    """The stage's block of the `stages` context entry, checked for shape and known keys."""
    if stages is None:
        return {}
    if not isinstance(stages, Mapping) or not all(isinstance(block, Mapping) for block in stages.values()):
        raise ConfigError('stages must map each stage to its keys, e.g. {"prod": {"endpointMode": "realtime"}}; '
                          f"got {stages!r}")
    known = set(context_keys()) - {"stage"}
    for name, block in stages.items():
        if name not in STAGES:
            raise ConfigError(f"stages: unknown stage {name!r}; stages are {', '.join(STAGES)}")
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(f"stages.{name}: unknown key {unknown[0]!r} (keys are those of the context, "
                              f"e.g. endpointMode)")
    return stages.get(stage, {})


# Parsers -----------------------------------------------------------------------------------

def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _integer(low: int, high: int, step: int = 1):
    def parse(key: str, raw: Any) -> int:
        try:
            value = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high or (value - low) % step:
            allowed = f"an integer from {low} to {high}" + (f" in steps of {step}" if step > 1 else "")
            raise ConfigError(f"{key} must be {allowed}, got {raw!r}")
        return value
    return parse


def _number(low: float, high: float, low_allowed: bool = False):
    def parse(key: str, raw: Any) -> float:
        try:
            value = float(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            value = None
        above = value is not None and (low <= value if low_allowed else low < value)
        if not above or not value <= high:
            bound = f"from {low}" if low_allowed else f"above {low}"
            raise ConfigError(f"{key} must be a number {bound} and at most {high}, got {raw!r}")
        return value
    return parse


def _boolean(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _choice(*allowed: str):
    def parse(key: str, raw: Any) -> str:
        if raw not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {raw!r}")
        return raw
    return parse


def _pattern(regex: str, description: str):
    def parse(key: str, raw: Any) -> str:
        if not isinstance(raw, str) or not re.fullmatch(regex, raw):
            raise ConfigError(f"{key} must be {description}, got {raw!r}")
        return raw
    return parse


def _path(key: str, raw: Any) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{key} must be a path, got {raw!r}")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _optional_path(key: str, raw: Any) -> Path | None:
    """A path, or None for an empty value (`-c key=`)."""
    return None if isinstance(raw, str) and not raw.strip() else _path(key, raw)


def _recipe_field(name: str):
    """A recipe field's value: its type, choices and bound, as train.py checks the flag."""
    def parse(key: str, raw: Any) -> Any:
        try:
            return recipe.parse_value(name, raw, label=key)
        except recipe.RecipeError as error:
            raise ConfigError(str(error)) from None
    return parse


def _log_retention(key: str, raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value not in LOG_RETENTION_DAYS:
        raise ConfigError(f"{key} must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}; got {raw!r}")
    return value


_INSTANCE_TYPE = _pattern(r"ml\.[a-z][a-z0-9-]*\.[0-9]*x?large|ml\.[a-z][a-z0-9-]*\.(medium|small|metal)",
                          "a SageMaker instance type such as ml.m5.large")
_ACCOUNT = _pattern(r"|[0-9]{12}", 'a 12-digit AWS account id as a string (e.g. "012345678901"), or empty')
# "" in cdk.json: no local model (train in the cloud); the endpoint named after the stage.
_EMPTY_MEANS_DEFAULT = ("model_artifact", "endpoint_name")
_PARSERS: Mapping[str, Callable[[str, Any], Any]] = {
    "stage": _choice(*STAGES),
    "model_artifact": _path,
    "encryption_key": _boolean,
    "kms_key_arn": _pattern(r"|arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[0-9a-f-]{36}",
                            "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), or empty"),
    "vpc_subnet_ids": _pattern(r"|subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17}){0,15}",
                               "comma-separated subnet ids (subnet-0123abcd,...), or empty"),
    "vpc_security_group_ids": _pattern(r"|sg-[0-9a-f]{8,17}(,sg-[0-9a-f]{8,17}){0,4}",
                                       "comma-separated security group ids (sg-0123abcd,...), or empty"),
    "model_package_arn": _pattern(
        r"|arn:aws(-cn|-us-gov)?:sagemaker:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:model-package/[a-z0-9](-*[a-z0-9]){0,62}/[0-9]+",
        "a versioned model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/sentiment-<stage>/<version>), "
        "or empty"),
    "training_data": _path,
    "pretrained_checkpoint": _optional_path,
    "pretrain_in_job": _boolean,
    "training_instance_type": _INSTANCE_TYPE,
    "training_use_spot": _boolean,
    "training_max_runtime_minutes": _integer(TRAINING_SAVE_MARGIN_MINUTES + 1, TRAINING_BUDGET_MINUTES),
    **{name: _recipe_field(name) for name in recipe.FIELDS},
    "min_validation_accuracy": _number(0, 1, low_allowed=True),
    "endpoint_name": _pattern(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
                              "1-63 letters, digits or hyphens, not starting or ending with a hyphen"),
    "endpoint_mode": _choice(*ENDPOINT_MODES),
    "serverless_memory_mb": _integer(1024, 6144, step=1024),
    "serverless_max_concurrency": _integer(1, 200),
    "provisioned_concurrency": _integer(0, 200),
    "instance_type": _INSTANCE_TYPE,
    "instance_count": _integer(1, 100),
    "max_instance_count": _integer(1, 100),
    "target_invocations_per_instance": _integer(1, 100000),
    "canary": _boolean,
    # SageMaker: the canary should be at most half of the new fleet's capacity.
    "canary_percent": _integer(1, 50),
    # WaitIntervalInSeconds is at most 3600; the latency rollback alarm needs 3 minutes of
    # datapoints (and CloudWatch a minute or two to publish them) to go off inside the bake.
    "canary_bake_minutes": _integer(5, 60),
    "data_capture": _boolean,
    "data_capture_percent": _integer(1, 100),
    "data_capture_retention_days": _integer(1, 365),
    "drift_check": _boolean,
    "drift_profile": _path,
    "api_rate_limit": _integer(1, 10000),
    "api_burst_limit": _integer(1, 5000),
    "max_review_chars": _integer(1, 1_000_000),
    "waf": _boolean,
    "waf_rate_limit": _integer(100, 2_000_000_000),
    "proxy_reserved_concurrency": _integer(0, 1000),
    "alarm_email": _pattern(r"|[^@\s]+@[^@\s]+\.[^@\s]+", "an email address or empty"),
    "alarm_topic_arn": _pattern(r"|arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}",
                                "an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), or empty"),
    "tracing": _boolean,
    "log_retention_days": _log_retention,
    "permissions_boundary": _pattern(
        r"|arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}|[\w+=,.@-]{1,128}",
        "an IAM policy ARN (arn:aws:iam::<account>:policy/<name>), a policy name, or empty"),
    "dev_account": _ACCOUNT,
    "prod_account": _ACCOUNT,
    "region": _pattern(r"|[a-z]{2}(-[a-z]+)+-[0-9]", "an AWS region such as eu-west-1, or empty"),
    "dev": _boolean,
    "pipeline": _boolean,
    "source_repository": _pattern(r"|[A-Za-z0-9-]+/[A-Za-z0-9_.-]+",
                                  "a GitHub repository as owner/name (e.g. example-org/sentiment-on-sagemaker), or empty"),
    "source_branch": _pattern(r"[A-Za-z0-9_][A-Za-z0-9_./-]*", "a branch name such as main"),
    "source_connection_arn": _pattern(
        r"|arn:aws(-cn|-us-gov)?:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:"
        r"connection/[A-Za-z0-9-]+",
        "a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>), or empty"),
    "pipeline_account": _ACCOUNT,
}


def _has_local_storage(instance_type: str) -> bool:
    """Instance families with local NVMe instance storage (m5d, c5d, r5d, g4dn, p3dn, p4d, g5, ...),
    for which CreateEndpointConfig refuses a KmsKeyId (the API reference, KmsKeyId)."""
    family = instance_type.split(".")[1]
    return bool(re.fullmatch(r"[a-z]+[0-9]+[a-z]*dn?|g5|g6e?|p4de?|p5e?n?|inf2|trn1n?", family))


def _setting_names() -> list[str]:
    """The dataclass's fields in order, with the recipe's fields in place of recipe_overrides."""
    return [name for spec in fields(DeploymentConfig)
            for name in (recipe.FIELDS if spec.name == "recipe_overrides" else [spec.name])]


def context_keys() -> list[str]:
    """Every key the app reads, in the order of the dataclass (the README's table follows it)."""
    return [_camel(name) for name in _setting_names()]


def to_context(config: DeploymentConfig) -> dict[str, Any]:
    """The config as cdk.json context values (paths relative to the repository when inside it)."""
    out = {_camel(name): value for name, value in config.recipe_overrides.items()}
    for field in fields(config):
        if field.name == "recipe_overrides":
            continue
        value = getattr(config, field.name)
        if isinstance(value, Path):
            value = str(value.relative_to(REPO_ROOT)) if value.is_relative_to(REPO_ROOT) else str(value)
        out[_camel(field.name)] = "" if value is None else value
    return out
