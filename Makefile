# Two commands set everything up on a fresh Debian machine with Python 3.11 and a JDK:
#   make serve   serves the demo models over HTTP on 127.0.0.1:8080 (installs what it needs first)
#   make test    runs every test, Python and Java (installs what it needs first)
# Each creates the virtual environment, installs Gradle from Debian when missing, builds the
# java_client jar into the Python package and installs the package with its [test] extra.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GRADLE := gradle --quiet --console=plain
JARS   := scoring/jars/.built
JAVA_SOURCES := build.gradle settings.gradle $(shell find java_client/src/main -type f 2>/dev/null)
PY_DIRS := pmmlkit scoring converter tests bench

.PHONY: setup serve test test-java test-python lint jars gradle chromium postgresql golden demo-models wheel publish-local clean

setup: $(BIN)/.installed $(JARS)

serve: setup
	$(BIN)/pmmlkit models list
	$(BIN)/pmmlkit serve --store pmml_models

test: setup lint test-java test-python

lint: $(BIN)/.installed
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

test-java: gradle
	$(GRADLE) test

test-python: setup chromium postgresql
	$(BIN)/pytest -q

jars: $(JARS)

$(JARS): $(JAVA_SOURCES) | gradle
	$(GRADLE) pythonJars allJar
	touch $@

gradle:
	@command -v gradle >/dev/null || { echo "Installing Gradle from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gradle; }

# tests/test_ui.py drives Debian's Chromium through playwright (which never downloads a browser).
chromium:
	@test -x /usr/bin/chromium || { echo "Installing Chromium from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# tests/test_predlog.py starts a throwaway PostgreSQL server (the shared prediction log).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "Installing PostgreSQL from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The Java library, its sources, javadoc and the CSV tool's -all jar as a Maven repository in build/m2.
publish-local: gradle
	$(GRADLE) -Dmaven.repo.local=$(CURDIR)/build/m2 publishToMavenLocal

# The wheel carries the jars, so a pip user needs only a Java runtime.
wheel: $(BIN)/.installed $(JARS)
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

# Regenerates tests/golden/ (seeded); needs the [convert] extra, which `make setup` installs.
golden: setup
	$(BIN)/python tests/golden/make_golden.py

# Publishes the golden cases into pmml_models/ as the demo models (a changed PMML: a new version).
demo-models: setup
	$(BIN)/python -m pmmlkit.converter.demo --store pmml_models

clean:
	rm -rf $(VENV) build dist .gradle scoring/jars *.egg-info
