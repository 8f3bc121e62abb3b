#!/usr/bin/env bash
# Independent numbers for the bloat estimate: check_postgres's `--action=bloat` and
# `opsbook check afternoon` (estimate, and --exact with pgstattuple) on the same tables of a
# sandbox: a freshly loaded and VACUUM ANALYZEd table, the same table with every second row
# deleted and VACUUMed, their primary keys and a secondary index. Prints wasted bytes side by
# side with the difference.
#   bash benches/bloat_vs_check_postgres.sh     # needs check_postgres (apt-get install -y check-postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(command -v check_postgres.pl || command -v check_postgres || true)
[ -n "$CP" ] || { echo "missing check_postgres: apt-get install -y check-postgres" >&2; exit 3; }
ROWS=${ROWS:-200000}
cargo build --release --quiet
BIN=$PWD/target/release/opsbook
DIR=$(mktemp -d /tmp/opsbook-bloat-XXXXXX)
chmod 755 "$DIR"
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
"$BIN" sandbox up --dir "$DIR/sb" --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
psql -X -q -c "CREATE DATABASE bloatcmp" >/dev/null
export PGDATABASE=bloatcmp
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION pgstattuple;
CREATE TABLE fresh (id int PRIMARY KEY, payload text);
INSERT INTO fresh SELECT g, repeat('x', 100) FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE fresh;
CREATE TABLE half (id int PRIMARY KEY, owner_id int, payload text);
INSERT INTO half SELECT g, g % 1000, repeat('x', 100) FROM generate_series(1, $ROWS) g;
CREATE INDEX half_owner_idx ON half (owner_id);
VACUUM ANALYZE half;
DELETE FROM half WHERE id % 2 = 0;
VACUUM ANALYZE half;
SQL
cp "$OPSBOOK_CONFIG" "$DIR/cmp.yaml"
printf 'thresholds:\n  relation_min_bytes: 0\n' >> "$DIR/cmp.yaml"
URL="postgres://postgres@$PGHOST:$PGPORT/bloatcmp"
"$BIN" check afternoon --config "$DIR/cmp.yaml" --pg "$URL" --no-record --format json > "$DIR/est.json" || true
"$BIN" check afternoon --config "$DIR/cmp.yaml" --pg "$URL" --no-record --format json --exact > "$DIR/exact.json" || true
# Thresholds out of reach: check_postgres prints its perf data (wasted bytes per relation,
# the 100 relations with the most waste) only when everything is OK.
"$CP" --action=bloat -H "$PGHOST" -p "$PGPORT" -u postgres -db bloatcmp \
  --warning='100 TB' --critical='200 TB' --perflimit=100 > "$DIR/cp.txt" || true
python3 - "$DIR/est.json" "$DIR/exact.json" "$DIR/cp.txt" <<'PY'
import json, re, sys
est = json.load(open(sys.argv[1]))["data"]
exact = json.load(open(sys.argv[2]))["data"]
perf = open(sys.argv[3]).read().split("|", 1)[-1]
cp = {m.group(1): int(m.group(2)) for m in re.finditer(r"(\S+?)=(\d+)B", perf)}
def rows(d):
    out = {}
    for kind in ("table_bloat", "index_bloat"):
        for r in d.get(kind, []):
            key = f"{r['schema']}.{r['name']}" if r["kind"] == "table" else r["name"]
            out[key] = r
    return out
e, x = rows(est), rows(exact)
mib = lambda b: f"{b / 1048576:8.2f}"
print(f"{'relation':<22} {'size MiB':>9} {'check_postgres':>14} {'opsbook est':>11} {'diff':>8} {'exact':>8}   (wasted MiB)")
for key in ["public.fresh", "public.half", "fresh_pkey", "half_pkey", "half_owner_idx"]:
    r = e.get(key)
    if r is None:
        print(f"{key:<22} missing from opsbook's report"); continue
    c = cp.get(key)
    xs = x.get(key, {}).get("wasted_bytes")
    diff = "" if c is None else mib(r["wasted_bytes"] - c)
    print(f"{key:<22} {mib(r['bytes']):>9} {mib(c) if c is not None else '       -':>14} "
          f"{mib(r['wasted_bytes']):>11} {diff:>8} {mib(xs) if xs is not None else '-':>8}")
PY
