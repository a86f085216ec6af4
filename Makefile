# Two commands do all set-up: `make run` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench clean

# pip's output goes to .venv/install.log and is shown only when the install fails.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing model-access and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install -q --upgrade pip > $(VENV)/install.log 2>&1 \
	  && $(BIN)/python -m pip install -q -e '.[dev]' >> $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log >&2; echo "make: install failed (log above)" >&2; exit 1; }
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/model-access serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# pytest's exit 5 means it collected no test: that is a broken suite, not a pass.
# Tests run in parallel on up to 4 workers (pytest-xdist); the leak guard sees them all.
test: lint
	@$(BIN)/python -m pytest -q -n auto --maxprocesses 4; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no test ran" >&2; exit 1; fi; exit $$rc

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
