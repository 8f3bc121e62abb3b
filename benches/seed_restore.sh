#!/usr/bin/env bash
# The seed's disaster_recovery.sh, minus the prompt and systemctl: a plain pg_dump of the current
# state, DROP DATABASE, CREATE DATABASE, gunzip -c | pg_restore (one job), then the row counts.
# Usage: seed_restore.sh DB BACKUP.gz. Prints "total_ms unavailable_ms": the database is gone
# from the DROP until pg_restore has finished.
set -euo pipefail
DB=$1
BACKUP=$2
B=${PG_BINDIR:-/usr/bin}
now() { date +%s%3N; }
t0=$(now)
"$B/pg_dump" "$DB" > "$(dirname "$BACKUP")/pre_recovery_backup_$(date +%Y%m%d_%H%M%S).sql"
t1=$(now)
"$B/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE);"
"$B/psql" -X -q -d postgres -c "CREATE DATABASE \"$DB\";"
gunzip -c "$BACKUP" | "$B/pg_restore" -d "$DB"
t2=$(now)
"$B/psql" -X -A -t -d "$DB" -c "SELECT count(*) FROM users_global" >/dev/null
"$B/psql" -X -A -t -d "$DB" -c "SELECT count(*) FROM competitions_global" >/dev/null
t3=$(now)
echo "$((t3 - t0)) $((t2 - t1))"
