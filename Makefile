# brokercrm — the two commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Starts the embedded PostgreSQL/Redis under var/ unless DATABASE_URL / REDIS_URL are set,
# runs the command with them, and stops what it started when the command ends.
EMBEDDED := $(BIN)/python -m brokercrm.embedded run --

.PHONY: install demo demo-journey test lint format migrate shell clean-var bench-dedup bench-ledger bench-commissions bench-screening bench-webhooks bench-sync bench-mrz bench-onboarding bench-portal bench-backoffice messages

install: $(INSTALLED)

$(INSTALLED): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "brokercrm needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $(INSTALLED)

demo: install
	DEBUG=$${DEBUG:-1} $(EMBEDDED) $(BIN)/python manage.py demo

# A new client's whole journey through the client API of the running `make demo`.
demo-journey: install
	$(EMBEDDED) $(BIN)/python manage.py demo_journey $(ARGS)

test: install
	$(EMBEDDED) $(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The client languages' catalogues (locale/, and each app's own): collect the texts to translate,
# then compile them. Both need GNU gettext; the compiled .mo files are kept in the repository so
# that installing needs no gettext.
messages: install
	SECRET_KEY=messages DATABASE_URL=postgres://localhost/none REDIS_URL=redis://localhost $(BIN)/python manage.py makemessages -l es -l ar --no-location --ignore=.venv --ignore=var --ignore=bench --ignore='*/tests/*'
	SECRET_KEY=messages DATABASE_URL=postgres://localhost/none REDIS_URL=redis://localhost $(BIN)/python manage.py compilemessages -l es -l ar --ignore=.venv

migrate: install
	$(EMBEDDED) $(BIN)/python manage.py migrate

shell: install
	$(EMBEDDED) $(BIN)/python manage.py shell

bench-dedup: install
	$(EMBEDDED) $(BIN)/python bench/dedup.py $(ARGS)

bench-ledger: install
	$(EMBEDDED) $(BIN)/python bench/ledger.py $(ARGS)

bench-commissions: install
	$(EMBEDDED) $(BIN)/python bench/commissions.py $(ARGS)

bench-screening: install
	$(EMBEDDED) $(BIN)/python bench/screening.py $(ARGS)

bench-sync: install
	$(EMBEDDED) $(BIN)/python bench/sync.py $(ARGS)

bench-portal: install
	$(EMBEDDED) $(BIN)/python bench/portal.py $(ARGS)

bench-backoffice: install
	$(EMBEDDED) $(BIN)/python bench/backoffice.py $(ARGS)

bench-mrz: install
	$(BIN)/python bench/mrz.py $(ARGS)

bench-webhooks: install
	$(EMBEDDED) $(BIN)/python bench/webhooks.py $(ARGS)

bench-onboarding: install
	$(EMBEDDED) $(BIN)/python bench/onboarding.py $(ARGS)

clean-var:
	rm -rf var
