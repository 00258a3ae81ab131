# Speleo: `make run` (the server on the embedded default) and `make test` do all set-up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOGS ?= /var/log
SPELEO_HOME ?= var/speleo
PORT ?= 8000
export SPELEO_HOME

.PHONY: run test bench install clean

$(STAMP): pyproject.toml src/speleo/web/package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	# the web UI's charting library (Chart.js) from npm into src/speleo/web/node_modules (git-ignored)
	if command -v npm >/dev/null 2>&1; then cd src/speleo/web && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the web UI draws its charts in SVG (see docs/web.md)"; fi
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/speleo serve --port $(PORT) --monitor $(LOGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=30

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build *.egg-info
