# Sourced by the scripts: create .venv on first use and keep it in step with
# setup.cfg. Installs the package in editable mode with its test extra.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PY --version)" >&2
  "$PY" -m venv .venv
fi
STAMP=.venv/.installed
if [ ! -f "$STAMP" ] || [ setup.cfg -nt "$STAMP" ] || [ setup.py -nt "$STAMP" ]; then
  echo "installing Python packages into .venv (first run takes a minute)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  .venv/bin/python -c "import server, flask_socketio, pandas, python_calamine, soundfile, PIL, playwright" \
    || { echo "installing packages into .venv failed" >&2; exit 1; }
  touch "$STAMP"
fi
