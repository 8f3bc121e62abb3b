#!/usr/bin/env bash
# `opsbook backup --rdb` both ways (BGSAVE + the server's own file, and the replica-protocol
# download) against the peer, `redis-cli --rdb FILE` (the same SYNC download, no compression,
# no checks), on one redis-server of its own on a free loopback port filled with KEYS keys of
# 100 bytes. hyperfine prints the times and the ratios in one run.
#   bash benches/redis_snapshot.sh        # KEYS=500000, RUNS=5; BIN=target/debug/opsbook to skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine: apt-get install -y hyperfine" >&2; exit 3; }
command -v redis-cli >/dev/null || { echo "missing redis-cli: apt-get install -y redis-tools" >&2; exit 3; }
if [ -z "${BIN:-}" ]; then
	cargo build --release --quiet
	BIN=$PWD/target/release/opsbook
fi
DIR=$(mktemp -d /tmp/opsbook-bench-redis-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir "$DIR/redis" "$DIR/bk"
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR/redis" \
	--daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "filling Redis with ${KEYS:-500000} keys ..." >&2
redis-cli -p "$PORT" eval "for i=1,tonumber(ARGV[1]) do redis.call('SET','key:'..i,string.rep('v',100)) end" 0 "${KEYS:-500000}" >/dev/null
redis-cli -p "$PORT" info memory | grep '^used_memory_human' >&2
URL=redis://127.0.0.1:$PORT
export OPSBOOK_STATE_DIR=$DIR/state
# The snapshots stay in the bench's directory; each run adds one (removed with it).
hyperfine --runs "${RUNS:-5}" --warmup 1 -N \
	-n "redis-cli --rdb (peer: SYNC to a file, no compression)" "redis-cli -p $PORT --rdb $DIR/peer.rdb" \
	-n "opsbook backup --rdb --rdb-method bgsave" "$BIN --redis $URL backup --rdb --rdb-method bgsave --dir $DIR/bk --format json" \
	-n "opsbook backup --rdb --rdb-method sync" "$BIN --redis $URL backup --rdb --rdb-method sync --dir $DIR/bk --format json"
ls -l "$DIR/peer.rdb" | awk '{print "peer RDB", $5, "bytes"}' >&2
ls -l "$DIR/bk/_redis/"*.rdb.zst | tail -1 | awk '{print "opsbook archive (zstd:1)", $5, "bytes"}' >&2
