#!/usr/bin/env bash
# InsightCloud installer for Debian/Ubuntu (apt) and CentOS/RHEL/Rocky/Alma (yum/dnf).
#
#   sudo deploy/install.sh [--role all|interface|scheduler|worker] [--with-local-db]
#                          [--with-local-redis] [--workers N] [--venv-python PATH]
#
# Installs the application from this checkout into a virtualenv run by a dedicated service
# user, writes /divvycloud/prod.env from deploy/prod.env.example when it does not exist (never
# overwrites it), creates the database and its user on a local MySQL/MariaDB when asked,
# installs the systemd units (or, where systemd is not PID 1, starts the same commands with
# deploy/insightcloudctl), migrates the database and (re)starts what changed.
#
# Safe to run again: a second run with the same code changes nothing; with new code it is the
# upgrade path (copy the code, install new requirements, migrate, restart).
#
# Every path can be moved with an environment variable, so the installer can run inside a
# scratch prefix (tests): INSIGHTCLOUD_ROOT (prefix for every default path below),
# INSIGHTCLOUD_ENV_FILE, INSIGHTCLOUD_OPT_DIR, INSIGHTCLOUD_VENV, INSIGHTCLOUD_DATA_DIR,
# INSIGHTCLOUD_SYSTEMD_DIR, INSIGHTCLOUD_TLS_DIR, INSIGHTCLOUD_NGINX_DIR,
# INSIGHTCLOUD_NGINX_SITE_DIR, INSIGHTCLOUD_NGINX_MAIN_CONF.
# Other knobs: INSIGHTCLOUD_SERVICE_USER (divvy), INSIGHTCLOUD_PYTHON (python3.11+),
# INSIGHTCLOUD_SKIP_PACKAGES=1 (no apt/yum), INSIGHTCLOUD_VENV_SEED (an existing virtualenv
# whose packages the new one may reuse instead of downloading), INSIGHTCLOUD_INIT
# (auto|systemd|fallback), INSIGHTCLOUD_NO_START=1 (install only), INSIGHTCLOUD_HTTP_PORT (80),
# INSIGHTCLOUD_HTTPS_PORT (443), INSIGHTCLOUD_WORKERS (general workers, 1),
# INSIGHTCLOUD_DB_ADMIN (mysql client command for --with-local-db, "mysql -uroot").
# Variables of prod.env.example set in the installer's environment (DIVVY_DB_NAME=…) seed a new
# prod.env; an existing prod.env is the source of truth.
set -euo pipefail
umask 022

ROLE=all
WITH_LOCAL_DB=0
WITH_LOCAL_REDIS=0
VENV_PYTHON=${INSIGHTCLOUD_PYTHON:-}
WORKERS=${INSIGHTCLOUD_WORKERS:-1}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --role) ROLE=${2:-}; shift 2 ;;
        --role=*) ROLE=${1#--role=}; shift ;;
        --with-local-db) WITH_LOCAL_DB=1; shift ;;
        --with-local-redis) WITH_LOCAL_REDIS=1; shift ;;
        --workers) WORKERS=${2:-}; shift 2 ;;
        --venv-python) VENV_PYTHON=${2:-}; shift 2 ;;
        -h | --help) usage 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
case $ROLE in all | interface | scheduler | worker) ;; *) die "--role must be all, interface, scheduler or worker (got '$ROLE')" ;; esac
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers must be a whole number of at least 1 (got '$WORKERS')"

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=${INSIGHTCLOUD_ROOT:-}
ROOT=${ROOT%/}
ENV_FILE=${INSIGHTCLOUD_ENV_FILE:-$ROOT/divvycloud/prod.env}
OPT_DIR=${INSIGHTCLOUD_OPT_DIR:-$ROOT/opt/insightcloud}
APP_DIR=$OPT_DIR/app
VENV=${INSIGHTCLOUD_VENV:-$OPT_DIR/venv}
SYSTEMD_DIR=${INSIGHTCLOUD_SYSTEMD_DIR:-$ROOT/etc/systemd/system}
TLS_DIR=${INSIGHTCLOUD_TLS_DIR:-$ROOT/etc/insightcloud/tls}
RUN_DIR=${INSIGHTCLOUD_RUN_DIR:-$ROOT/run/insightcloud}
LOG_DIR=${INSIGHTCLOUD_LOG_DIR:-$ROOT/var/log/insightcloud}
SERVICE_USER=${INSIGHTCLOUD_SERVICE_USER:-divvy}
HTTP_PORT=${INSIGHTCLOUD_HTTP_PORT:-80}
HTTPS_PORT=${INSIGHTCLOUD_HTTPS_PORT:-443}
DB_ADMIN=${INSIGHTCLOUD_DB_ADMIN:-mysql -uroot}

