#!/usr/bin/env bash
# The seed's way of getting the afternoon numbers: one `psql -Atc` fork per number (as in
# daily_afternoon_check.sh), for what `opsbook check afternoon` reports: each field of each
# slow statement, each bloat row (check_postgres's arithmetic), unused indexes, sequential
# scans, long / idle-in-transaction sessions, lock waits, wraparound, connections, cache.
# Connection settings come from the PG* environment (see benches/check_afternoon.sh);
# MIN_BYTES (relation floor), SLOW_CALLS and SLOW_MEAN_MS match the opsbook config there.
set -u
MIN_BYTES=${MIN_BYTES:-10485760}
SLOW_CALLS=${SLOW_CALLS:-100}
SLOW_MEAN_MS=${SLOW_MEAN_MS:-50}
q() { psql -X -q -t -A -c "$1" 2>/dev/null; }

echo "CHECKLIST VESPERTINO - $(date)"
CONNS=$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
MAX=$(q 'SHOW max_connections')
echo "Connections: $CONNS / $MAX"
echo "Cache hit: $(q 'SELECT round(100.0 * sum(blks_hit) / nullif(sum(blks_hit) + sum(blks_read), 0), 1) FROM pg_stat_database')%"

PGSS="dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
TOTAL=$(q "SELECT sum(total_exec_time) FROM pg_stat_statements WHERE $PGSS")
for id in $(q "SELECT queryid FROM pg_stat_statements WHERE $PGSS AND calls > $SLOW_CALLS AND mean_exec_time >= $SLOW_MEAN_MS ORDER BY mean_exec_time DESC LIMIT 5"); do
  CALLS=$(q "SELECT calls FROM pg_stat_statements WHERE $PGSS AND queryid = $id")
  MEAN=$(q "SELECT round(mean_exec_time::numeric, 1) FROM pg_stat_statements WHERE $PGSS AND queryid = $id")
  MAXT=$(q "SELECT round(max_exec_time::numeric, 1) FROM pg_stat_statements WHERE $PGSS AND queryid = $id")
  SHARE=$(q "SELECT round((100 * total_exec_time / nullif($TOTAL, 0))::numeric, 1) FROM pg_stat_statements WHERE $PGSS AND queryid = $id")
  TEXT=$(q "SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 200) FROM pg_stat_statements WHERE $PGSS AND queryid = $id")
  echo "slow $id: $CALLS calls, mean $MEAN ms, max $MAXT ms, $SHARE%: $TEXT"
done

# check_postgres's table estimate, one relation and one number at a time.
OTTA="SELECT ceil(c.reltuples * (ceil((w.datawidth + 24) / 8) * 8 + 4) / (current_setting('block_size')::int - 20))
      FROM pg_class c, (SELECT sum((1 - null_frac) * avg_width) AS datawidth FROM pg_stats WHERE schemaname || '.' || tablename = '%s') w
      WHERE c.oid = '%s'::regclass"
for t in $(q "SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND pg_relation_size(c.oid) >= $MIN_BYTES"); do
  full=$(q "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = '$t'::regclass")
  PAGES=$(q "SELECT relpages FROM pg_class WHERE oid = '$t'::regclass")
  EXPECTED=$(q "$(printf "$OTTA" "$full" "$t")")
  WASTED=$(( (PAGES - ${EXPECTED:-0}) * 8192 ))
  SIZE=$(q "SELECT pg_relation_size('$t'::regclass)")
  echo "table bloat $t: $WASTED of $SIZE bytes"
done
for i in $(q "SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam WHERE c.relkind = 'i' AND am.amname = 'btree' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' AND pg_relation_size(c.oid) >= $MIN_BYTES"); do
  PAGES=$(q "SELECT relpages FROM pg_class WHERE oid = '$i'::regclass")
  TUPLES=$(q "SELECT reltuples FROM pg_class WHERE oid = '$i'::regclass")
  SIZE=$(q "SELECT pg_relation_size('$i'::regclass)")
  echo "index bloat $i: $PAGES pages, $TUPLES tuples, $SIZE bytes"
done

RESET=$(q "SELECT coalesce(stats_reset::text, 'never reset') FROM pg_stat_database WHERE datname = current_database()")
for i in $(q "SELECT s.indexrelid::regclass FROM pg_stat_user_indexes s JOIN pg_index x ON x.indexrelid = s.indexrelid WHERE s.idx_scan = 0 AND NOT x.indisunique AND pg_relation_size(s.indexrelid) >= $MIN_BYTES"); do
  echo "unused index $i: $(q "SELECT pg_relation_size('$i'::regclass)") bytes since $RESET"
done
for t in $(q "SELECT relid::regclass FROM pg_stat_user_tables WHERE seq_scan > 0 AND pg_relation_size(relid) >= $MIN_BYTES"); do
  SEQ=$(q "SELECT seq_scan FROM pg_stat_user_tables WHERE relid = '$t'::regclass")
  IDX=$(q "SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relid = '$t'::regclass")
  SEQ_TUP=$(q "SELECT seq_tup_read FROM pg_stat_user_tables WHERE relid = '$t'::regclass")
  IDX_TUP=$(q "SELECT coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relid = '$t'::regclass")
  echo "scans $t: $SEQ seq ($SEQ_TUP rows), $IDX index ($IDX_TUP rows)"
done

ME="pid <> pg_backend_pid()"
echo "Long transactions: $(q "SELECT count(*) FROM pg_stat_activity WHERE xact_start < now() - interval '5 minutes' AND $ME"), oldest $(q "SELECT coalesce(max(now() - xact_start), '0') FROM pg_stat_activity WHERE $ME AND backend_type = 'client backend'")"
echo "Idle in transaction: $(q "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND $ME"), oldest $(q "SELECT coalesce(max(now() - state_change), '0') FROM pg_stat_activity WHERE state = 'idle in transaction' AND $ME")"
echo "Lock waits: $(q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $ME"), blockers $(q "SELECT string_agg(pg_blocking_pids(pid)::text, ' ') FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $ME")"
AGE=$(q "SELECT max(age(datfrozenxid)) FROM pg_database")
FREEZE=$(q 'SHOW autovacuum_freeze_max_age')
echo "Wraparound: $AGE of $FREEZE"
echo "CHECKLIST VESPERTINO concluído"
