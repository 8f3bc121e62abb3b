#!/usr/bin/env bash
# Times `opsbook check morning --target ONE` against `check morning --all` over a 6-target
# inventory (2 PostgreSQL, 2 Redis, 3 Sentinels counted as one group) side by side in one
# hyperfine run, and prints the ratio. Goal: 6 targets within 2x of 1 (concurrency, not a sum).
#   bash benches/fleet.sh                        # needs hyperfine, redis-sentinel (apt-get install)
#   BIN=target/debug/opsbook bash benches/fleet.sh   # an existing binary instead of a release build
# With `opsbook sandbox up --ha` available, its sandbox and the `targets:` it writes are used;
# otherwise the script starts two sandboxes (each a PostgreSQL and a redis-server) and three
# redis-sentinel processes on free loopback ports and writes the inventory itself.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine redis-sentinel python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y hyperfine redis-sentinel python3" >&2; exit 3; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/opsbook
fi
BIN=$(readlink -f "$BIN")
DIR=$(mktemp -d /tmp/opsbook-bench-fleet-XXXXXX)
chmod 755 "$DIR"
SENTINELS=()
cleanup() {
  for pid in "${SENTINELS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for sb in "$DIR"/sb*; do [ -d "$sb" ] && "$BIN" sandbox down --dir "$sb" >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if "$BIN" sandbox up --help | grep -q -- '--ha'; then
  "$BIN" sandbox up --ha --dir "$DIR/sb" >/dev/null
  CONFIG=$DIR/sb/opsbook.yaml
  export PGPASSFILE=$DIR/sb/pgpass
else
  CONFIG=$DIR/opsbook.yaml
  targets="targets:"$'\n'
  for i in 1 2; do
    "$BIN" sandbox up --dir "$DIR/sb$i" >/dev/null
    pg_url=$(python3 - "$DIR/sb$i/opsbook.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
print(re.search(r"postgres:\n  url: (\S+)", text).group(1))
PY
)
    redis_url=$(sed -n 's/^  url: \(redis:\/\/.*\)/\1/p' "$DIR/sb$i/opsbook.yaml")
    # The sandbox's password, as a 0600 password_file (never on a command line).
    (umask 077; head -1 "$DIR/sb$i/pgpass" | cut -d: -f5- > "$DIR/pg$i.pass")
    targets+="  pg-$i: {kind: postgres, url: '$pg_url', password_file: $DIR/pg$i.pass}"$'\n'
    targets+="  cache-$i: {kind: redis, url: '$redis_url'}"$'\n'
  done
  master_port=$(sed -n 's/^  url: redis:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$DIR/sb1/opsbook.yaml")
  members=()
  for i in 1 2 3; do
    port=$(free_port)
    mkdir -p "$DIR/sentinel$i"
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 2\n' \
      "$port" "$DIR/sentinel$i" "$master_port" > "$DIR/sentinel$i/sentinel.conf"
    redis-sentinel "$DIR/sentinel$i/sentinel.conf" >"$DIR/sentinel$i/log" 2>&1 &
    SENTINELS+=("$!")
    targets+="  sentinel-$i: {kind: sentinel, url: 'redis://127.0.0.1:$port', master: mymaster}"$'\n'
    members+=("sentinel-$i")
  done
  targets+="  sentinels: {kind: group, members: [$(IFS=,; echo "${members[*]}")]}"$'\n'
  {
    echo "backup:"
    echo "  dir: $DIR/sb1/backups"
    echo "services: []"
    printf '%s' "$targets"
  } > "$CONFIG"
  chmod 600 "$CONFIG"
  for i in 1 2 3; do
    port=$(sed -n 's/^port //p' "$DIR/sentinel$i/sentinel.conf")
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  done
fi
export OPSBOOK_STATE_DIR=$DIR/state
ONE=$("$BIN" --config "$CONFIG" targets list --format json | python3 -c '
import json, sys
print(next(t["name"] for t in json.load(sys.stdin)["data"]["targets"] if t["kind"] == "postgres"))')
N=$("$BIN" --config "$CONFIG" targets list --format json | python3 -c '
import collections, json, sys
kinds = collections.Counter(t["kind"] for t in json.load(sys.stdin)["data"]["targets"] if t["kind"] != "group")
print(", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))')
echo "inventory: $N targets ($CONFIG); one target: $ONE" >&2
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n "check morning --target $ONE" "$BIN --config $CONFIG check morning --no-record --format json --target $ONE" \
  -n "check morning --all ($N)" "$BIN --config $CONFIG check morning --no-record --format json --all"
python3 - "$DIR/result.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
one, all_ = r[0], r[1]
ratio = all_["median"] / one["median"]
print(f"1 target median {one['median']*1000:.1f} ms, --all ({sys.argv[2]}) median "
      f"{all_['median']*1000:.1f} ms, ratio {ratio:.2f}x (goal: within 2x)")
PY
