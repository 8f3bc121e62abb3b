#!/usr/bin/env bash
# Times `opsbook monitor` as cron runs it (recording its numbers in the run history) against
# the seed's bash way (benches/seed_monitor.sh: one psql / redis-cli fork per number,
# top/free/df for the host, the CPU sampled from /proc/stat over CPU_SAMPLE, default 0.2 s) on
# the same sandbox servers, side by side in one hyperfine run, and prints the ratio (goal: 20x).
# opsbook reports the CPU busy since its previous run from the counters that run kept, so it
# does not sample once a previous run exists (the warmup leaves one); its own sample
# (`monitor.cpu_sample`, CPU_SAMPLE here too) is only for a first run or a stale history.
#   bash benches/monitor.sh                 # needs hyperfine, redis-tools (apt-get install)
#   CARGO_TARGET_DIR=... is honoured for the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y hyperfine redis-tools" >&2; exit 3; }
done
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/opsbook
DIR=$(mktemp -d /tmp/opsbook-bench-XXXXXX)
chmod 755 "$DIR"
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
"$BIN" sandbox up --dir "$DIR/sb" --demo-data >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
export CPU_SAMPLE=${CPU_SAMPLE:-0.2}
# Three RQ queues with jobs, as the seeds' bot has (tasks, gateway, webhook).
REDIS_PORT=$(echo "$REDIS_URL" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')
for q in tasks gateway webhook; do
  redis-cli -p "$REDIS_PORT" sadd rq:queues "rq:queue:$q" >/dev/null
  redis-cli -p "$REDIS_PORT" rpush "rq:queue:$q" j1 j2 j3 >/dev/null
done
cat > "$DIR/opsbook.yaml" <<YAML
services: []
monitor:
  cpu_sample: ${CPU_SAMPLE}s
YAML
export OPSBOOK_STATE_DIR="$DIR/state"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n opsbook "$BIN monitor --format json --config $DIR/opsbook.yaml" \
  -n "seed bash (psql / redis-cli per number)" "bash benches/seed_monitor.sh"
{ "$BIN" monitor --format json --config "$DIR/opsbook.yaml" || true; } \
  | python3 -c 'import json,sys; print("host.cpu_usage:", [f["summary"] for f in json.load(sys.stdin)["findings"] if f["id"]=="host.cpu_usage"][0])'
python3 - "$DIR/result.json" "$CPU_SAMPLE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
sample = float(sys.argv[2])
ops, bash = r[0], r[1]
ratio = bash['median'] / ops['median']
print(f"opsbook median {ops['median']*1000:.1f} ms, seed bash median {bash['median']*1000:.1f} ms "
      f"(its {sample*1000:.0f} ms CPU sample included), ratio {ratio:.1f}x (goal 20x: "
      f"{'met' if ratio >= 20 else 'missed'})")
PY
