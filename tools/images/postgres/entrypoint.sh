#!/bin/bash
# PostgreSQL entrypoint that takes the official image's environment:
#   POSTGRES_USER (default postgres), POSTGRES_DB (default $POSTGRES_USER),
#   POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD (required to initialise), POSTGRES_INITDB_ARGS.
# Started as root (capabilities CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID suffice), it owns the
# data directory to postgres, initialises an empty one (password auth everywhere, TLS required
# for every non-loopback host), makes TLS files usable by postgres, then becomes postgres
# (uid 999) with setpriv and runs the command.
set -euo pipefail
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
RUN_DIR=/run/postgresql

die() { echo "entrypoint: $*" >&2; exit 1; }
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# Options alone mean "postgres with these options", as in the official image.
if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
[[ "${1:-}" == postgres ]] || exec "$@"

if [[ "$(id -u)" != 0 ]]; then
  # Started as postgres already (docker run --user): nothing to hand over.
  as_postgres() { "$@"; }
fi

password() {
  if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
    [[ -r "$POSTGRES_PASSWORD_FILE" ]] || die "POSTGRES_PASSWORD_FILE: cannot read $POSTGRES_PASSWORD_FILE"
    cat "$POSTGRES_PASSWORD_FILE"
  elif [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    printf '%s' "$POSTGRES_PASSWORD"
  else
    die "POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD: required to initialise $PGDATA"
  fi
}

initialise() {
  local user="${POSTGRES_USER:-postgres}" db pwfile
  db="${POSTGRES_DB:-$user}"
  pwfile="$(as_postgres mktemp "$RUN_DIR/pwfile.XXXXXX")"
  password | as_postgres tee "$pwfile" >/dev/null
  [[ -s "$pwfile" ]] || die "the database password is empty"
  echo "entrypoint: initialising $PGDATA for user $user, database $db" >&2
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, split on purpose
  as_postgres initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    ${POSTGRES_INITDB_ARGS:-} >&2
  rm -f "$pwfile"
  cat >>"$PGDATA/postgresql.conf" <<EOF

# Set by the image's entrypoint.
listen_addresses = '*'
unix_socket_directories = '$RUN_DIR'
password_encryption = scram-sha-256
EOF
  # Every login needs the password; any host but loopback must also use TLS.
  cat >"$PGDATA/pg_hba.conf" <<EOF
# TYPE     DATABASE  USER  ADDRESS       METHOD
local      all       all                 scram-sha-256
host       all       all   127.0.0.1/32  scram-sha-256
host       all       all   ::1/128       scram-sha-256
hostssl    all       all   all           scram-sha-256
hostnossl  all       all   all           reject
EOF
  chown postgres:postgres "$PGDATA/pg_hba.conf"
  if [[ "$db" != postgres ]]; then
    # Single-user mode: no server, no socket, no password needed to create the database.
    printf 'CREATE DATABASE "%s";\n' "${db//\"/\"\"}" |
      as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
}

# PostgreSQL refuses a key that its owner's group or others may read, and cannot read a file it
# does not own at 0600: such a file is copied to one postgres owns, and the option points there.
usable_copy() {
  local setting="$1" path="$2" target
  if [[ "$setting" == ssl_key_file ]]; then
    [[ "$(stat -c %u "$path")" == "$(id -u postgres)" && "$(stat -c %a "$path")" =~ ^[46]00$ ]] \
      && { echo "$path"; return; }
  elif as_postgres test -r "$path"; then
    echo "$path"
    return
  fi
  [[ -r "$path" ]] || die "$setting: cannot read $path"
  target="$RUN_DIR/tls/$(basename "$path")"
  install -D -o postgres -g postgres -m 0600 "$path" "$target"
  echo "$target"
}

args=("$@")
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres {} +
  for i in "${!args[@]}"; do
    for setting in ssl_cert_file ssl_key_file ssl_ca_file; do
      case "${args[$i]}" in
        "$setting="* | "--$setting="*)
          prefix="${args[$i]%%=*}"
          args[i]="$prefix=$(usable_copy "$setting" "${args[$i]#*=}")"
          ;;
      esac
    done
  done
fi
[[ -s "$PGDATA/PG_VERSION" ]] || initialise
unset POSTGRES_PASSWORD
if [[ "$(id -u)" == 0 ]]; then
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${args[@]}"
fi
exec "${args[@]}"
