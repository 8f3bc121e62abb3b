#!/usr/bin/env bash
# Times `opsbook monitor --no-record` against the seed's bash way (benches/seed_monitor.sh:
# one psql / redis-cli fork per number, top/free/df for the host) on the same sandbox servers,
# side by side in one hyperfine run, and prints the ratio.
# Both sample the CPU over the same CPU_SAMPLE (default 0.2 s: opsbook's `monitor.cpu_sample`,
# bash reads /proc/stat twice), so the interval weighs the same on both sides.
#   bash benches/monitor.sh                 # needs hyperfine, redis-tools (apt-get install)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y hyperfine redis-tools" >&2; exit 3; }
done
cargo build --release --quiet
BIN=$PWD/target/release/opsbook
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
  -n opsbook "$BIN monitor --no-record --format json --config $DIR/opsbook.yaml" \
  -n "seed bash (psql / redis-cli per number)" "bash benches/seed_monitor.sh"
python3 - "$DIR/result.json" "$CPU_SAMPLE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
sample = float(sys.argv[2])
ops, bash = r[0], r[1]
print(f"opsbook median {ops['median']*1000:.1f} ms, seed bash median {bash['median']*1000:.1f} ms, "
      f"ratio {bash['median']/ops['median']:.1f}x (both include the {sample*1000:.0f} ms CPU sample)")
o, b = ops['median'] - sample, bash['median'] - sample
if o > 0:
    print(f"without the CPU sample: opsbook {o*1000:.1f} ms, seed bash {b*1000:.1f} ms, ratio {b/o:.1f}x")
PY