CHANGED=()             # what this run changed, printed at the end
RESTART_NEEDED=0       # code, requirements, units or settings changed
changed() { CHANGED+=("$1"); note "changed: $1"; }

has_role() {
    local wanted
    for wanted in "$@"; do
        [[ $ROLE == all || $ROLE == "$wanted" ]] && return 0
    done
    return 1
}

# --- system packages ------------------------------------------------------------------------

detect_package_manager() {
    if command -v apt-get >/dev/null 2>&1; then echo apt
    elif command -v dnf >/dev/null 2>&1; then echo dnf
    elif command -v yum >/dev/null 2>&1; then echo yum
    else echo none
    fi
}

missing_packages() {
    local manager=$1 package
    shift
    for package in "$@"; do
        case $manager in
            apt) dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || echo "$package" ;;
            *) rpm -q "$package" >/dev/null 2>&1 || echo "$package" ;;
        esac
    done
}

install_packages() {
    if [[ ${INSIGHTCLOUD_SKIP_PACKAGES:-0} == 1 ]]; then
        say "system packages: skipped (INSIGHTCLOUD_SKIP_PACKAGES=1)"
        return
    fi
    local manager
    manager=$(detect_package_manager)
    local -a packages
    case $manager in
        apt)
            packages=(python3 python3-venv python3-dev build-essential pkg-config default-libmysqlclient-dev
                libssl-dev openssl rsync ca-certificates)
            has_role interface && packages+=(nginx)
            ((WITH_LOCAL_DB)) && packages+=(mariadb-server mariadb-client)
            ((WITH_LOCAL_REDIS)) && packages+=(redis-server)
            ;;
        dnf | yum)
            packages=(python3 python3-devel gcc pkgconf-pkg-config openssl-devel openssl rsync ca-certificates)
            # CentOS 7 ships the MariaDB client headers; 8+ the MySQL ones.
            if [[ $manager == yum ]]; then packages+=(mariadb-devel); else packages+=(mysql-devel); fi
            has_role interface && packages+=(nginx)
            ((WITH_LOCAL_DB)) && packages+=(mariadb-server mariadb)
            ((WITH_LOCAL_REDIS)) && packages+=(redis)
            ;;
        *) die "neither apt-get nor yum/dnf found: install python3.11+, nginx and the MySQL client headers yourself and set INSIGHTCLOUD_SKIP_PACKAGES=1" ;;
    esac
    local -a missing
    mapfile -t missing < <(missing_packages "$manager" "${packages[@]}")
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "system packages: all present ($manager)"
        return
    fi
    say "system packages: installing ${missing[*]} ($manager)"
    case $manager in
        apt)
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
            ;;
        dnf | yum)
            # nginx and redis come from EPEL on CentOS/RHEL 7.
            if [[ $manager == yum ]] && ! rpm -q epel-release >/dev/null 2>&1; then yum install -y -q epel-release || true; fi
            "$manager" install -y -q "${missing[@]}"
            ;;
    esac
    changed "system packages ${missing[*]}"
}

pick_python() {
    local candidate
    for candidate in $VENV_PYTHON python3.13 python3.12 python3.11 python3; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "InsightCloud needs Python 3.11 or newer (Ubuntu 18.04/20.04: the deadsnakes python3.11 packages; RHEL 8/9: dnf install python3.11 python3.11-devel), then pass --venv-python"
}

# --- service user ---------------------------------------------------------------------------

ensure_service_user() {
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then
        say "service user: $SERVICE_USER exists"
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "must run as root to create the service user $SERVICE_USER"
    local nologin
    nologin=$(command -v nologin || echo /bin/false)
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell "$nologin" "$SERVICE_USER"
    changed "service user $SERVICE_USER"
}

service_group() { id -gn "$SERVICE_USER"; }

# --- files that change only when their content does -------------------------------------------

