#!/usr/bin/env bash
# `opsbook restore --to TIME --hand-back` against pgBackRest's own recovery of the same target,
# in one run on one sandbox: `pgbackrest restore --type=time --target-action=pause` into a new
# directory + a port in postgresql.auto.conf + `pg_ctl start` + polling until replay pauses at
# the target + `pg_ctl stop` (what opsbook does, by hand). Goal: opsbook within 1.2x.
#   bash benches/pitr.sh            # SCALE=20 demo data, ROWS=2000000 rows of WAL after the backup, RUNS=3
#   BIN=target/debug/opsbook bash benches/pitr.sh   # skip the release build
#   REMOTE=1 bash benches/pitr.sh   # through an S3 repository: moto (target/moto-venv, .ci/deps) behind
#                                   # socat TLS; `pitr setup --remote`, a full backup timed into each
#                                   # repository, and both recoveries from repo2 (`restore --to --remote`
#                                   # vs `pgbackrest --repo=2 restore`) with the local WAL moved aside
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pgbackrest >/dev/null || { echo "missing pgbackrest: apt-get install -y pgbackrest" >&2; exit 3; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/opsbook
fi
BIN=$(realpath "$BIN")
DIR=$(mktemp -d /tmp/opsbook-bench-pitr-XXXXXX)
chmod 755 "$DIR"
PIDS=()
cleanup() {
  "$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CFG=(); REMOTE_FLAG=(); PEER_REPO=()
if [ -n "${REMOTE:-}" ]; then
  VENV=$PWD/target/moto-venv
  [ -x "$VENV/bin/moto_server" ] || { echo "missing moto: run .ci/deps (target/moto-venv)" >&2; exit 3; }
  command -v socat >/dev/null || { echo "missing socat: apt-get install -y socat" >&2; exit 3; }
  MOTO=$(freeport); TLS=$(freeport)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO" >/dev/null 2>&1 & PIDS+=($!)
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1" -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
  chmod 644 "$DIR/cert.pem"
  socat "openssl-listen:$TLS,fork,reuseaddr,bind=127.0.0.1,cert=$DIR/cert.pem,key=$DIR/key.pem,verify=0" "tcp:127.0.0.1:$MOTO" >/dev/null 2>&1 & PIDS+=($!)  # (pgBackRest closes without close_notify: socat's noise)
  until python3 -c "import socket; socket.create_connection(('127.0.0.1', $MOTO), 1)" 2>/dev/null; do sleep 0.2; done
  "$VENV/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$MOTO', aws_access_key_id='k', aws_secret_access_key='s', region_name='us-east-1').create_bucket(Bucket='bench-pitr')"
  (umask 077
   printf '[default]\naws_access_key_id = bench\naws_secret_access_key = bench-secret\n' > "$DIR/aws-credentials"
   openssl rand -base64 48 > "$DIR/passphrase"
   printf 'remotes:\n  offsite:\n    bucket: bench-pitr\n    prefix: bench/\n    endpoint: https://127.0.0.1:%s\n    path_style: true\n    ca_file: %s\n    credentials_file: %s\n    encryption:\n      passphrase_file: %s\n' \
     "$TLS" "$DIR/cert.pem" "$DIR/aws-credentials" "$DIR/passphrase" > "$DIR/opsbook.yaml")
  CFG=(--config "$DIR/opsbook.yaml"); REMOTE_FLAG=(--remote offsite); PEER_REPO=(--repo=2)
fi
echo "generating the demo database at scale ${SCALE:-20} ..." >&2
"$BIN" sandbox up --dir "$DIR/sb" --demo-data --demo-scale "${SCALE:-20}" --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
PG_BINDIR=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pg_bindir'])" "$DIR/sb/sandbox.json")
DATA=$DIR/sb/pg/data
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL() { "$PG_BINDIR/psql" -X -A -t -q -d postgres -c "$1"; }
CONF=$DIR/pgbackrest.conf
OPTS=(--config="$CONF" --stanza=bench)

"$BIN" pitr setup "${CFG[@]}" "${REMOTE_FLAG[@]}" --stanza bench --repo "$DIR/repo" --pgbackrest-config "$CONF" --yes --format json >/dev/null || true
as_pg "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$DATA/restart.log" -m fast -w restart >/dev/null
"$BIN" pitr setup "${CFG[@]}" "${REMOTE_FLAG[@]}" --stanza bench --repo "$DIR/repo" --pgbackrest-config "$CONF" --yes --format json >/dev/null
ob() { "$BIN" "$@" || [ $? -eq 1 ]; }  # exit 1 is a warning (a repository without a backup yet)
backup_secs() { python3 -c 'import json,sys; print([f for f in json.load(sys.stdin)["findings"] if f["id"]=="pitr.backup"][0]["value"])'; }
LOCAL_B=$(ob pitr backup --stanza bench --pgbackrest-config "$CONF" --type full --format json | backup_secs)
if [ -n "${REMOTE:-}" ]; then
  S3_B=$(ob pitr backup "${CFG[@]}" --remote offsite --stanza bench --pgbackrest-config "$CONF" --type full --format json | backup_secs)
  echo "full backup: local repo1 ${LOCAL_B} s, S3 repo2 (moto behind TLS, aes-256-cbc, bundled) ${S3_B} s" >&2
fi
echo "writing ${ROWS:-2000000} rows after the backup ..." >&2
PSQL "CREATE TABLE bench_wal AS SELECT g AS i, md5(g::text) AS t FROM generate_series(1, ${ROWS:-2000000}) g"
TARGET=$(PSQL "SELECT now()::text")
sleep 1
PSQL "CREATE TABLE bench_after (i int); INSERT INTO bench_after VALUES (1)"
SEG=$(PSQL "SELECT pg_walfile_name(pg_switch_wal())")
until [ "$(PSQL "SELECT coalesce(last_archived_wal, '') >= '$SEG' FROM pg_stat_archiver")" = t ]; do sleep 0.2; done
echo "target $TARGET; WAL archived up to $SEG" >&2

now() { date +%s%3N; }
peer() { # $1: new data directory
  local d=$1 port
  mkdir -p "$d"; chmod 700 "$d"; [ "$(id -u)" -eq 0 ] && chown postgres: "$d"
  as_pg pgbackrest "${OPTS[@]}" "${PEER_REPO[@]}" --pg1-path="$d" --type=time --target="$TARGET" --target-action=pause restore
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\narchive_mode = off\n" "$port" "$d" >> "$d/postgresql.auto.conf"
  as_pg "$PG_BINDIR/pg_ctl" -D "$d" -l "$d/pg.log" -w -t 600 start >/dev/null
  until [ "$(as_pg "$PG_BINDIR/psql" -X -A -t -h "$d" -p "$port" -U postgres -d postgres -c "SELECT pg_get_wal_replay_pause_state() = 'paused'" 2>/dev/null)" = t ]; do sleep 0.05; done
  as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m fast -w stop >/dev/null
}
OPS=(); PEER=()
# From S3: the local repository's WAL moved aside, so archive-get fetches it from repo2 too.
[ -n "${REMOTE:-}" ] && mv "$DIR/repo/archive" "$DIR/repo/archive.aside"
for i in $(seq 1 "${RUNS:-3}"); do
  t0=$(now)
  "$BIN" restore "${CFG[@]}" "${REMOTE_FLAG[@]}" --to "$TARGET" --hand-back --stanza bench --pgbackrest-config "$CONF" --data-dir "$DIR/ops$i" --format json > "$DIR/ops$i.json"
  t1=$(now)
  peer "$DIR/peer$i"
  t2=$(now)
  OPS+=($((t1 - t0))); PEER+=($((t2 - t1)))
  rm -rf "$DIR/ops$i" "$DIR/peer$i"
done
[ -n "${REMOTE:-}" ] && mv "$DIR/repo/archive.aside" "$DIR/repo/archive"
python3 - "${OPS[*]}" "${PEER[*]}" "$DIR/ops1.json" "${REMOTE:+ from the S3 repository}" <<'PY'
import json, statistics, sys
ops = [int(x) for x in sys.argv[1].split()]
peer = [int(x) for x in sys.argv[2].split()]
j = json.load(open(sys.argv[3]))
t = [f for f in j["findings"] if f["id"] == "pitr.target"][0]
print(f"reached: {t['summary']}")
o, p = statistics.median(ops), statistics.median(peer)
print(f"restore --to{sys.argv[4]}: opsbook {o/1000:.2f} s (runs {ops} ms), pgbackrest restore + pg_ctl start until paused {p/1000:.2f} s (runs {peer} ms) "
      f"-> {o/p:.2f}x (goal <= 1.2)")
PY
