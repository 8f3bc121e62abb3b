#!/usr/bin/env bash
# `opsbook restore --to TIME --hand-back` against pgBackRest's own recovery of the same target,
# in one run on one sandbox: `pgbackrest restore --type=time --target-action=pause` into a new
# directory + a port in postgresql.auto.conf + `pg_ctl start` + polling until replay pauses at
# the target + `pg_ctl stop` (what opsbook does, by hand). Goal: opsbook within 1.2x.
#   bash benches/pitr.sh            # SCALE=20 demo data, ROWS=2000000 rows of WAL after the backup, RUNS=3
#   BIN=target/debug/opsbook bash benches/pitr.sh   # skip the release build
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
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
echo "generating the demo database at scale ${SCALE:-20} ..." >&2
"$BIN" sandbox up --dir "$DIR/sb" --demo-data --demo-scale "${SCALE:-20}" --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
PG_BINDIR=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pg_bindir'])" "$DIR/sb/sandbox.json")
DATA=$DIR/sb/pg/data
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL() { "$PG_BINDIR/psql" -X -A -t -q -d postgres -c "$1"; }
CONF=$DIR/pgbackrest.conf
OPTS=(--config="$CONF" --stanza=bench)

"$BIN" pitr setup --stanza bench --repo "$DIR/repo" --pgbackrest-config "$CONF" --yes --format json >/dev/null || true
as_pg "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$DATA/restart.log" -m fast -w restart >/dev/null
"$BIN" pitr setup --stanza bench --repo "$DIR/repo" --pgbackrest-config "$CONF" --yes --format json >/dev/null
"$BIN" pitr backup --stanza bench --pgbackrest-config "$CONF" --type full --format json >/dev/null
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
  as_pg pgbackrest "${OPTS[@]}" --pg1-path="$d" --type=time --target="$TARGET" --target-action=pause restore
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\narchive_mode = off\n" "$port" "$d" >> "$d/postgresql.auto.conf"
  as_pg "$PG_BINDIR/pg_ctl" -D "$d" -l "$d/pg.log" -w -t 600 start >/dev/null
  until [ "$(as_pg "$PG_BINDIR/psql" -X -A -t -h "$d" -p "$port" -U postgres -d postgres -c "SELECT pg_get_wal_replay_pause_state() = 'paused'" 2>/dev/null)" = t ]; do sleep 0.05; done
  as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m fast -w stop >/dev/null
}
OPS=(); PEER=()
for i in $(seq 1 "${RUNS:-3}"); do
  t0=$(now)
  "$BIN" restore --to "$TARGET" --hand-back --stanza bench --pgbackrest-config "$CONF" --data-dir "$DIR/ops$i" --format json > "$DIR/ops$i.json"
  t1=$(now)
  peer "$DIR/peer$i"
  t2=$(now)
  OPS+=($((t1 - t0))); PEER+=($((t2 - t1)))
  rm -rf "$DIR/ops$i" "$DIR/peer$i"
done
python3 - "${OPS[*]}" "${PEER[*]}" "$DIR/ops1.json" <<'PY'
import json, statistics, sys
ops = [int(x) for x in sys.argv[1].split()]
peer = [int(x) for x in sys.argv[2].split()]
j = json.load(open(sys.argv[3]))
t = [f for f in j["findings"] if f["id"] == "pitr.target"][0]
print(f"reached: {t['summary']}")
o, p = statistics.median(ops), statistics.median(peer)
print(f"restore --to: opsbook {o/1000:.2f} s (runs {ops} ms), pgbackrest restore + pg_ctl start until paused {p/1000:.2f} s (runs {peer} ms) "
      f"-> {o/p:.2f}x (goal <= 1.2)")
PY
