#!/usr/bin/env bash
# Times `opsbook check morning --target ONE` against the same check over the stack (a group of
# 2 PostgreSQL, 2 Redis and the 3 Sentinels) and over `--all` (with `sandbox up --ha`, also its
# HAProxy) side by side in one hyperfine run, and prints the ratios. Goal: the stack within 2x
# of one target (concurrency, not a sum). With Patroni and Sentinels selected, every run also
# carries the HA facts (cluster.*: verdict, paused, pending restart, timeline, Sentinels).
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
# The stack as one group: every PostgreSQL, Redis and Sentinel target (not HAProxy).
STACK=$("$BIN" --config "$CONFIG" targets list --format json | python3 -c '
import json, sys
print(", ".join(t["name"] for t in json.load(sys.stdin)["data"]["targets"] if t["kind"] in ("postgres", "redis", "sentinel")))')
BENCH=$DIR/bench.yaml
cp "$CONFIG" "$BENCH"
printf '  bench-stack:\n    kind: group\n    members: [%s]\n' "$STACK" >> "$BENCH"
chmod 600 "$BENCH"
CONFIG=$BENCH
echo "inventory: $N targets ($CONFIG); one target: $ONE; the stack: $STACK" >&2
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --ignore-failure \
  --export-json "$DIR/result.json" \
  -n "check morning --target $ONE" "$BIN --config $CONFIG check morning --no-record --format json --target $ONE" \
  -n "check morning --target bench-stack" "$BIN --config $CONFIG check morning --no-record --format json --target bench-stack" \
  -n "check morning --all ($N)" "$BIN --config $CONFIG check morning --no-record --format json --all"
python3 - "$DIR/result.json" "$N" "$STACK" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
one, stack, all_ = r[0], r[1], r[2]
ms = lambda x: x["median"] * 1000
print(f"1 target median {ms(one):.1f} ms; the stack ({len(sys.argv[3].split(', '))} targets: "
      f"{sys.argv[3]}) median {ms(stack):.1f} ms, ratio {stack['median'] / one['median']:.2f}x "
      f"(goal: within 2x); --all ({sys.argv[2]}) median {ms(all_):.1f} ms, ratio "
      f"{all_['median'] / one['median']:.2f}x")
PY
