#!/usr/bin/env bash
# Proves the lower bounds in pyproject.toml: installs every dependency (the test extras included)
# at exactly its lower bound in a throwaway virtual environment, then runs the tests that touch
# each of them (no browser or Node tests). Usage: bash tests/lower_bounds.sh [VENV_DIR]
# (default /tmp/telco-emulator-lower-bounds; it is made anew).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/tmp/telco-emulator-lower-bounds}"
rm -rf "$venv"
python3 -m venv "$venv"
pins=$(python3 - <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
    name, lowest = re.match(r"([A-Za-z0-9_.\-\[\]]+)>=([0-9.]+)", requirement).groups()
    print(f"{name}=={lowest}")
PY
)
# shellcheck disable=SC2086  # one pin a word
"$venv/bin/pip" install -e ".[test]" $pins
"$venv/bin/pip" freeze | grep -iE "^($(echo "$pins" | sed 's/\[.*\]//; s/==.*//; s/[-_]/[-_]/g' | paste -sd'|'))==" || true
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/api \
    tests/contract/test_errors_elks.py tests/contract/test_errors_seven.py \
    tests/robustness/test_exposure.py tests/robustness/test_snapshot_format.py tests/robustness/test_fuzz_parsers.py
