# Linli — the two commands of the README, and the checks CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run serve test install js-clients lint typecheck check-generated schema messages bench ci clean

# Install (or update) everything into $(VENV); re-runs only when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# The JavaScript GraphQL client (graphql-ws) of tests/realtime/test_multi_process.py, on
# Node.js; re-installs only when its lock file changes.
JS_CLIENTS := tests/realtime/js
$(JS_CLIENTS)/node_modules/.installed: $(JS_CLIENTS)/package-lock.json
	npm ci --prefix $(JS_CLIENTS) --no-audit --no-fund
	touch $@

js-clients: $(JS_CLIENTS)/node_modules/.installed

## make run: the embedded default — SQLite, in-memory channel layer, file-system Celery
## broker — with the demo community, on http://127.0.0.1:$(PORT)
run: install
	$(BIN)/linli migrate --no-input
	$(BIN)/linli compilemessages --ignore "$(VENV)/*" -v 0
	$(BIN)/linli load_demo
	$(MAKE) --no-print-directory serve

# The processes of the embedded default (web + Celery worker with beat), without set-up.
serve:
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho -f deploy/Procfile.embedded start

## make test: the whole suite (on PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: install $(if $(shell command -v npm),js-clients)
	$(BIN)/linli compilemessages --ignore "$(VENV)/*" -v 0
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy backend schema notifications

# Fails when a model change lacks its migration or schema/schema.graphql is stale.
check-generated: install
	$(BIN)/linli makemigrations --check --dry-run
	$(BIN)/python -m schema.export --check

schema: install
	$(BIN)/python -m schema.export

messages: install
	$(BIN)/linli makemessages -l zh_Hans --no-obsolete -i "$(VENV)/*" -i "tests/*" -i "bench/*" -i "var/*"

bench: install
	$(BIN)/python bench/read_api.py
	$(BIN)/python bench/import_service_points.py
	$(BIN)/python bench/enrollment.py --threads 8

clean:
	rm -rf $(VENV) var $(JS_CLIENTS)/node_modules
