"""The pretrained checkpoint the training job fine-tunes: uploaded to a prefix of its own and handed
to the job as its `pretrained` channel, readable by the SageMaker role and nothing more; none with
an empty pretrainedCheckpoint or with pretrainInJob (the job then rebuilds the pretraining stage
itself); and a checkpoint that cannot be the dataset's refused at synthesis, in one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from sentiment.packaging import tree_hash
from stacks import config as config_module
from stacks.config import TRAINING_BUDGET_MINUTES, ConfigError, DeploymentConfig
from stacks.delivery import recorded_context
from stacks.training_job.handler import training_job_request

VOCABULARY = ["good", "bad", "film"]


def make_checkpoint(folder: Path, weights: bytes = b"pretrained weights", vocabulary=VOCABULARY) -> Path:
    """A folder shaped like models/pretrained (what `sentiment pretrain` writes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_bytes(weights)
    (folder / "model_config.json").write_text("{}")
    (folder / "vocab.json").write_text(json.dumps(vocabulary))
    (folder / "preprocessing.json").write_text("{}")
    (folder / "metrics.json").write_text("{}")
    (folder / "README.md").write_text("# A stand-in checkpoint\n")
    return folder


def make_dataset(folder: Path, vocabulary=VOCABULARY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "vocab.json").write_text(json.dumps(vocabulary))
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pretrained")
    return {"dataset": make_dataset(root / "dataset"), "checkpoint": make_checkpoint(root / "checkpoint"),
            "retrained": make_checkpoint(root / "retrained", weights=b"better pretrained weights")}


def parse(**context) -> DeploymentConfig:
    return DeploymentConfig.from_context(context.get)


def artifacts_object(key: str) -> dict:
    """How the template spells the artifacts bucket's object ARN (the state stack's bucket, by name)."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::sentiment-dev-artifacts-",
                              {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}, f"/{key}"]]}


def job_properties(app) -> dict:
    (job,) = app.model.find_resources("Custom::SageMakerTrainingJob").values()
    return job["Properties"]


# The channel --------------------------------------------------------------------------------

def test_the_checkpoint_is_uploaded_and_given_to_the_job_as_its_pretrained_channel(synth, folders):
    """train.py reads $SM_CHANNEL_PRETRAINED; the prefix is named after the checkpoint's content,
    so a running job keeps reading exactly the checkpoint it started on."""
    app = synth(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(folders["checkpoint"]))
    prefix = f"pretrained/{tree_hash(folders['checkpoint'])[:16]}/"

    app.model.has_resource_properties("Custom::CDKBucketDeployment", {"DestinationBucketKeyPrefix": prefix})
    app.model.has_resource_properties("Custom::SageMakerTrainingJob", {
        "PretrainedDataUri": {"Fn::Join": ["", ["s3://sentiment-dev-artifacts-", {"Ref": "AWS::AccountId"}, "-",
                                                {"Ref": "AWS::Region"}, f"/{prefix}"]]},
        "PretrainedHash": tree_hash(folders["checkpoint"]),
    })


def test_the_sagemaker_role_may_list_and_read_the_checkpoints_prefix_only(synth, folders):
    """The job reads the channel as the SageMaker role: that prefix, not the whole bucket."""
    app = synth(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(folders["checkpoint"]))
    prefix = f"pretrained/{tree_hash(folders['checkpoint'])[:16]}/"

    app.model.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Action": "s3:GetObject", "Effect": "Allow",
                           "Resource": Match.array_with([artifacts_object(f"{prefix}*")])}),
        Match.object_like({"Action": "s3:ListBucket", "Effect": "Allow",
                           "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}}),
    ])}})


def test_the_job_request_names_the_pretrained_channel_like_the_others():
    """CreateTrainingJob's channel, as the handler builds it from the resource's properties."""
    props = {"JobName": "sentiment-dev-0123456789abcdef", "RoleArn": "arn:aws:iam::123456789012:role/sm",
             "TrainingImage": "image", "Hyperparameters": {}, "TrainingDataUri": "s3://bucket/training-data/a/",
             "PretrainedDataUri": "s3://bucket/pretrained/b/", "OutputUri": "s3://bucket/training-output/",
             "InstanceType": "ml.c5.2xlarge", "VolumeSizeGb": "10", "UseSpot": "false", "MaxRuntimeSeconds": "2700"}

    channels = training_job_request(props)["InputDataConfig"]

    assert [channel["ChannelName"] for channel in channels] == ["training", "pretrained"]
    assert channels[1]["DataSource"] == {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/pretrained/b/", "S3DataDistributionType": "FullyReplicated"}}


def test_a_new_checkpoint_retrains(synth, folders):
    """The job's name is a hash of what shapes the model; the checkpoint does, so a rebuilt
    checkpoint must give a new job rather than adopt the old one's model."""
    names = {job_properties(synth(trainingData=str(folders["dataset"]), pretrainedCheckpoint=checkpoint))["JobName"]
             for checkpoint in (str(folders["checkpoint"]), str(folders["retrained"]), "")}

    assert len(names) == 3


# No channel ---------------------------------------------------------------------------------

def test_an_empty_pretrained_checkpoint_means_no_channel(synth, folders):
    """`-c pretrainedCheckpoint=`: the LSTM starts from word vectors, as before checkpoints."""
    app = synth(trainingData=str(folders["dataset"]), pretrainedCheckpoint="")

    app.model.has_resource_properties("Custom::SageMakerTrainingJob", {
        "PretrainedDataUri": Match.absent(), "PretrainedHash": Match.absent()})
    assert "pretrained/" not in json.dumps(app.model_json)


def test_pretrain_in_job_drops_the_channel_sets_the_hyperparameter_and_takes_the_whole_budget(synth, folders):
    """The job rebuilds the pretraining stage before fine-tuning, so it gets every minute
    CloudFormation's one-hour wait allows, whatever trainingMaxRuntimeMinutes says."""
    app = synth(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(folders["checkpoint"]),
                pretrainInJob="true")

    app.model.has_resource_properties("Custom::SageMakerTrainingJob", {
        "PretrainedDataUri": Match.absent(),
        "Hyperparameters": Match.object_like({"pretrain-first": "True",
                                              "max-minutes": str(TRAINING_BUDGET_MINUTES - 5)}),
        "MaxRuntimeSeconds": TRAINING_BUDGET_MINUTES * 60,
    })
    assert "pretrained/" not in json.dumps(app.model_json)


def test_without_pretrain_in_job_the_hyperparameters_do_not_name_it(folders):
    """A job that does not pretrain keeps the hyperparameters, hence the name, it had before the key."""
    config = parse(trainingData=str(folders["dataset"]), pretrainedCheckpoint="")

    assert "pretrain-first" not in config.hyperparameters
    assert config.max_runtime_minutes == config.training_max_runtime_minutes == 45


def test_the_default_folder_may_be_absent(tmp_path, monkeypatch, folders):
    """models/pretrained, the default, is optional: without it the job trains from word vectors."""
    absent = tmp_path / "models" / "pretrained"
    monkeypatch.setattr(config_module, "DEFAULT_PRETRAINED_CHECKPOINT", absent)

    config = parse(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(absent))

    assert config.pretrained_checkpoint == absent
    assert config.pretrained_channel is None


# Refused at synthesis -----------------------------------------------------------------------

def test_a_checkpoint_path_that_does_not_exist_is_refused(tmp_path, folders):
    missing = tmp_path / "no-such-checkpoint"

    with pytest.raises(ConfigError) as error:
        parse(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(missing))

    assert str(error.value) == (f"pretrainedCheckpoint: {missing} does not exist; pass a checkpoint folder written "
                                f"by `sentiment pretrain` (models/pretrained), or -c pretrainedCheckpoint= for none")


def test_a_checkpoint_of_another_vocabulary_is_refused_naming_both_files(tmp_path, folders):
    """train.py would refuse it only after the deploy had started the job; synthesis says it first."""
    other = make_checkpoint(tmp_path / "other", vocabulary=["great", "awful"])

    with pytest.raises(ConfigError) as error:
        parse(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(other))

    message = str(error.value)
    assert "\n" not in message
    assert str(other / "vocab.json") in message and str(folders["dataset"] / "vocab.json") in message


def test_pretrain_in_job_does_not_read_the_checkpoint(tmp_path, folders):
    """With pretrainInJob there is no channel, so a checkpoint that would not fit is no obstacle."""
    other = make_checkpoint(tmp_path / "other", vocabulary=["great", "awful"])

    config = parse(trainingData=str(folders["dataset"]), pretrainedCheckpoint=str(other), pretrainInJob="true")

    assert config.pretrained_channel is None
    assert config.hyperparameters["pretrain-first"] == "True"


def test_the_pipeline_passes_a_relative_checkpoint_or_none_again_but_no_local_folder():
    """The delivery pipeline synthesizes from its own checkout: a folder of the deploying machine
    would not be there (nor may its path reach the template), while `-c pretrainedCheckpoint=` must
    keep meaning no channel on every run."""
    def recorded(value: str) -> dict:
        return recorded_context({"pretrainedCheckpoint": value}.get)

    assert recorded("/home/someone/checkpoints/pretrained") == {}
    assert recorded("models/pretrained") == {}  # cdk.json's own value
    assert recorded("checkpoints/v2") == {"pretrainedCheckpoint": "checkpoints/v2"}
    assert recorded("") == {"pretrainedCheckpoint": ""}
