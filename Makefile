# The two commands a newcomer needs (see README.md):
#   make demo   install, then run the CPU transfer study (the main job)
#   make test   install, then run the test suite
PYTHON ?= python3

.PHONY: install demo test

install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps --no-build-isolation -e .

demo: install
	$(PYTHON) tools/demo/transfer_study.py

test: install
	$(PYTHON) -m pytest tests