# install_file SRC DEST MODE [OWNER:GROUP]: copy when the content differs; says whether it did.
install_file() {
    local source=$1 dest=$2 mode=$3 owner=${4:-}
    mkdir -p "$(dirname "$dest")"
    if [[ -f $dest ]] && cmp -s "$source" "$dest"; then
        return 1
    fi
    install -m "$mode" "$source" "$dest"
    [[ -n $owner ]] && chown "$owner" "$dest"
    changed "$dest"
    return 0
}

ensure_dir() {
    local dir=$1 mode=$2 owner=${3:-}
    if [[ ! -d $dir ]]; then
        mkdir -p "$dir"
        changed "$dir/"
    fi
    [[ $(stat -c %a "$dir") == "${mode#0}" ]] || chmod "$mode" "$dir"
    if [[ -n $owner && $(stat -c %U:%G "$dir") != "$owner" ]]; then chown "$owner" "$dir"; fi
}

# --- application code and virtualenv --------------------------------------------------------

install_code() {
    say "application code: $SOURCE_DIR -> $APP_DIR"
    command -v rsync >/dev/null 2>&1 || die "rsync is needed to copy the code"
    mkdir -p "$APP_DIR"
    local report
    report=$(rsync -a --delete --checksum --itemize-changes \
        --exclude=.git --exclude=.venv --exclude=/var --exclude=__pycache__ --exclude='*.pyc' \
        --exclude=.pytest_cache --exclude=.ruff_cache --exclude='*.egg-info' --exclude=/build \
        "$SOURCE_DIR/" "$APP_DIR/")
    if [[ -n $report ]]; then
        changed "application code ($(grep -c . <<<"$report") paths)"
        RESTART_NEEDED=1
    fi
}

