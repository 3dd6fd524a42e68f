# FraudOps developer commands. Every target creates .venv from pyproject.toml if needed.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# settings.py refuses to start without these when DEBUG is off (the default, as in production).
# The demo, tests and checks run on public development values unless the environment has its own.
export SECRET_KEY ?= django-insecure-fraudops-dev-only
export PII_HASH_KEY ?= fraudops-dev-only-pii-key

# Options for the demo, e.g. make demo ARGS="--port 8001 --rate 5" (python manage.py demo -h).
ARGS ?=

.PHONY: upgrade venv demo demo-reset test check fmt lint types migrations-check bench bench-quality clean

# pip is quiet for a minute or more on a first install: this filter turns its log into a line
# per ten packages resolved, one when installing starts and one at the end, and says "still
# working" after 15 s without news (pipefail keeps pip's exit status).
PIP_PROGRESS = n=0; while true; do \
	if IFS= read -r -t 15 line; then case "$$line" in \
	Collecting*) n=$$((n + 1)); if [ $$((n % 10)) = 0 ]; then echo "  $$n packages resolved ($${SECONDS} s)"; fi ;; \
	"Installing collected packages"*) echo "  $$n packages resolved; installing them ($${SECONDS} s)" ;; \
	"Successfully installed"*) echo "  installed ($${SECONDS} s)" ;; \
	esac; elif [ $$? -gt 128 ]; then echo "  still working ($${SECONDS} s)"; else break; fi; done

$(STAMP): SHELL := /bin/bash
$(STAMP): .SHELLFLAGS := -o pipefail -c
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/pip install --progress-bar off --upgrade pip 2>&1 | tee $(VENV)/install.log \
		| { $(PIP_PROGRESS); } || (tail -40 $(VENV)/install.log; exit 1)
	@$(BIN)/pip install --progress-bar off -c constraints.txt -e '.[dev]' 2>&1 | tee -a $(VENV)/install.log \
		| { $(PIP_PROGRESS); } || (tail -40 $(VENV)/install.log; exit 1)
	touch $(STAMP)

venv: $(STAMP)

# Re-resolve pyproject.toml's ranges to the newest releases and pin them in constraints.txt;
# run make check next, and commit constraints.txt only if it passes.
upgrade: $(STAMP)
	$(BIN)/pip install --progress-bar off --upgrade -e '.[dev]' >> $(VENV)/install.log
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python manage.py demo $(ARGS)

# The demo keeps its database and models in var/ (the embedded default): remove them to start
# again from an empty database, a new history and a new model.
demo-reset:
	rm -rf var/fraudops.sqlite3 var/models

test: $(STAMP)
	$(BIN)/pytest

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/decisions.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/queue_page.py
	$(BIN)/python bench/training.py

# The model's quality against textbook baselines, on simulated data posted through the API
# (minutes; ARGS="--quick" for a short check, ARGS="--size N" for more payments).
bench-quality: $(STAMP)
	$(BIN)/python bench/model_quality.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
