# omni360 — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo
CUSTOMERS ?= 5000

.PHONY: setup demo test lint ui docs bench-stitching bench-syncs clean lock

$(BIN)/omni360: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(BIN)/omni360

setup: $(BIN)/omni360 ## create the virtualenv with pinned dependencies

demo: setup ## generate demo data, run the whole pipeline, show what was loaded
	rm -rf $(DEMO)
	$(BIN)/omni360 generate --landing $(DEMO)/landing --truth $(DEMO)/truth --customers $(CUSTOMERS)
	$(BIN)/omni360 run --landing $(DEMO)/landing --db $(DEMO)/omni360.duckdb
	$(BIN)/omni360 evaluate --truth $(DEMO)/truth --db $(DEMO)/omni360.duckdb
	@echo
	@echo "Demo warehouse: $(DEMO)/omni360.duckdb"
	@echo "Lineage UI:     make ui   (then open http://127.0.0.1:3000)"

test: setup ## lint, then the whole test suite
	$(MAKE) lint
	$(BIN)/pytest

lint: setup ## ruff on Python, sqlfluff (dbt templater) on SQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models --processes 2

ui: setup ## Dagster UI on the demo warehouse
	$(BIN)/omni360 ui --landing $(DEMO)/landing --db $(DEMO)/omni360.duckdb

docs: setup ## dbt docs for the demo warehouse
	OMNI360_DB=$(DEMO)/omni360.duckdb $(BIN)/dbt docs generate --profiles-dir . --project-dir .

bench-stitching: setup ## identity stitching: the dbt macro against scipy at 100k, 1m and 10m edges
	$(BIN)/python -m bench.stitching --edges 100k 1m 10m

bench-syncs: setup ## reverse-ETL syncs to the local emulator: records/s and re-sync at 1m members, peak memory at 1m and 5m
	$(BIN)/python -m bench.syncs --members 1m 5m --braze 1m

lock: ## re-pin every transitive dependency after changing pyproject.toml
	rm -rf /tmp/omni360-lock && $(PYTHON) -m venv /tmp/omni360-lock
	/tmp/omni360-lock/bin/pip install --quiet '.[dev]'
	(echo "# Full pinned dependency set (the lock). Regenerate with: make lock"; \
	 /tmp/omni360-lock/bin/pip freeze --exclude omni360) > constraints.txt

clean:
	rm -rf $(VENV) target logs data .dagster_home
