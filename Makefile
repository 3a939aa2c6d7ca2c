# The two commands a newcomer needs: `make run` (the demo) and `make test`. Each sets up .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean plugin-zip plugin-mo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# The bot on its demo config: reads config/demo/feed.xml and prints each post. Ctrl-C stops it.
run: $(STAMP)
	$(BIN)/bot run --config config/demo.yaml

# Lint (ruff, strict mypy on bot/), then every test. pytest's "no tests ran" (exit 5) counts as a failure.
test: $(STAMP) lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no tests: failing" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy

# The companion WordPress plugin as an installable zip: dist/wp-social-bot.zip, the folder wp-social-bot/ at its root.
plugin-zip:
	@mkdir -p dist
	@rm -f dist/wp-social-bot.zip
	cd wordpress && $(PYTHON) -m zipfile -c ../dist/wp-social-bot.zip wp-social-bot

# The plugin's Arabic .mo from its .po, with gettext's msgfmt: WordPress 6.1's MO reader cannot read pybabel's
# output (it leaves the hash table's address 0).
plugin-mo:
	msgfmt -c -o wordpress/wp-social-bot/languages/wp-social-bot-ar.mo wordpress/wp-social-bot/languages/wp-social-bot-ar.po

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
