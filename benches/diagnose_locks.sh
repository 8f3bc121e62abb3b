#!/usr/bin/env bash
# Times `opsbook diagnose locks` on a sandbox holding 200 idle sessions and 20 lock waiters
# (one session holds an ACCESS EXCLUSIVE lock, 20 queue behind it). Budget: median < 200 ms.
#   bash benches/diagnose_locks.sh            # needs hyperfine (apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine: apt-get install -y hyperfine" >&2; exit 3; }
cargo build --release --quiet
BIN=$PWD/target/release/opsbook
DIR=$(mktemp -d /tmp/opsbook-bench-XXXXXX)
chmod 755 "$DIR"
kids=()
cleanup() {
  exec 4>&- 2>/dev/null || true
  for p in "${kids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$BIN" sandbox up --dir "$DIR/sb" >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE TABLE bench_lock (id int)"

# 200 idle sessions: each psql reads its stdin from a FIFO nobody writes to.
mkfifo "$DIR/idle"
exec 4<>"$DIR/idle"
for _ in $(seq 1 200); do
  PGAPPNAME=bench_idle psql -X -q <"$DIR/idle" >/dev/null 2>&1 &
  kids+=($!)
done
PGAPPNAME=bench_holder psql -X -q -c \
  "BEGIN; LOCK TABLE bench_lock IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);" >/dev/null 2>&1 &
kids+=($!)
until [ "$(q "SELECT count(*) FROM pg_locks WHERE relation = 'bench_lock'::regclass AND granted")" = 1 ]; do sleep 0.1; done
for _ in $(seq 1 20); do
  PGAPPNAME=bench_waiter psql -X -q -c "SELECT count(*) FROM bench_lock" >/dev/null 2>&1 &
  kids+=($!)
done
for _ in $(seq 1 100); do
  idle=$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench_idle'")
  waiting=$(q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
  [ "$idle" = 200 ] && [ "$waiting" = 20 ] && break
  sleep 0.2
done
echo "sessions: $idle idle, $waiting waiting on bench_lock, 1 holder" >&2
[ "$idle" = 200 ] && [ "$waiting" = 20 ] || { echo "could not set up 200 idle + 20 waiting sessions" >&2; exit 3; }

# Exit 1 (WARNING: sessions wait) is the expected answer, hence --ignore-failure.
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n "opsbook diagnose locks" "$BIN diagnose locks --format json"
"$BIN" diagnose locks --format json >"$DIR/report.json" || true
python3 - "$DIR/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
waiting = [f for f in r["findings"] if f["id"] == "locks.waiting"][0]["value"]
roots = [f for f in r["findings"] if f["id"] == "locks.root_blocker"]
blocked = roots[0]["value"] if roots else 0
print(f"report: {waiting} waiting, {len(roots)} root blocker(s), the first blocking {blocked}")
PY
python3 - "$DIR/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
median = r["median"] * 1000
print(f"opsbook diagnose locks: median {median:.1f} ms (min {r['min']*1000:.1f}, max {r['max']*1000:.1f}) over {len(r['times'])} runs; budget 200 ms")
sys.exit(0 if median < 200 else 1)
PY
