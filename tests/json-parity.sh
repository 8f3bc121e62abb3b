#!/usr/bin/env bash
# JSON parity: run every read-only (or self-contained) command of two opsbook binaries against
# one sandbox, interleaved, and compare their --format json (and a few prometheus / nagios)
# outputs byte for byte after normalising what changes from run to run by nature: digits
# (timings, sizes that move, timestamps, pids, ports) and the per-binary scratch paths.
#   usage: bash tests/json-parity.sh OLD_BINARY NEW_BINARY [WORKDIR]
# Exit 0 when every output matches; prints a diff of each that does not.
set -uo pipefail
W=${3:-$(mktemp -d /tmp/opsbook-parity.XXXXXX)}
mkdir -p "$W/old" "$W/new"
# Both binaries under the same name: a command that prints its own path (runbook schedule's
# ExecStart=) then differs only in the scratch directory.
cp "$1" "$W/old/opsbook" && cp "$2" "$W/new/opsbook" || exit 3
OLD="$W/old/opsbook"; NEW="$W/new/opsbook"
SB="$W/sandbox"
"$OLD" sandbox up --dir "$SB" --demo-data >/dev/null 2>"$W/up.err" || { cat "$W/up.err"; exit 3; }
trap '"$OLD" sandbox down --dir "$SB" >/dev/null 2>&1' EXIT
eval "$("$OLD" sandbox env --dir "$SB")"
# Digits with their sign and unit (12 ms, -3.4%, 1.2 GiB), hex digests, scratch paths.
norm() { sed -E -e 's/(old|new)-(state|b)/X-\2/g' -e 's#/(old|new)/opsbook#/X/opsbook#g' -e 's/[0-9a-f]{16,}/HEX/g' \
  -e 's/[0-9]{8}T[0-9]{6}Z/TS/g' -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?/TS/g' \
  -e 's/[-+]?[0-9]+(\.[0-9]+)?( ?(ms|µs|us|s|m|h|d|x|MiB|GiB|KiB|kB|B))?\b/N/g' "$1"; }
# Commands whose verdict depends on the moment (a latency against its target, a memory trend
# over 2 s): compare the document's shape (every key path and finding id), not its values.
shape() { jq -c '[paths(scalars) | map(if type=="number" then "#" else . end) | join(".")], [.findings[]?.id]' "$1" 2>/dev/null || norm "$1"; }
fail=0; n=0
run() { # name, args...   (SHAPE=1 run ...: compare shapes)
  local name=$1; shift
  local cmp_fn=norm; [ "${SHAPE:-0}" = 1 ] && cmp_fn=shape
  for side in old new; do
    local bin=$OLD; [ $side = new ] && bin=$NEW
    local args=("${@//@SIDE@/$side}")
    OPSBOOK_STATE_DIR="$W/$side-state" "$bin" "${args[@]}" >"$W/$side.$name.out" 2>"$W/$side.$name.err"
    echo $? >"$W/$side.$name.rc"
  done
  n=$((n+1))
  local rcs=1; [ "${SHAPE:-0}" = 1 ] && rcs=0
  if ! cmp -s <($cmp_fn "$W/old.$name.out"; [ $rcs = 1 ] && cat "$W/old.$name.rc") <($cmp_fn "$W/new.$name.out"; [ $rcs = 1 ] && cat "$W/new.$name.rc"); then
    fail=$((fail+1)); echo "DIFFERS: $name ($*)"
    diff <($cmp_fn "$W/old.$name.out"; cat "$W/old.$name.rc") <($cmp_fn "$W/new.$name.out"; cat "$W/new.$name.rc") | head -20
  fi
}
J=(--format json)
run morning check morning "${J[@]}"
run morning-nagios check morning --format nagios
run morning-prom check morning --format prometheus
run afternoon check afternoon "${J[@]}"
run night check night "${J[@]}"
run night-cleanup-dry check night --cleanup --dry-run "${J[@]}"
run health check health "${J[@]}"
run monitor monitor "${J[@]}"
run monitor2 monitor "${J[@]}"
run monitor-prom monitor --format prometheus
run locks diagnose locks "${J[@]}"
SHAPE=1 run memory diagnose memory --duration 2s --interval 1s "${J[@]}"
run network diagnose network "${J[@]}"
run queries diagnose queries "${J[@]}"
run backup-list backup list "${J[@]}"
run backup-take backup --db opsbook_demo --dir "$W/@SIDE@-b" --yes "${J[@]}"
run backup-list-own backup list --dir "$W/@SIDE@-b" "${J[@]}"
run backup-verify backup verify opsbook_demo/latest "${J[@]}"
run backup-prune-dry backup prune --keep 1 --dry-run "${J[@]}"
run restore-dry restore opsbook_demo/latest --dry-run "${J[@]}"
run replica-status replica status "${J[@]}"
run primary-dry replica-setup primary --standby-addr 127.0.0.2 --dry-run "${J[@]}"
run config-show config show "${J[@]}"
run config-check config check "${J[@]}"
run runbook-list runbook list "${J[@]}"
run runbook-show runbook show morning "${J[@]}"
run runbook-validate runbook validate morning night "${J[@]}"
run runbook-dry runbook run morning --dry-run "${J[@]}"
run runbook-run runbook run morning "${J[@]}"
run schedule runbook schedule morning --print systemd "${J[@]}"
run sandbox-status sandbox status --dir "$SB" "${J[@]}"
SHAPE=1 run bench bench ranking -c 2 -t 20 "${J[@]}"
run completions completions bash
run bad-flag check morning --no-such-flag "${J[@]}"
run bad-config check morning --config /nonexistent.yaml "${J[@]}"
echo "json parity: $((n-fail)) of $n outputs identical after normalising digits and scratch paths (workdir $W)"
[ $fail -eq 0 ]
