# FraudOps developer commands. Every target creates .venv from pyproject.toml if needed.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# settings.py refuses to start without these when DEBUG is off (the default, as in production).
# The demo, tests and checks run on public development values unless the environment has its own.
export SECRET_KEY ?= django-insecure-fraudops-dev-only
export PII_HASH_KEY ?= fraudops-dev-only-pii-key

.PHONY: venv demo test check fmt lint types migrations-check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/pip install --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(BIN)/pip install -e '.[dev]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python manage.py demo

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
