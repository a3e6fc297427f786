# guatu: two commands for a newcomer — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := $(VENV)/bin
# Two workers (the machine has two cores); a module's tests stay on one worker so module fixtures build once.
PYTEST_ARGS ?= -n 2 --dist loadfile
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint format install messages clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(BIN)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.synced node_modules/.installed

demo: install
	$(BIN)/guatu migrate --noinput
	$(BIN)/guatu demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS) -m "not serial"
	$(BIN)/pytest -p no:xdist -m serial

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/guatu makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Translations: the compiled .mo is committed, so a fresh machine needs no gettext tools.
messages: install
	cd guatu && ../$(BIN)/guatu makemessages -l en --no-obsolete --ignore=static -v 0
	cd guatu && ../$(BIN)/guatu compilemessages -l en -v 0

clean:
	rm -rf $(VENV) $(TOOLS) node_modules var
