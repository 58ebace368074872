# Shortcuts for `python3 dev.py ...` (which needs nothing but Python).
.PHONY: run test bench lint
run:
	python3 dev.py run
test:
	python3 dev.py test
bench:
	python3 dev.py bench
lint:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .
