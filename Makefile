# The two commands a newcomer needs (see README.md):
#   make demo   install, then run the CPU transfer study (the main job)
#   make test   install, then run the test suite
#   make lint   the OpenMMLab lint set of .pre-commit-config.yaml, as CI runs
#               it (the pre-commit-hooks fixers rewrite what they fix, and fail)
PYTHON ?= python3
LINT_PATHS = mmadaptformer tools tests configs setup.py

.PHONY: install demo test lint

install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps --no-build-isolation -e .

demo: install
	$(PYTHON) tools/demo/transfer_study.py

test: install
	$(PYTHON) -m pytest -n auto --dist loadgroup tests

lint:
	$(PYTHON) -m pip install -r requirements/lint.txt
	$(PYTHON) -m flake8 $(LINT_PATHS)
	$(PYTHON) -m isort --check-only --diff $(LINT_PATHS)
	$(PYTHON) -m yapf --diff --recursive $(LINT_PATHS)
	git ls-files -z '*.py' | xargs -0 $(PYTHON) -m pre_commit_hooks.string_fixer
	git grep -zIl '' | xargs -0 $(PYTHON) -m pre_commit_hooks.end_of_file_fixer
	git grep -zIl '' | xargs -0 $(PYTHON) -m pre_commit_hooks.trailing_whitespace_fixer
	git ls-files -z '*.yml' '*.yaml' | xargs -0 $(PYTHON) -m pre_commit_hooks.check_yaml
