# Every target creates/updates the project's virtualenv itself, so each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXTRAS ?= dev,server,postgres,mcp
# llama-cpp-python is compiled here; its default (native) build crashed on this CPU family.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF
TOPIC ?= How do heat pumps work?

.PHONY: install install-local-llm demo test test-fast lint bench clean studio

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(PY)
	$(PIP) install --quiet -e ".[$(EXTRAS)]"

install-local-llm: install
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --quiet -e ".[$(EXTRAS),local-llm]"

demo: install
	$(VENV)/bin/harness run "$(TOPIC)" --yes

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest tests/unit

lint: install
	$(VENV)/bin/ruff check app graphs tests bench notebooks

studio: install    # serves langgraph.json's graphs for LangGraph Studio (see README)
	$(VENV)/bin/langgraph dev

bench: install
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .harness .pytest_cache
