"""`sentiment`: one command for every job of the project.

Each subcommand lives in its own module, imported only when that subcommand runs, so
`sentiment --help` answers at once and torch, boto3 or aws_cdk load only where they are used.
Every module exposes main(argv) -> exit status and its own argparse `--help`.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str
    summary: str
    group: str


GROUPS = ("data and model", "evaluation", "local stack", "checks and benchmarks", "infrastructure")
COMMANDS = {
    "prepare": Command("sentiment.data.prepare", "IMDb reviews -> the processed training channel", GROUPS[0]),
    "train": Command("sentiment_model.training", "train the model (what model_code/train.py runs on SageMaker)", GROUPS[0]),
    "pretrain": Command("sentiment.training.pretrain",
                        "build models/pretrained, the LSTM checkpoint train-default fine-tunes (slow, rarely)", GROUPS[0]),
    "train-default": Command("sentiment.training.train_default",
                             "rebuild models/default from the raw IMDb data, timed and documented", GROUPS[0]),
    "package": Command("sentiment.packaging", "build model.tar.gz (weights + code/) from a model folder", GROUPS[0]),
    "evaluate": Command("sentiment.evaluation.evaluate", "test-split figures and plots of a model", GROUPS[1]),
    "baseline": Command("sentiment.evaluation.baseline",
                        "the NB-weighted 1-3-gram logistic regression beside the model, same sets", GROUPS[1]),
    "batch-score": Command("sentiment.evaluation.batch_score", "score a file of reviews on every core", GROUPS[1]),
    "batch-transform": Command("sentiment.evaluation.batch_transform",
                               "score a file of reviews with a SageMaker Batch Transform job", GROUPS[1]),
    "evaluate-endpoint": Command("sentiment.evaluation.endpoint",
                                 "accuracy and latency of a deployed (or local) endpoint or API", GROUPS[1]),
    "drift": Command("sentiment.evaluation.drift",
                     "captured endpoint traffic against the training data: unknown words, length, language, scores",
                     GROUPS[1]),
    "behaviour": Command("sentiment.evaluation.behaviour", "CheckList-style behavioural tests of the model and the baseline", GROUPS[1]),
    "local": Command("sentiment.local.stack", "the whole system on this machine: site, API, model server", GROUPS[2]),
    "model-server": Command("sentiment.local.model_server", "the local SageMaker endpoint alone", GROUPS[2]),
    "api-server": Command("sentiment.local.api", "the local API Gateway + Lambda alone", GROUPS[2]),
    "site-server": Command("sentiment.local.site", "the static site with CloudFront's headers alone", GROUPS[2]),
    "fault-proxy": Command("sentiment.local.fault_proxy", "a proxy that injects faults in front of a server", GROUPS[2]),
    "smoke": Command("sentiment.checks.smoke", "after a deploy: the site and the API answer as they should", GROUPS[3]),
    "fuzz": Command("sentiment.checks.fuzz", "generated hostile bodies against each handler", GROUPS[3]),
    "soak": Command("sentiment.checks.soak", "minutes of steady load through the local stack", GROUPS[3]),
    "bench-preprocessing": Command("sentiment.checks.bench_preprocessing", "text pipeline speed", GROUPS[3]),
    "bench-inference": Command("sentiment.checks.bench_inference", "in-process handler latency and throughput",
                               GROUPS[3]),
    "bench-explain": Command("sentiment.checks.bench_explain",
                             "faithfulness and cost of the word weights, the uncertain band's accuracy", GROUPS[3]),
    "bench-local": Command("sentiment.checks.bench_local", "local stack start-up and throughput", GROUPS[3]),
    "bench-synth": Command("sentiment.checks.bench_synth", "time of `cdk synth`", GROUPS[3]),
    "container-test": Command("sentiment.checks.container_test",
                              "the endpoint's contract on the real SageMaker serving stack and the local one",
                              GROUPS[3]),
    "audit": Command("sentiment.checks.audit", "bandit and pip-audit, with acknowledgements", GROUPS[3]),
    "snapshot": Command("stacks.review.snapshot", "refresh the committed template snapshots", GROUPS[4]),
    "lint-templates": Command("stacks.review.lint_templates",
                              "cfn-lint over the synthesized templates, as a table", GROUPS[4]),
    "diff": Command("stacks.review.diff", "what the current templates change against tests/snapshots/ at a git ref",
                    GROUPS[4]),
    "models": Command("sentiment.registry", "the stage's model registry: list, show, approve, reject versions", GROUPS[4]),
}


def usage() -> str:
    width = max(map(len, COMMANDS)) + 2
    lines = ["usage: sentiment <command> [options]", "",
             "Movie-review sentiment on SageMaker: data, model, local stack, checks and deploy helpers.",
             "`sentiment <command> --help` explains each command's options."]
    for group in GROUPS:
        lines += ["", f"{group}:"]
        lines += [f"  {name:<{width}}{command.summary}" for name, command in COMMANDS.items()
                  if command.group == group]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"sentiment: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    # argparse names the program after argv[0]; this makes every --help read `sentiment <name>`.
    sys.argv[0] = f"sentiment {name}"
    status = importlib.import_module(command.module).main(rest)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
