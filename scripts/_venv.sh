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
  echo "installing Python packages into .venv (first run takes a minute; log in .venv/install.log)" >&2
  {
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  } > .venv/install.log 2>&1 || { tail -30 .venv/install.log >&2; echo "pip install failed" >&2; exit 1; }
  .venv/bin/python -c "import server, flask_socketio, pandas, python_calamine, soundfile, PIL, playwright, aiohttp" \
    || { echo "installing packages into .venv failed (see .venv/install.log)" >&2; exit 1; }
  touch "$STAMP"
fi
# The phone's audio helper jar (phone_agent/android/dist/), built from its smali
# sources when they changed and Debian's smali and dexdump are installed
# (scripts/test installs them; without them the adb path reports
# "audio helper not built" and scripts/build-helper says what to install).
.venv/bin/python -m phone_agent.android.build --if-changed --if-tools >/dev/null
# scrcpy-server v3.3.4 hears the call on a real phone (and in the adb tests): fetched once,
# then kept (offline afterwards). Without it only the adb path lacks call audio.
if [ ! -f "${ARS_SCRCPY_SERVER:-${XDG_CACHE_HOME:-$HOME/.cache}/mobile-ars/scrcpy-server-v3.3.4}" ]; then
  scripts/fetch-scrcpy-server >&2 || echo "warning: scrcpy-server not fetched; the adb backend cannot hear calls until scripts/fetch-scrcpy-server succeeds" >&2
fi
