#!/usr/bin/env bash
# The README's test command. On a fresh Debian/Ubuntu machine it installs what is missing
# (MariaDB, Redis, build headers, Chromium, a virtualenv with the project and its test extras),
# starts MariaDB and Redis when they are installed but not running, creates the test user,
# then runs: ruff, the migrations check, pytest against MariaDB + Redis, and a smoke run of the
# foundation tests on the embedded defaults (SQLite + filesystem broker). Exits non-zero on any
# failure. Extra arguments go to the main pytest run (e.g. tests/run.sh tests/foundation -x).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*"; }

# --- system packages ------------------------------------------------------------------
PACKAGES=(mariadb-server mariadb-client redis-server libmariadb-dev pkg-config python3-venv python3-dev
          build-essential shellcheck chromium nginx)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  # Packages must not start their services while installing (nginx would take port 80, and a
  # start failure would fail the install); this script starts MariaDB and Redis itself below.
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# --- MariaDB ----------------------------------------------------------------------------
db_up() { mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1 || mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1; }
if ! db_up; then
  log "starting MariaDB"
  install -d -o mysql -g mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do db_up && break; sleep 1; done
  db_up || { echo "MariaDB did not start" >&2; exit 1; }
fi
# A dedicated test user over TCP: a fresh Debian MariaDB lets root in only over the socket.
mysql_root() { mysql --protocol=socket -uroot "$@" 2>/dev/null || mysql -h127.0.0.1 -uroot "$@"; }
mysql_root -e "CREATE USER IF NOT EXISTS 'insightcloud'@'127.0.0.1' IDENTIFIED BY 'insightcloud';
               CREATE USER IF NOT EXISTS 'insightcloud'@'localhost' IDENTIFIED BY 'insightcloud';
               GRANT ALL PRIVILEGES ON *.* TO 'insightcloud'@'127.0.0.1';
               GRANT ALL PRIVILEGES ON *.* TO 'insightcloud'@'localhost';
               CREATE DATABASE IF NOT EXISTS insightcloud CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"

# --- Redis ------------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  install -d /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# --- virtualenv -------------------------------------------------------------------------
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ needed" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$stamp" ]; then
  log "installing the project and its test extras"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[test,demo]"
  echo "$stamp" > .venv/.installed
fi
export PATH="$ROOT/.venv/bin:$PATH"

# --- configuration for the run (anything already set wins) ------------------------------
export INSIGHTCLOUD_ENV_FILE=${INSIGHTCLOUD_ENV_FILE:-none}   # never pick up an installed prod.env
export DIVVY_DB_HOST=${DIVVY_DB_HOST:-127.0.0.1} DIVVY_DB_PORT=${DIVVY_DB_PORT:-3306}
export DIVVY_DB_USERNAME=${DIVVY_DB_USERNAME:-insightcloud} DIVVY_DB_PASSWORD=${DIVVY_DB_PASSWORD-insightcloud}
export DIVVY_DB_NAME=${DIVVY_DB_NAME:-insightcloud}
export DIVVY_REDIS_HOST=${DIVVY_REDIS_HOST:-127.0.0.1} DIVVY_REDIS_PORT=${DIVVY_REDIS_PORT:-6379}
export INSIGHTCLOUD_REDIS_DB=${INSIGHTCLOUD_REDIS_DB:-15}
export INSIGHTCLOUD_DATA_DIR=${INSIGHTCLOUD_DATA_DIR:-$ROOT/var/test}
export INSIGHTCLOUD_SECRET_KEY=${INSIGHTCLOUD_SECRET_KEY:-test-secret-key}
export INSIGHTCLOUD_ENCRYPTION_KEY=${INSIGHTCLOUD_ENCRYPTION_KEY:-Oji09HNzTXjtDUaE8_89Mq831j0ryp_uXVQ4zZWqWoQ=}

log "ruff"
ruff check .
ruff format --check .

log "migrations are complete"
python manage.py makemigrations --check --dry-run

log "pytest on MariaDB + Redis"
python -m pytest "$@"

log "smoke run on the embedded defaults (SQLite + filesystem broker)"
env -u DIVVY_DB_HOST -u DIVVY_REDIS_HOST INSIGHTCLOUD_DATA_DIR="$ROOT/var/test-embedded" \
  python -m pytest tests/foundation -q
