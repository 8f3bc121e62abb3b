#!/usr/bin/env bash
# The seed's backup_full_daily.sh, minus its echo lines: pg_dump -Fc -Z9, then gzip the
# archive again, then gunzip -t. Usage: seed_backup.sh DB OUTDIR (PG* from the environment).
set -euo pipefail
DB=$1
OUT=$2
mkdir -p "$OUT"
FILE="$OUT/telegram_bot_full_backup_$(date +%Y%m%d_%H%M%S).sql"
"${PG_BINDIR:-/usr/bin}/pg_dump" --format=custom --compress=9 --no-owner --no-privileges "$DB" > "$FILE"
gzip "$FILE"
gunzip -t "$FILE.gz"
