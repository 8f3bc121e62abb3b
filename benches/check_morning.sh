#!/usr/bin/env bash
# Times `opsbook check morning` against the seed's bash way (benches/seed_morning.sh, one
# psql fork per number) on the same sandbox servers, side by side in one hyperfine run.
#   bash benches/check_morning.sh            # needs hyperfine, redis-tools (apt-get install)
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
export BACKUP_DIR="$DIR/sb/backups"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n opsbook "$BIN check morning --no-record --format json" \
  -n "seed bash (psql per number)" "bash benches/seed_morning.sh"
python3 - "$DIR/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ops, bash = r[0], r[1]
print(f"opsbook median {ops['median']*1000:.1f} ms, seed bash median {bash['median']*1000:.1f} ms, "
      f"ratio {bash['median']/ops['median']:.1f}x")
PY
