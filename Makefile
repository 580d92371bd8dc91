# omni360 — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo
CUSTOMERS ?= 5000
SCALE  ?= 10k
SPARK_WORK ?= data/spark-check

.PHONY: setup browser demo test test-spark lint ui docs dashboard bench-stitching bench-syncs bench bench-next-day clean lock

$(BIN)/omni360: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(BIN)/omni360

setup: $(BIN)/omni360 ## create the virtualenv with pinned dependencies

$(VENV)/.spark-extra: $(BIN)/omni360
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $@

demo: setup ## generate demo data, run the whole pipeline, show what was loaded
	rm -rf $(DEMO)
	$(BIN)/omni360 generate --landing $(DEMO)/landing --truth $(DEMO)/truth --customers $(CUSTOMERS)
	$(BIN)/omni360 run --landing $(DEMO)/landing --db $(DEMO)/omni360.duckdb
	$(BIN)/omni360 evaluate --truth $(DEMO)/truth --db $(DEMO)/omni360.duckdb
	@echo
	@echo "Demo warehouse: $(DEMO)/omni360.duckdb"
	@echo "KPI dashboard:  $(DEMO)/dashboard/index.html   (or make dashboard)"
	@echo "Lineage UI:     make ui   (then open http://127.0.0.1:3000)"

browser: ## Debian's headless Chromium for the page tests (installed once, when missing)
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The Spark check waits on Spark's many small queries more than it computes: it runs beside
# pytest, its output kept in a file and printed once both are done.
test: setup browser $(VENV)/.spark-extra ## lint, then the whole test suite, the Spark check beside pytest
	$(MAKE) lint
	@mkdir -p $(SPARK_WORK); \
	$(MAKE) --no-print-directory test-spark > $(SPARK_WORK)/test-spark.log 2>&1 & spark=$$!; \
	$(BIN)/pytest; pytest_status=$$?; \
	wait $$spark; spark_status=$$?; \
	echo "----- make test-spark (ran beside pytest; exit $$spark_status) -----"; \
	cat $(SPARK_WORK)/test-spark.log; \
	exit $$(( pytest_status || spark_status ))

test-spark: setup $(VENV)/.spark-extra ## the dbt project on Spark (session): every model and test, marts as on DuckDB
	@start=$$(date +%s); \
	OMNI360_SPARK_WORK=$(SPARK_WORK) $(BIN)/pytest tests/spark -m spark -n 0 -p no:cacheprovider; \
	status=$$?; echo "make test-spark: $$(( $$(date +%s) - start )) s in all"; exit $$status

lint: setup ## ruff on Python, sqlfluff (dbt templater) on SQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models --processes 2

ui: setup ## Dagster UI on the demo warehouse
	$(BIN)/omni360 ui --landing $(DEMO)/landing --db $(DEMO)/omni360.duckdb

docs: setup ## dbt docs of the demo warehouse, served on http://127.0.0.1:8080
	$(BIN)/omni360 docs --db $(DEMO)/omni360.duckdb --serve

dashboard: setup ## the demo's KPI dashboard, served on http://127.0.0.1:8360
	$(BIN)/omni360 dashboard --db $(DEMO)/omni360.duckdb --serve

bench-stitching: setup ## identity stitching: the dbt macro against scipy at 100k, 1m and 10m edges
	$(BIN)/python -m bench.stitching --edges 100k 1m 10m

bench-syncs: setup ## reverse-ETL syncs to the local emulator: records/s and re-sync at 1m members, peak memory at 1m and 5m
	$(BIN)/python -m bench.syncs --members 1m 5m --braze 1m

bench: setup ## the whole pipeline for SCALE customers (10k, 100k, 1m): stage times, peak memory, baselines, targets
	$(BIN)/python -m bench.scale --scale $(SCALE)

bench-next-day: setup ## a full dbt build, then two held-back days built incrementally one after the other, for SCALE customers; each day's share of the full build
	$(BIN)/python -m bench.next_day --scale $(SCALE)

lock: ## re-pin every transitive dependency after changing pyproject.toml
	rm -rf /tmp/omni360-lock && $(PYTHON) -m venv /tmp/omni360-lock
	/tmp/omni360-lock/bin/pip install --quiet '.[dev,spark]'
	(echo "# Full pinned dependency set (the lock). Regenerate with: make lock"; \
	 /tmp/omni360-lock/bin/pip freeze --exclude omni360) > constraints.txt

clean:
	rm -rf $(VENV) target logs data .dagster_home
