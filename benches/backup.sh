#!/usr/bin/env bash
# `opsbook backup` and `opsbook restore` on a generated database of at least 1 GB, side by side
# in one run with the floor (pg_dump -Fc -Z0 > /dev/null) and the seed scripts
# (benches/seed_backup.sh: pg_dump -Fc -Z9 then gzip; benches/seed_restore.sh: pre-dump, drop,
# create, serial restore).
#   bash benches/backup.sh          # SCALE=400 (~1.1 GB), RUNS=3; needs hyperfine (apt-get install)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine: apt-get install -y hyperfine" >&2; exit 3; }
cargo build --release --quiet
BIN=$PWD/target/release/opsbook
DIR=$(mktemp -d /tmp/opsbook-bench-XXXXXX)
chmod 755 "$DIR"
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
echo "generating the demo database at scale ${SCALE:-400} ..." >&2
"$BIN" sandbox up --dir "$DIR/sb" --demo-data --demo-scale "${SCALE:-400}" --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
PG_BINDIR=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pg_bindir'])" "$DIR/sb/sandbox.json")
export PG_BINDIR
DB=opsbook_demo
echo "database $DB: $("$PG_BINDIR/psql" -X -A -t -d "$DB" -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"

hyperfine --runs "${RUNS:-3}" --export-json "$DIR/backup.json" \
  -n "floor: pg_dump -Fc -Z0 > /dev/null" "$PG_BINDIR/pg_dump -Fc -Z0 -d $DB > /dev/null" \
  -n "opsbook backup" "$BIN backup --db $DB --dir $DIR/bk --format json > /dev/null" \
  -n "seed: pg_dump -Fc -Z9 then gzip" "bash benches/seed_backup.sh $DB $DIR/seed"
OPS_SIZE=$(stat -c %s "$(ls -t "$DIR"/bk/$DB/*.dump.zst | head -1)")
SEED_FILE=$(ls -t "$DIR"/seed/*.gz | head -1)
SEED_SIZE=$(stat -c %s "$SEED_FILE")

# Restore: opsbook (streamed, 1 job) end to end, then the seed's flow on the same server.
"$BIN" restore "$DB/latest" --dir "$DIR/bk" --yes --format json > "$DIR/restore.json"
for d in $("$PG_BINDIR/psql" -X -A -t -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE '${DB}\_\_%'"); do
  "$PG_BINDIR/psql" -X -q -d postgres -c "DROP DATABASE \"$d\""
done
"$BIN" restore "$DB/latest" --dir "$DIR/bk" --yes --jobs 2 --format json > "$DIR/restore2.json"
for d in $("$PG_BINDIR/psql" -X -A -t -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE '${DB}\_\_%'"); do
  "$PG_BINDIR/psql" -X -q -d postgres -c "DROP DATABASE \"$d\""
done
SEED_RESTORE=$(bash benches/seed_restore.sh "$DB" "$SEED_FILE")

python3 - "$DIR/backup.json" "$OPS_SIZE" "$SEED_SIZE" "$DIR/restore.json" "$DIR/restore2.json" "$SEED_RESTORE" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor = r["floor: pg_dump -Fc -Z0 > /dev/null"]["median"]
ops = r["opsbook backup"]["median"]
seed = r["seed: pg_dump -Fc -Z9 then gzip"]["median"]
ops_size, seed_size = int(sys.argv[2]), int(sys.argv[3])
print(f"backup: opsbook {ops:.1f} s, floor {floor:.1f} s, seed {seed:.1f} s -> "
      f"{ops/floor:.2f}x the floor (goal <= 1.3), {seed/ops:.1f}x faster than the seed (goal >= 8)")
print(f"archive: opsbook {ops_size/2**20:.1f} MiB, seed {seed_size/2**20:.1f} MiB -> "
      f"{ops_size/seed_size:.2f}x the seed's size (goal <= 1.1)")
def restore(path):
    j = json.load(open(path))
    swap = [f for f in j["findings"] if f["id"] == "restore.swap"][0]["value"]
    return j["duration_ms"], swap, j["status"]
for label, path in (("1 job", sys.argv[4]), ("2 jobs", sys.argv[5])):
    total, swap, status = restore(path)
    print(f"restore ({label}): opsbook {total/1000:.1f} s end to end ({status}), unavailable {swap * 1000:.0f} ms")
seed_total, seed_down = map(int, sys.argv[6].split())
print(f"restore: seed flow {seed_total/1000:.1f} s end to end, unavailable {seed_down/1000:.1f} s")
PY
