#!/usr/bin/env bash
# Times `opsbook check afternoon` against the seed's bash way (benches/seed_afternoon.sh, one
# psql fork per number) on the same sandbox database with demo data, side by side in one
# hyperfine run. Both look at every relation (floor 0) and at the same slow statements.
#   bash benches/check_afternoon.sh            # needs hyperfine (apt-get install -y hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine: apt-get install -y hyperfine" >&2; exit 3; }
cargo build --release --quiet
BIN=$PWD/target/release/opsbook
DIR=$(mktemp -d /tmp/opsbook-bench-XXXXXX)
chmod 755 "$DIR"
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
"$BIN" sandbox up --dir "$DIR/sb" --demo-data --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
export PGDATABASE=opsbook_demo
# Statements for the slow list: 200 calls each of three lookups, listed by both (mean >= 0).
psql -X -q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
for i in $(seq 1 200); do
  echo "SELECT count(*) FROM users_global WHERE telegram_id = $i;"
  echo "SELECT count(*) FROM global_unique_invited_users WHERE inviter_user_id = $i;"
  echo "SELECT max(id) FROM competitions_global WHERE id > $i;"
done | psql -X -q -o /dev/null
cp "$OPSBOOK_CONFIG" "$DIR/bench.yaml"
printf 'thresholds:\n  relation_min_bytes: 0\n  slow_query_mean_ms: {warning: 0}\n' >> "$DIR/bench.yaml"
export OPSBOOK_CONFIG="$DIR/bench.yaml" MIN_BYTES=0 SLOW_MEAN_MS=0 SLOW_CALLS=100
PG_URL="postgres://postgres@$PGHOST:$PGPORT/opsbook_demo"
"$BIN" check afternoon --no-record --pg "$PG_URL" -q --no-color || true
hyperfine --warmup 3 --runs "${RUNS:-20}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n opsbook "$BIN check afternoon --no-record --format json --pg $PG_URL" \
  -n "seed bash (psql per number)" "bash benches/seed_afternoon.sh"
python3 - "$DIR/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ops, bash = r[0], r[1]
print(f"opsbook median {ops['median']*1000:.1f} ms, seed bash median {bash['median']*1000:.1f} ms, "
      f"ratio {bash['median']/ops['median']:.1f}x")
PY
