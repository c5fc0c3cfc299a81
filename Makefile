# One entry per job. `make local` and `make test` work on a fresh clone: both create .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SENTIMENT := $(VENV)/bin/sentiment
STAMP := $(VENV)/.installed
# The IMDb reviews: the shared JSON-lines copy where there is one, else the official archive.
IMDB ?= $(if $(wildcard ../shared/data/imdb/train.jsonl.gz),../shared/data/imdb,https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz)
DATA ?= data/processed
MODEL ?= models/default
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: venv node toolkits container-test test local prepare drift-profile train evaluate baseline behaviour pretrain train-default bench bench-local lint synth snapshot deploy destroy bench-synth smoke batch-score clean fuzz soak audit

venv: $(STAMP)
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

# The SageMaker serving and training toolkits, as AWS's images pin them (requirements-toolkits.txt).
TOOLKITS_STAMP := $(VENV)/.toolkits-installed
toolkits: $(TOOLKITS_STAMP)
$(TOOLKITS_STAMP): requirements-toolkits.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-toolkits.txt
	touch $@

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: venv node  ## the whole test suite (what CI runs)
	$(PY) -m pytest -q -n auto --dist loadfile

local: venv  ## the whole system on this machine: site, API, model server
	$(SENTIMENT) local --model $(MODEL)

prepare: venv  ## IMDb -> processed training channel (default source: the official tarball), and the linear baseline's figures for it, $(DATA)-baseline.json, which the registry records (about 45 s)
	$(SENTIMENT) prepare --source $(IMDB) --out $(DATA)
	$(SENTIMENT) baseline --dataset $(DATA) --data $(IMDB)

drift-profile: venv  ## the drift check's reference profile of $(MODEL), from the held-out part of $(IMDB)'s training split, at driftProfile's default path (about 6 s)
	$(SENTIMENT) drift --write-profile build/drift/profile.json --model $(MODEL) --reference $(IMDB)

train: venv
	$(SENTIMENT) train --data-dir $(DATA) --model-dir build/model --output-data-dir build/output

evaluate: venv
	$(SENTIMENT) evaluate --model build/model --data $(IMDB) --out build/evaluation

baseline: venv  ## the linear baseline beside models/default: validation, short snippets, test
	$(SENTIMENT) baseline --model $(MODEL) --data $(IMDB) --test --out build/baseline.json

behaviour: venv  ## behavioural tests (negation, contrast, ratings, sarcasm, invariance...) of the model and the baseline
	$(SENTIMENT) behaviour --model $(MODEL) --data $(IMDB) --json build/behaviour.json

pretrain: venv  ## rebuild models/pretrained, the checkpoint train-default fine-tunes (about 25 min; models/pretrained/README.md)
	$(SENTIMENT) pretrain --imdb $(IMDB)

train-default: venv  ## rebuild models/default from the real IMDb data (documented in models/default/README.md)
	$(SENTIMENT) train-default --imdb $(IMDB)

bench: venv  ## every benchmark; prints figures
	$(SENTIMENT) bench-preprocessing --data $(IMDB)
	$(SENTIMENT) bench-inference --model $(MODEL) --data $(IMDB)
	$(SENTIMENT) bench-explain --model $(MODEL) --data $(IMDB)

bench-local: venv  ## the local stack: time to first prediction, then 16 clients for 30 s
	$(SENTIMENT) bench-local --model $(MODEL)

container-test: venv toolkits  ## the endpoint's contract on the real SageMaker serving stack (TorchServe, Java 17) and the local one
	$(SENTIMENT) container-test --model $(MODEL)

fuzz: venv  ## 10,000 generated hostile bodies per handler (inference, Lambda) and crafted reviews up to 100,000 characters, each held to 1 s; prints statuses
	$(SENTIMENT) fuzz --model $(MODEL)

soak: venv  ## 5 minutes at 200 requests/s through the local stack: errors, p50/p99, memory growth
	$(SENTIMENT) soak --model $(MODEL)

audit: venv  ## bandit on the code, pip-audit on the installed packages; acknowledgements in audit.toml
	$(SENTIMENT) audit

CDK := node_modules/.bin/cdk
CDK_ARGS ?=
# Which deployment: dev (serverless, disposable) or prod (real-time behind the canary), cdk.json's `stages`.
STAGE ?= dev
OUTPUTS ?= cdk-outputs-$(STAGE).json

synth: venv node  ## the stage's templates into cdk.out/; e.g. STAGE=prod CDK_ARGS="-c modelArtifact=models/default"
	$(CDK) synth --no-notices --quiet -c stage=$(STAGE) $(CDK_ARGS)

snapshot: venv  ## refresh tests/snapshots/ (committed templates) after an infrastructure change
	$(SENTIMENT) snapshot

deploy: venv node  ## the stage's stacks on AWS, e.g. STAGE=prod (credentials and a one-time `cdk bootstrap` needed)
	$(CDK) deploy --all --no-notices -c stage=$(STAGE) --outputs-file $(OUTPUTS) $(CDK_ARGS)

destroy: venv node  ## delete the stage's stacks (cdk asks first); see docs/deployment.md#teardown for what stays
	$(CDK) destroy --all --no-notices -c stage=$(STAGE) $(CDK_ARGS)

bench-synth: venv node  ## median of 3 `cdk synth` runs (target: 30 s)
	$(SENTIMENT) bench-synth

batch-score: venv  ## score the IMDb test split on every core, with the evaluation figures
	$(SENTIMENT) batch-score --model $(MODEL) --input $(IMDB) --out build/predictions.jsonl

smoke: venv  ## after `make deploy STAGE=...`: that stage's site and API answer as they should
	$(SENTIMENT) smoke --stack-outputs $(OUTPUTS)

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf build .pytest_cache
