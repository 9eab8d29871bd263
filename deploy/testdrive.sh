#!/usr/bin/env bash
# The README's run command: the whole product on this machine, on embedded defaults
# (SQLite + a broker that needs no server), with a demo AWS cloud so there is something to see.
# Creates .venv and installs the project the first time. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ needed" >&2; exit 1; }
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
# mysqlclient (a dependency, for production MySQL) builds against these headers.
if command -v apt-get >/dev/null && ! dpkg -s libmariadb-dev pkg-config >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config build-essential >/dev/null
  else
    echo "please install: libmariadb-dev pkg-config build-essential" >&2; exit 1
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat .venv/.installed-demo 2>/dev/null)" != "$stamp" ]; then
  echo "installing InsightCloud into .venv (first run takes a few minutes) …"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[demo]"
  echo "$stamp" > .venv/.installed-demo
fi
exec .venv/bin/python manage.py testdrive --demo "$@"
