# The two commands a newcomer needs (see README.md):
#   make test   install the pinned stack and this package, run the test suite
PYTHON ?= python3

.PHONY: install test

install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps --no-build-isolation -e .

test: install
	$(PYTHON) -m pytest tests
