#!/usr/bin/env bash
# The seed's way of getting the morning numbers: one psql fork per number (as in
# daily_morning_check.sh and monitor_50k.sh), redis-cli for Redis, df/free/ls for the host.
# It reads what `opsbook check morning` reads, so the two can be timed side by side.
# Connection settings come from the PG* environment and REDIS_URL (see benches/check_morning.sh).
set -u
BACKUP_DIR=${BACKUP_DIR:-/var/backups/opsbook}
q() { psql -X -q -t -A -c "$1" 2>/dev/null; }

echo "PostgreSQL: $(q 'SHOW server_version')"
CONNS=$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
MAX=$(q 'SHOW max_connections')
echo "Connections: $CONNS / $MAX"
HIT=$(q 'SELECT round(100.0 * sum(blks_hit) / nullif(sum(blks_hit) + sum(blks_read), 0), 1) FROM pg_stat_database')
echo "Cache hit: ${HIT}%"
for db in $(q 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate'); do
  SIZE=$(q "SELECT pg_database_size('$db')")
  echo "DB $db: $(echo "$SIZE" | numfmt --to=iec)"
done
DATA_DIR=$(q 'SHOW data_directory')
REDIS_PORT=$(echo "${REDIS_URL:-redis://127.0.0.1:6379}" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')
echo "Redis: $(redis-cli -p "$REDIS_PORT" ping)"
echo "Redis memory: $(redis-cli -p "$REDIS_PORT" info memory | grep '^used_memory:' | cut -d: -f2)"
LATEST=$(ls -t "$BACKUP_DIR"/*/* 2>/dev/null | head -1)
[ -n "$LATEST" ] && echo "Backup: $LATEST" || echo "No backup"
echo "RAM: $(free | grep Mem | awk '{printf("%.1f"), $3/$2 * 100.0}')%"
echo "Disk data: $(df "$DATA_DIR" 2>/dev/null | tail -1 | awk '{print $5}')"
echo "Disk backup: $(df "$BACKUP_DIR" | tail -1 | awk '{print $5}')"
