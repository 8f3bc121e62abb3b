#!/usr/bin/env bash
# The seed's way of getting monitor_50k.sh's numbers: one psql fork per number, redis-cli per
# Redis number, top/free/df for the host; the CPU is sampled from /proc/stat over
# CPU_SAMPLE seconds (a bash script keeps nothing between runs, so it samples every time).
# It reads what `opsbook monitor` reads. Connection settings: PG* environment and REDIS_URL.
set -u
CPU_SAMPLE=${CPU_SAMPLE:-0.2}
QUEUES=${QUEUES:-}
q() { psql -X -q -t -A -c "$1" 2>/dev/null; }
REDIS_PORT=$(echo "${REDIS_URL:-redis://127.0.0.1:6379}" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')
r() { redis-cli -p "$REDIS_PORT" "$@"; }

read -r _ u1 n1 s1 i1 w1 x1 y1 z1 _ < /proc/stat
sleep "$CPU_SAMPLE"
read -r _ u2 n2 s2 i2 w2 x2 y2 z2 _ < /proc/stat
busy=$(( (u2+n2+s2+x2+y2+z2) - (u1+n1+s1+x1+y1+z1) )); idle=$(( (i2+w2) - (i1+w1) ))
echo "CPU: $(awk -v b=$busy -v i=$idle 'BEGIN{printf "%.1f", (b+i) ? 100*b/(b+i) : 0}')%"
echo "Top: $(top -bn1 | grep 'Cpu(s)' | awk '{print $2}')"
echo "RAM: $(free | grep Mem | awk '{printf("%.1f"), $3/$2 * 100.0}')%"
echo "Disk /: $(df / | tail -1 | awk '{print $5}')"
echo "Load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

echo "PostgreSQL: $(q 'SHOW server_version')"
echo "Connections: $(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'") / $(q 'SHOW max_connections')"
for db in $(q 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate'); do
  echo "DB $db: $(q "SELECT pg_database_size('$db')")"
done
DATA_DIR=$(q 'SHOW data_directory')
echo "Disk data: $(df "$DATA_DIR" 2>/dev/null | tail -1 | awk '{print $5}')"
echo "Slow queries: $(q 'SELECT count(*) FROM pg_stat_statements WHERE mean_exec_time > 100' || echo 0)"
echo "Waiting on locks: $(q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")"

echo "Redis: $(r ping)"
echo "Redis memory: $(r info memory | grep '^used_memory:' | cut -d: -f2) of $(r config get maxmemory | tail -1)"
echo "Redis clients: $(r info clients | grep '^connected_clients:' | cut -d: -f2)"
total=0
for queue in ${QUEUES:-$(r smembers rq:queues | sed 's/^rq:queue://')}; do
  n=$(r llen "rq:queue:$queue"); total=$((total + n)); echo "Queue $queue: $n"
done
echo "RQ backlog: $total"
