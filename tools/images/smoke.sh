#!/usr/bin/env bash
# Run every local image for real, hardened the way the blueprint runs it, on loopback only:
#   postgres  TLS with sslmode=verify-full against a throwaway CA; a wrong password and a
#             plain-text connection are refused; pg_isready answers; data survives a restart
#   minio     `mc ready health` inside the server; the mc image creates and lists a bucket
#   caddy     its health endpoint answers; it serves HTTPS with the CA's certificate and
#             proxies to the app
#   app       the health path answers with the release; two versions differ; the fault
#             variant starts but its health path answers 500
# Images come from build.sh (built or current). Exit codes: 0 all passed, 1 a check failed.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
user="$project"
run_id="smoke-$$"
work="$(mktemp -d)"
failures=0

refs="$("$here/build.sh")"
eval "$("$root/tools/docker/host.sh" env)"
ref() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$refs" "$1"; }

cleanup() {
  local ids
  ids="$(docker ps -aq --filter "label=$run_id" || true)"
  # shellcheck disable=SC2086  # one argument per container id
  [[ -z "$ids" ]] || docker rm -fv $ids >/dev/null
  docker volume rm "$run_id-pgdata" "$run_id-files" >/dev/null 2>&1 || true
  docker network rm "$run_id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "ok:   $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...: pass when the command succeeds
  local what="$1"; shift
  if "$@" >"$work/out" 2>&1; then pass "$what"; else fail "$what: $(tail -n 3 "$work/out")"; fi
}
refuse() {  # refuse DESCRIPTION PATTERN COMMAND...: pass when the command fails saying PATTERN
  local what="$1" pattern="$2"; shift 2
  if "$@" >"$work/out" 2>&1; then fail "$what: it succeeded"
  elif grep -qi -- "$pattern" "$work/out"; then pass "$what"
  else fail "$what: failed otherwise: $(tail -n 3 "$work/out")"; fi
}
expect() {  # expect DESCRIPTION PATTERN: the last check's output matches the extended regex
  if grep -qE -- "$2" "$work/out"; then pass "$1"; else fail "$1: got $(tail -n 3 "$work/out")"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The blueprint's hardening (components/docker/context.py hardened()).
hardened=(--label "$run_id" --security-opt no-new-privileges:true --cap-drop ALL --init)
wait_for() {  # wait_for SECONDS COMMAND...
  local limit=$(($1 * 2)); shift
  until "$@" >/dev/null 2>&1; do
    ((limit-- > 0)) || return 1
    sleep 0.5
  done
}

# A throwaway CA and one server certificate for every service (localhost and the aliases).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=smoke CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,DNS:database,DNS:storage\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/san.ext" -out "$work/server.crt" 2>/dev/null
chmod 0600 "$work/server.key"
docker network create --label "$run_id" "$run_id" >/dev/null

echo "== files"
# The one-shot writer of components/docker/files.py: copy staged files into a volume, chown them.
mkdir -p "$work/staging"
printf 'secret' >"$work/staging/password" && chmod 0400 "$work/staging/password"
writer_script='set -eu
find /files -mindepth 1 -delete
cd /staging
cp -p password /files/
cd /files
chown 999:999 password
stat -c "%u:%g %a" password'
check "files: the writer copies and hands a file to 999:999 with no network" \
  docker run --rm "${hardened[@]}" --cap-add CHOWN --network none --init=false \
  -v "$work/staging:/staging:ro" -v "$run_id-files:/files" \
  --entrypoint /bin/sh "$(ref files)" -c "$writer_script"
expect "files: owner and mode kept" '^999:999 400$'

echo "== postgres"
pg="$(ref postgres-16)"
pg_port="$(free_port)"
mkdir -p "$work/pg"
cp "$work/server.crt" "$work/server.key" "$work/pg/"
printf 'right-%s' "$RANDOM$RANDOM" >"$work/pg/password"
# Root-owned files, key 0600: the case the entrypoint must copy for postgres to read.
chown root:root "$work/pg/"* && chmod 0400 "$work/pg/password"
docker run -d --name "$run_id-pg" "${hardened[@]}" \
  --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETGID --cap-add SETUID \
  -p "127.0.0.1:$pg_port:5433" -v "$work/pg:/files:ro" -v "$run_id-pgdata:/var/lib/postgresql/data" \
  -e "POSTGRES_USER=$user" -e POSTGRES_DB=appdb -e POSTGRES_PASSWORD_FILE=/files/password \
  -e POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256 \
  "$pg" postgres -c port=5433 -c ssl=on -c ssl_cert_file=/files/server.crt \
  -c ssl_key_file=/files/server.key -c ssl_min_protocol_version=TLSv1.2 >/dev/null
pg_ready() { docker exec "$run_id-pg" pg_isready -h 127.0.0.1 -p 5433 -U "$user" -d appdb; }
check "postgres: pg_isready answers within 60 s" wait_for 60 pg_ready
psql_as() {  # psql_as PASSWORD SSLMODE SQL: from the host network, through the published port
  docker run --rm --label "$run_id" --network host -v "$work/ca.crt:/ca.crt:ro" \
    -e "PGPASSWORD=$1" --entrypoint psql "$pg" -X -At \
    "host=localhost port=$pg_port dbname=appdb user=$user sslmode=$2 sslrootcert=/ca.crt" -c "$3"
}
password="$(cat "$work/pg/password")"
tls_query="select ssl, version from pg_stat_ssl where pid = pg_backend_pid()"
check "postgres: verify-full TLS login with the password" psql_as "$password" verify-full "$tls_query"
expect "postgres: the session is TLS 1.2 or 1.3" '^t\|TLSv1\.[23]$'
refuse "postgres: a wrong password is refused" "password authentication failed" \
  psql_as wrong-password verify-full "select 1"
refuse "postgres: a plain-text connection is refused" "no pg_hba.conf entry\|rejects connection" \
  psql_as "$password" disable "select 1"
check "postgres: server is 16" psql_as "$password" verify-full "show server_version"
expect "postgres: server_version is 16.x" '^16\.'
docker restart "$run_id-pg" >/dev/null
check "postgres: answers again after a restart (data kept)" wait_for 60 pg_ready
check "postgres: same password after the restart" psql_as "$password" verify-full "select 1"
docker logs "$run_id-pg" >"$work/out" 2>&1
inits="$(grep -c initialising "$work/out" || true)"
if [[ "$inits" == 1 ]]; then pass "postgres: initialised once, not on restart"
else fail "postgres: initialised $inits times"; fi
check "postgres: the server runs as uid 999" \
  sh -c "docker top '$run_id-pg' -eo pid,uid,comm | grep -E '^ *[0-9]+ +999 +postgres'"
# The blueprint's files.py case: files owned by 999:999, key 0600, used where they are.
mkdir -p "$work/pg999"
cp -p "$work/pg/"* "$work/pg999/" && chown 999:999 "$work/pg999/"*
docker run -d --name "$run_id-pg999" "${hardened[@]}" \
  --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETGID --cap-add SETUID \
  -v "$work/pg999:/files:ro" -e "POSTGRES_USER=$user" -e POSTGRES_PASSWORD_FILE=/files/password \
  "$pg" postgres -c ssl=on -c ssl_cert_file=/files/server.crt -c ssl_key_file=/files/server.key \
  >/dev/null
check "postgres: starts with 999-owned files" wait_for 60 \
  docker exec "$run_id-pg999" pg_isready -h 127.0.0.1 -U "$user"
check "postgres: uses a 999-owned 0600 key in place" \
  sh -c "docker exec '$run_id-pg999' sh -c 'cat /proc/[0-9]*/cmdline' | tr '\\0' ' ' \
    | grep -q 'ssl_key_file=/files/server.key'"
check "postgres: a root-owned key was copied for postgres" \
  sh -c "docker exec '$run_id-pg' sh -c 'cat /proc/[0-9]*/cmdline' | tr '\\0' ' ' \
    | grep -q 'ssl_key_file=/run/postgresql/tls/server.key'"

echo "== minio"
mkdir -p "$work/minio/certs/CAs" "$work/minio/secrets"
cp "$work/server.crt" "$work/minio/certs/public.crt"
cp "$work/server.key" "$work/minio/certs/private.key"
cp "$work/ca.crt" "$work/minio/certs/CAs/ca.crt"
printf 'admin' >"$work/minio/secrets/access_key"
printf 'secret-%s' "$RANDOM$RANDOM" >"$work/minio/secrets/secret_key"
chmod 0400 "$work/minio/secrets/"*
docker run -d --name "$run_id-minio" "${hardened[@]}" --network "$run_id" --network-alias storage \
  -v "$work/minio/secrets:/run/secrets:ro" -v "$work/minio/certs:/etc/minio-certs:ro" \
  -v "$work/minio/certs/CAs:/etc/mc/certs/CAs:ro" \
  -e MINIO_BROWSER=off -e MC_CONFIG_DIR=/etc/mc -e MC_HOST_health=https://localhost:9000 \
  "$(ref minio)" server /data --address :9000 --certs-dir /etc/minio-certs >/dev/null
check "minio: mc ready health answers within 60 s" \
  wait_for 60 docker exec "$run_id-minio" mc ready health
# shellcheck disable=SC2016  # expanded by the container's shell
bucket_script='set -eu
mc alias set stage https://storage:9000 "$(cat /run/secrets/access_key)" "$(cat /run/secrets/secret_key)"
mc mb --ignore-existing stage/smoke
mc ls stage'
check "mc: the client image creates and lists a bucket over TLS" \
  docker run --rm "${hardened[@]}" --network "$run_id" -e MC_CONFIG_DIR=/tmp/mc \
  -v "$work/minio/secrets:/run/secrets:ro" -v "$work/ca.crt:/tmp/mc/certs/CAs/ca.crt:ro" \
  --entrypoint /bin/sh "$(ref mc)" -c "$bucket_script"
expect "mc: the bucket is listed" 'smoke/'

echo "== app"
app_run() {  # app_run NAME IMAGE: as the blueprint runs a replica (uid 10001, read-only root)
  docker run -d --name "$run_id-$1" "${hardened[@]}" --network "$run_id" --network-alias "$1" \
    --read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m \
    -e PORT=8080 -e HEALTH_PATH=/healthz -e "${project^^}_RELEASE=r-$1" \
    -e "${project^^}_SERVICE=app" "$2" >/dev/null
}
health() { docker exec "$run_id-$1" wget -q -O - http://127.0.0.1:8080/healthz; }
app_run app "$(ref app)"
app_run app-v2 "$(ref app-v2)"
app_run app-fault "$(ref app-health-fault)"
check "app: the health path answers within 30 s" wait_for 30 health app
check "app: the health path reports the release" \
  sh -c "docker exec '$run_id-app' wget -q -O - http://127.0.0.1:8080/healthz | grep -q '\"release\": \"r-app\"'"
check "app: runs as uid 10001" sh -c "docker exec '$run_id-app' id -u | grep -qx 10001"
for pair in app:1.0.0 app-v2:2.0.0; do
  name="${pair%%:*}" version="${pair#*:}"
  check "$name: /app/VERSION and the image label say $version" sh -c "
    docker exec '$run_id-$name' cat /app/VERSION | grep -qx '$version' &&
    docker image inspect --format '{{index .Config.Labels \"org.opencontainers.image.version\"}}' \
      '$(ref "$name")' | grep -qx '$version'"
done
check "app-v2: answers its health path" wait_for 30 health app-v2
check "app-health-fault: started and serves /" wait_for 30 \
  docker exec "$run_id-app-fault" wget -q -O /dev/null http://127.0.0.1:8080/
refuse "app-health-fault: the health path answers 500" "500" \
  docker exec "$run_id-app-fault" wget -O /dev/null http://127.0.0.1:8080/healthz

echo "== caddy"
mkdir -p "$work/caddy/tls"
cp "$work/server.crt" "$work/caddy/tls/cert.pem"
cp "$work/server.key" "$work/caddy/tls/key.pem"
chmod 0400 "$work/caddy/tls/key.pem"
# The shape of services.py caddyfile(): admin off, a plain health site, one TLS site per service.
printf '%s\n' '{' '	admin off' '	auto_https off' '}' '' 'http://:8081 {' '	respond /healthz 200' '}' '' \
  'localhost:443 {' '	tls /etc/caddy/tls/cert.pem /etc/caddy/tls/key.pem {' \
  '		protocols tls1.2' '	}' '	reverse_proxy app:8080 {' '		health_uri /healthz' \
  '		health_interval 15s' '	}' '}' >"$work/caddy/Caddyfile"
caddy_port="$(free_port)"
docker run -d --name "$run_id-caddy" "${hardened[@]}" --cap-add NET_BIND_SERVICE \
  --network "$run_id" -p "127.0.0.1:$caddy_port:443" \
  -v "$work/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" -v "$work/caddy/tls:/etc/caddy/tls:ro" \
  "$(ref caddy)" >/dev/null
check "caddy: the health endpoint answers within 30 s" wait_for 30 \
  docker exec "$run_id-caddy" wget -q -O /dev/null http://127.0.0.1:8081/healthz
check "caddy: HTTPS on loopback with the CA's certificate, proxied to the app" \
  curl -fsS --cacert "$work/ca.crt" --resolve "localhost:$caddy_port:127.0.0.1" \
  "https://localhost:$caddy_port/healthz"
expect "caddy: the app's answer came through" '"release": "r-app"'
refuse "caddy: a client without the CA refuses the certificate" "certificate" \
  curl -fsS --resolve "localhost:$caddy_port:127.0.0.1" "https://localhost:$caddy_port/healthz"

if ((failures)); then
  echo "smoke: $failures check(s) failed"
  exit 1
fi
echo "smoke: every check passed"