venv_site_packages() {
    "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

install_venv() {
    local python
    python=$(pick_python)
    if [[ ! -x $VENV/bin/python ]]; then
        say "virtualenv: creating $VENV with $python"
        "$python" -m venv "$VENV"
        changed "virtualenv $VENV"
        RESTART_NEEDED=1
    else
        say "virtualenv: $VENV exists"
    fi
    if [[ -n ${INSIGHTCLOUD_VENV_SEED:-} ]]; then
        # Reuse an existing virtualenv's packages (tests, air-gapped hosts with a prepared venv).
        local seed seed_pth
        seed=$("$INSIGHTCLOUD_VENV_SEED/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        seed_pth=$(mktemp)
        printf '%s\n' "$seed" >"$seed_pth"
        install_file "$seed_pth" "$(venv_site_packages)/insightcloud-seed.pth" 0644 || true
        rm -f "$seed_pth"
    fi
    # The pinned dependencies of pyproject.toml, installed only when one is missing or differs.
    local requirements
    requirements=$(mktemp)
    "$VENV/bin/python" - "$APP_DIR/pyproject.toml" >"$requirements" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
PY
    install_file "$requirements" "$OPT_DIR/requirements.txt" 0644 || true
    rm -f "$requirements"
    if "$VENV/bin/python" - "$OPT_DIR/requirements.txt" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
wrong = []
for line in open(sys.argv[1]):
    name, _, wanted = line.strip().partition("==")
    try:
        if wanted and version(name) != wanted:
            wrong.append(line.strip())
    except PackageNotFoundError:
        wrong.append(line.strip())
sys.exit(1 if wrong else 0)
PY
    then
        say "python requirements: satisfied"
    else
        say "python requirements: installing (pip)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$OPT_DIR/requirements.txt"
        changed "python requirements"
        RESTART_NEEDED=1
    fi
}

# --- prod.env -------------------------------------------------------------------------------

env_value() {
    # The last KEY=VALUE of the env file, unquoted (empty when absent or commented).
    local key=$1 line value=""
    [[ -f $ENV_FILE ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line =~ ^[[:space:]]*$key=(.*)$ ]]; then value=${BASH_REMATCH[1]}; fi
    done <"$ENV_FILE"
    value=${value#\"}
    value=${value%\"}
    printf '%s' "$value"
}

write_env_file() {
    if [[ -f $ENV_FILE ]]; then
        say "prod.env: $ENV_FILE exists, kept as it is"
        return
    fi
    say "prod.env: writing $ENV_FILE from deploy/prod.env.example"
    local env_dir tmp
    env_dir=$(dirname "$ENV_FILE")
    ensure_dir "$env_dir" 0755
    tmp=$(mktemp "$env_dir/.prod.env.XXXXXX")
    # Python edits the template: values may hold any character, and keys are made properly.
    INSTALL_DATA_DIR=$DATA_DIR INSTALL_LOCAL_DB=$WITH_LOCAL_DB INSTALL_LOCAL_REDIS=$WITH_LOCAL_REDIS \
        INSTALL_INTERFACE=$(has_role interface && echo 1 || echo 0) \
        "$VENV/bin/python" - "$APP_DIR/deploy/prod.env.example" "$tmp" <<'PY'
import base64, os, re, secrets, sys

template, target = sys.argv[1], sys.argv[2]
lines = open(template).read().splitlines()
names = [m.group(1) for line in lines if (m := re.match(r"#?([A-Za-z_][A-Za-z0-9_]*)=", line))]
values = {
    "INSIGHTCLOUD_SECRET_KEY": secrets.token_urlsafe(50),
    "INSIGHTCLOUD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),  # a Fernet key
    "INSIGHTCLOUD_DATA_DIR": os.environ["INSTALL_DATA_DIR"],
}
if os.environ["INSTALL_LOCAL_DB"] == "1":
    values.update(DIVVY_DB_HOST="127.0.0.1", DIVVY_DB_USERNAME="divvy", DIVVY_DB_NAME="divvycloud",
                  DIVVY_DB_PASSWORD=secrets.token_urlsafe(24))
if os.environ["INSTALL_LOCAL_REDIS"] == "1":
    values["DIVVY_REDIS_HOST"] = "127.0.0.1"
if os.environ["INSTALL_INTERFACE"] == "1":
    values.update(INSIGHTCLOUD_TRUSTED_PROXIES="127.0.0.1", INSIGHTCLOUD_TLS="true")
# Variables of the template set in the installer's environment seed the new file.
values.update({name: os.environ[name] for name in names if os.environ.get(name)})
done = set()
out = []
for line in lines:
    m = re.match(r"#?([A-Za-z_][A-Za-z0-9_]*)=", line)
    if m and m.group(1) in values and m.group(1) not in done:
        name = m.group(1)
        value = values[name]
        if re.search(r"[\s#'\"]", value):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        line = f"{name}={value}"
        done.add(name)
    out.append(line)
open(target, "w").write("\n".join(out) + "\n")
PY
    chmod 0600 "$tmp"
    chown "$SERVICE_USER:$(service_group)" "$tmp"
    mv "$tmp" "$ENV_FILE"
    changed "$ENV_FILE (new; keys generated)"
    RESTART_NEEDED=1
}

# --- local database and Redis ---------------------------------------------------------------

start_system_service() {
    # start_system_service NAME...: the first that exists, with systemd or the init script.
    local name
    for name in "$@"; do
        if use_systemd; then
            systemctl enable --now "$name" >/dev/null 2>&1 && return 0
        elif command -v service >/dev/null 2>&1; then
            service "$name" start >/dev/null 2>&1 && return 0
        fi
    done
    return 1
}

setup_local_db() {
    ((WITH_LOCAL_DB)) || return 0
    local host name user password
    host=$(env_value DIVVY_DB_HOST)
    name=$(env_value DIVVY_DB_NAME)
    user=$(env_value DIVVY_DB_USERNAME)
    password=$(env_value DIVVY_DB_PASSWORD)
    name=${name:-divvycloud}
    user=${user:-divvy}
    case $host in
        127.0.0.1 | localhost | ::1) ;;
        *) die "--with-local-db, but DIVVY_DB_HOST in $ENV_FILE is '$host' (set it to 127.0.0.1)" ;;
    esac
    read -r -a admin <<<"$DB_ADMIN"
    if ! "${admin[@]}" -e 'SELECT 1' >/dev/null 2>&1; then
        say "database: starting the local MariaDB/MySQL server"
        start_system_service mariadb mysql mysqld || die "cannot start the local database server"
        sleep 2
    fi
    local version
    version=$("${admin[@]}" -N -e 'SELECT VERSION()')
    say "database: '$name' and user '$user' on the local server ($version)"
    sql_quote() { printf "%s" "${1//\'/\'\'}"; }
    local q_name q_user q_password exists
    q_name=${name//\`/}
    q_user=$(sql_quote "$user")
    q_password=$(sql_quote "$password")
    exists=$("${admin[@]}" -N -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='$(sql_quote "$name")'")
    "${admin[@]}" <<SQL
CREATE DATABASE IF NOT EXISTS \`$q_name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$q_user'@'localhost' IDENTIFIED BY '$q_password';
CREATE USER IF NOT EXISTS '$q_user'@'127.0.0.1' IDENTIFIED BY '$q_password';
ALTER USER '$q_user'@'localhost' IDENTIFIED BY '$q_password';
ALTER USER '$q_user'@'127.0.0.1' IDENTIFIED BY '$q_password';
GRANT ALL PRIVILEGES ON \`$q_name\`.* TO '$q_user'@'localhost';
GRANT ALL PRIVILEGES ON \`$q_name\`.* TO '$q_user'@'127.0.0.1';
SQL
    [[ $exists == 0 ]] && changed "database $name"
    return 0
}

setup_local_redis() {
    ((WITH_LOCAL_REDIS)) || return 0
    local port
    port=$(env_value DIVVY_REDIS_PORT)
    if redis-cli -h 127.0.0.1 -p "${port:-6379}" ping >/dev/null 2>&1; then
        say "redis: the local server answers"
        return
    fi
    say "redis: starting the local server"
    start_system_service redis-server redis || die "cannot start the local Redis server"
}

# --- units, TLS, nginx ----------------------------------------------------------------------

use_systemd() {
    case ${INSIGHTCLOUD_INIT:-auto} in
        systemd) return 0 ;;
        fallback) return 1 ;;
    esac
    # Only the real system's systemd, and only when it runs (not in containers/chroots).
    [[ -z $ROOT && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1
}

wanted_units() {
    has_role interface && echo insightcloud-interfaceserver.service
    has_role scheduler && echo insightcloud-scheduler.service
    if has_role worker; then
        local n
        for ((n = 1; n <= WORKERS; n++)); do echo "insightcloud-worker@$n.service"; done
        echo insightcloud-worker-p0.service
    fi
    return 0
}

# The unit templates name the default paths; put this install's paths in their place.
render_paths() {
    sed -e "s#/opt/insightcloud/venv#$VENV#g" \
        -e "s#/opt/insightcloud/app#$APP_DIR#g" \
        -e "s#/divvycloud/prod.env#$ENV_FILE#g" \
        -e "s#/var/lib/insightcloud#$DATA_DIR#g" \
        -e "s#^User=divvy\$#User=$SERVICE_USER#" \
        -e "s#^Group=divvy\$#Group=$(service_group)#" "$1"
}

install_units() {
    say "systemd units: $SYSTEMD_DIR"
    local unit tmp files=()
    has_role interface && files+=(insightcloud-interfaceserver.service)
    has_role scheduler && files+=(insightcloud-scheduler.service)
    has_role worker && files+=("insightcloud-worker@.service" insightcloud-worker-p0.service)
    tmp=$(mktemp)
    for unit in "${files[@]}"; do
        render_paths "$APP_DIR/deploy/systemd/$unit" >"$tmp"
        if install_file "$tmp" "$SYSTEMD_DIR/$unit" 0644; then RESTART_NEEDED=1; fi
    done
    rm -f "$tmp"
    install_file "$APP_DIR/deploy/insightcloudctl" "$OPT_DIR/bin/insightcloudctl" 0755 || true
}

install_tls() {
    has_role interface || return 0
    local cert=$TLS_DIR/insightcloud.crt key=$TLS_DIR/insightcloud.key
    if [[ -f $cert && -f $key ]]; then
        say "TLS: $cert exists"
        return
    fi
    say "TLS: generating a self-signed certificate (replace it with your own: $cert, $key)"
    ensure_dir "$TLS_DIR" 0755
    local host
    host=$(hostname -f 2>/dev/null || hostname)
    (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 825 -sha256 \
        -subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
        -keyout "$key" -out "$cert" 2>/dev/null)
    chmod 0644 "$cert"
    changed "self-signed certificate $cert"
}

nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }

install_nginx() {
    has_role interface || return 0
    local nginx_dir site_dir enabled_dir="" main_conf bind upstream tmp
    nginx_dir=${INSIGHTCLOUD_NGINX_DIR:-$ROOT/etc/nginx}
    if [[ -n ${INSIGHTCLOUD_NGINX_SITE_DIR:-} ]]; then
        site_dir=$INSIGHTCLOUD_NGINX_SITE_DIR
    elif [[ -d $nginx_dir/sites-available || ( -z $ROOT && -d /etc/nginx/sites-enabled ) ]]; then
        site_dir=$nginx_dir/sites-available
        enabled_dir=$nginx_dir/sites-enabled
    else
        site_dir=$nginx_dir/conf.d
    fi
    bind=$(env_value INSIGHTCLOUD_BIND)
    bind=${bind:-127.0.0.1:8001}
    upstream=${bind/0.0.0.0/127.0.0.1}
    say "nginx: $HTTP_PORT -> $HTTPS_PORT -> $upstream ($site_dir)"
    local redirect_port=""
    [[ $HTTPS_PORT != 443 ]] && redirect_port=":$HTTPS_PORT"
    tmp=$(mktemp)
    sed -e "s#server 127.0.0.1:8001;#server $upstream;#" \
        -e "s#listen 80 #listen $HTTP_PORT #; s#listen \[::\]:80 #listen [::]:$HTTP_PORT #" \
        -e "s#listen 443 #listen $HTTPS_PORT #; s#listen \[::\]:443 #listen [::]:$HTTPS_PORT #" \
        -e "s#https://\$host\$request_uri#https://\$host$redirect_port\$request_uri#" \
        -e "s#/etc/insightcloud/tls#$TLS_DIR#g" "$APP_DIR/deploy/nginx/insightcloud.conf" >"$tmp"
    if [[ ${INSIGHTCLOUD_NGINX_IPV6:-1} == 0 ]]; then sed -i '/listen \[::\]/d' "$tmp"; fi
    install_file "$tmp" "$site_dir/insightcloud.conf" 0644 || true
    rm -f "$tmp"
    if [[ -n $enabled_dir ]]; then
        mkdir -p "$enabled_dir"
        if [[ $(readlink "$enabled_dir/insightcloud.conf" 2>/dev/null) != "$site_dir/insightcloud.conf" ]]; then
            ln -sfn "$site_dir/insightcloud.conf" "$enabled_dir/insightcloud.conf"
            changed "$enabled_dir/insightcloud.conf"
        fi
        # The distribution's default site also claims default_server on port 80.
        if [[ -e $enabled_dir/default ]]; then
            rm -f "$enabled_dir/default"
            changed "removed $enabled_dir/default"
        fi
    fi
    main_conf=${INSIGHTCLOUD_NGINX_MAIN_CONF:-$nginx_dir/nginx.conf}
    if [[ ! -f $main_conf ]]; then
        # A prefix install has no distribution nginx.conf: a minimal one that includes our site.
        ensure_dir "$LOG_DIR" 0755
        tmp=$(mktemp)
        cat >"$tmp" <<NGINX
# Minimal nginx main configuration written by InsightCloud's install.sh for $ROOT
pid $RUN_DIR/nginx.pid;
error_log $LOG_DIR/nginx-error.log;
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $LOG_DIR/nginx-access.log;
    client_body_temp_path $RUN_DIR/nginx-body;
    proxy_temp_path $RUN_DIR/nginx-proxy;
    fastcgi_temp_path $RUN_DIR/nginx-fastcgi;
    uwsgi_temp_path $RUN_DIR/nginx-uwsgi;
    scgi_temp_path $RUN_DIR/nginx-scgi;
    include $site_dir/insightcloud.conf;
}
NGINX
        [[ -f /etc/nginx/mime.types ]] || sed -i '/mime.types/d' "$tmp"
        install_file "$tmp" "$main_conf" 0644 || true
        rm -f "$tmp"
    fi
    NGINX_MAIN_CONF=$main_conf
    # SELinux (CentOS/RHEL) forbids nginx to connect to the interface server unless told.
    if [[ -z $ROOT ]] && command -v getsebool >/dev/null 2>&1 && [[ $(getenforce 2>/dev/null) != Disabled ]]; then
        if ! getsebool httpd_can_network_connect 2>/dev/null | grep -q -- '--> on'; then
            setsebool -P httpd_can_network_connect 1
            changed "SELinux boolean httpd_can_network_connect"
        fi
    fi
    if command -v "$(nginx_bin)" >/dev/null 2>&1; then
        mkdir -p "$RUN_DIR"
        "$(nginx_bin)" -t -q -c "$main_conf" || die "nginx rejects $main_conf (see above)"
    else
        note "nginx is not installed: configuration written, not tested"
    fi
}

write_ctl_conf() {
    local tmp services
    services=$(wanted_units | tr '\n' ' ')
    tmp=$(mktemp)
    {
        echo "# Written by install.sh: what insightcloudctl starts where systemd is not PID 1."
        echo "UNIT_DIR=$SYSTEMD_DIR"
        echo "RUN_DIR=$RUN_DIR"
        echo "LOG_DIR=$LOG_DIR"
        echo "SERVICES=\"${services% }\""
        echo "NGINX_BIN=$(nginx_bin)"
        if has_role interface && ! use_systemd; then echo "NGINX_MAIN_CONF=$NGINX_MAIN_CONF"; fi
    } >"$tmp"
    install_file "$tmp" "$OPT_DIR/etc/insightcloudctl.conf" 0644 || true
    rm -f "$tmp"
}

# --- migrations and services ----------------------------------------------------------------

# Run manage.py as the service would: only the env file's settings, as the service user.
manage() {
    local -a as_user=()
    if [[ $SERVICE_USER != "$(id -un)" ]]; then as_user=(setpriv "--reuid=$SERVICE_USER" "--regid=$(service_group)" --init-groups --); fi
    (cd "$APP_DIR" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$DATA_DIR" LANG=C.UTF-8 \
        INSIGHTCLOUD_ENV_FILE="$ENV_FILE" INSIGHTCLOUD_DATA_DIR="$(env_value INSIGHTCLOUD_DATA_DIR)" \
        PYTHONDONTWRITEBYTECODE=1 "${as_user[@]}" "$VENV/bin/python" manage.py "$@")
}

migrate() {
    has_role scheduler || { say "migrations: left to the scheduler host (role $ROLE)"; return 0; }
    local before after
    if manage scheduler --help 2>/dev/null | grep -q -- '--upgrade-only'; then
        say "migrations: manage.py scheduler --db-upgrade --upgrade-only"
        before=$(manage showmigrations --plan 2>/dev/null | grep -c '\[X\]' || true)
        # --upgrade-only: migrate and exit; the scheduler service itself starts afterwards.
        manage scheduler --db-upgrade --upgrade-only
    else
        say "migrations: manage.py migrate"
        before=$(manage showmigrations --plan 2>/dev/null | grep -c '\[X\]' || true)
        manage migrate --noinput
    fi
    after=$(manage showmigrations --plan 2>/dev/null | grep -c '\[X\]' || true)
    if [[ $before != "$after" ]]; then
        changed "database schema ($((after - before)) migrations applied)"
        RESTART_NEEDED=1
    fi
}

start_services() {
    local -a units
    mapfile -t units < <(wanted_units)
    if [[ ${INSIGHTCLOUD_NO_START:-0} == 1 ]]; then
        say "services: not started (INSIGHTCLOUD_NO_START=1): ${units[*]}"
        return
    fi
    if use_systemd; then
        say "services: systemd (${units[*]})"
        ((RESTART_NEEDED)) && systemctl daemon-reload
        systemctl enable --quiet "${units[@]}"
        if ((RESTART_NEEDED)); then systemctl restart "${units[@]}"; else systemctl start "${units[@]}"; fi
        if has_role interface; then systemctl enable --quiet nginx && systemctl reload-or-restart nginx; fi
    else
        say "services: systemd is not running here; using $OPT_DIR/bin/insightcloudctl"
        local ctl=$OPT_DIR/bin/insightcloudctl
        if ((RESTART_NEEDED)); then "$ctl" restart; else "$ctl" start; fi
    fi
}

main() {
    local started=$SECONDS
    DATA_DIR=${INSIGHTCLOUD_DATA_DIR:-$ROOT/var/lib/insightcloud}
    say "InsightCloud install: role $ROLE, prefix '${ROOT:-/}', source $SOURCE_DIR"
    install_packages
    ensure_service_user
    # An existing prod.env decides where the data lives.
    if [[ -f $ENV_FILE && -n $(env_value INSIGHTCLOUD_DATA_DIR) ]]; then DATA_DIR=$(env_value INSIGHTCLOUD_DATA_DIR); fi
    ensure_dir "$OPT_DIR" 0755
    ensure_dir "$DATA_DIR" 0750 "$SERVICE_USER:$(service_group)"
    ensure_dir "$LOG_DIR" 0755
    install_code
    install_venv
    write_env_file
    setup_local_db
    setup_local_redis
    install_units
    NGINX_MAIN_CONF=""
    install_tls
    install_nginx
    write_ctl_conf
    migrate
    start_services
    if [[ ${#CHANGED[@]} -eq 0 ]]; then
        say "done in $((SECONDS - started))s: nothing changed"
    else
        say "done in $((SECONDS - started))s: ${#CHANGED[@]} changes"
    fi
}

main
