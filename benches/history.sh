#!/usr/bin/env bash
# What the run history costs a run: `opsbook check morning` as cron runs it (recording its
# numbers) with an empty history against one holding 36 h of minutely `monitor` samples
# (2160 runs: the connection count and the CPU counters, the keys monitor records), in one
# run on the same sandbox servers, and the ratio of the medians (goal: within 1.1x). Then the
# bytes one recording run writes to the history: write(2)/pwrite(2) to files of the state
# directory (from strace, when installed) and what reached the page cache (write_bytes of
# the run, from wait4's ru_oublock).
#
# The 36 h history is made through the history's own import: a `history.json` in the format
# of the JSON history (what opsbook before SQLite wrote), imported once by the first run.
# hyperfine is used when installed (one command's runs after the other's); without it a loop
# interleaves the two, which a shared machine's noise spreads evenly over both.
#   bash benches/history.sh                 # RUNS=30; CARGO_TARGET_DIR is honoured
#   BIN=/path/to/opsbook bash benches/history.sh   # time another build (e.g. one before SQLite)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 3; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/opsbook
fi
RUNS=${RUNS:-30}
# On the disk the state directory would be on (not a tmpfs: its pages never reach storage).
DIR=$(mktemp -d /var/tmp/opsbook-bench-XXXXXX)
chmod 755 "$DIR"
trap '"$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
"$BIN" sandbox up --dir "$DIR/sb" --demo-data >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
export BACKUP_DIR="$DIR/sb/backups"
mkdir -p "$DIR/empty" "$DIR/full"

# 36 h of minutely monitor samples, the newest a minute ago, as the JSON history held them.
python3 - "$DIR/full/history.json" "${PGPORT:?}" <<'PY'
import json, sys, time
path, port = sys.argv[1], sys.argv[2]
now = int(time.time())
samples = []
busy, total = 5_000_000.0, 80_000_000.0
for m in range(36 * 60, 0, -1):
    busy += 900 + (m * 37) % 400
    total += 12_000
    samples.append({"at": now - m * 60, "command": "monitor", "values": {
        f"postgres.connections/127.0.0.1:{port}": float(3 + m % 5),
        "host.cpu_usage/busy_ticks": busy,
        "host.cpu_usage/total_ticks": total,
    }})
json.dump({"samples": samples}, open(path, "w"))
PY
JSON_BYTES=$(stat -c %s "$DIR/full/history.json")
# One run each, not timed: the import (full), the file's creation (empty).
for h in empty full; do
  OPSBOOK_STATE_DIR="$DIR/$h" "$BIN" check morning --format json >/dev/null || true
done
python3 -c '
import os, sqlite3, sys
if os.path.exists(sys.argv[1]):
    n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM sample").fetchone()[0]
    print(f"full history: {n} samples (imported from a {int(sys.argv[2]) // 1024} KiB history.json)")
else:
    print(f"full history: a {int(sys.argv[2]) // 1024} KiB history.json, kept as such by this build")
' "$DIR/full/history.sqlite3" "$JSON_BYTES"

run() { env OPSBOOK_STATE_DIR="$DIR/$1" "$BIN" check morning --format json; }
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 3 --runs "$RUNS" -N --ignore-failure --export-json "$DIR/result.json" \
    -n "empty history" "env OPSBOOK_STATE_DIR=$DIR/empty $BIN check morning --format json" \
    -n "36 h of monitor history" "env OPSBOOK_STATE_DIR=$DIR/full $BIN check morning --format json"
  python3 - "$DIR/result.json" > "$DIR/medians" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["median"] * 1000, r[1]["median"] * 1000)
PY
else
  python3 - "$BIN" "$DIR" "$RUNS" > "$DIR/medians" <<'PY'
import os, statistics, subprocess, sys, time
bin, dir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = {"empty": [], "full": []}
for i in range(3 + runs):
    for h in ("empty", "full"):
        env = dict(os.environ, OPSBOOK_STATE_DIR=f"{dir}/{h}")
        t = time.perf_counter()
        subprocess.run([bin, "check", "morning", "--format", "json"], env=env,
                       stdout=subprocess.DEVNULL)
        if i >= 3:
            times[h].append((time.perf_counter() - t) * 1000)
for h in ("empty", "full"):
    print(f"{h:5}: median {statistics.median(times[h]):.1f} ms, min {min(times[h]):.1f} ms "
          f"over {runs} runs", file=sys.stderr)
print(statistics.median(times["empty"]), statistics.median(times["full"]))
PY
fi
read -r EMPTY_MS FULL_MS < "$DIR/medians"
python3 -c '
import sys
e, f = float(sys.argv[1]), float(sys.argv[2])
verdict = "met" if f / e <= 1.1 else "missed"
print(f"check morning median: empty history {e:.1f} ms, 36 h of monitor history {f:.1f} ms, "
      f"ratio {f / e:.2f}x (goal 1.1x: {verdict})")
' "$EMPTY_MS" "$FULL_MS"

# Bytes one recording run writes, averaged over BYTES_RUNS (40) runs on the full history:
# WAL appends every run, a checkpoint into the database file every few dozen.
python3 - "$BIN" "$DIR/full" <<'PY'
import os, re, shutil, subprocess, sys, tempfile
bin, state = sys.argv[1], sys.argv[2]
env = dict(os.environ, OPSBOOK_STATE_DIR=state)
cmd = [bin, "check", "morning", "--format", "json"]
n = int(os.environ.get("BYTES_RUNS", "40"))
oublock = 0
for _ in range(n):
    pid = os.posix_spawn(bin, cmd, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, _, ru = os.wait4(pid, 0)
    oublock += ru.ru_oublock
print(f"page cache written per run (write_bytes): {oublock * 512 / n / 1024:.1f} KiB")
if shutil.which("strace"):
    per_file = {}
    with tempfile.NamedTemporaryFile() as log:
        for _ in range(n):
            subprocess.run(["strace", "-f", "-qq", "-y", "-o", log.name,
                            "-e", "trace=write,pwrite64,writev,pwritev"] + cmd,
                           env=env, stdout=subprocess.DEVNULL, check=False)
            for line in open(log.name):
                m = re.search(r"\((\d+)<([^>]*)>.*= (\d+)$", line)
                if m and m.group(2).startswith(state + "/"):
                    name = re.sub(r"\.\d+\.tmp$", ".PID.tmp", os.path.basename(m.group(2)))
                    per_file[name] = per_file.get(name, 0) + int(m.group(3))
    total = sum(per_file.values())
    files = ", ".join(f"{k} {v / n / 1024:.1f}" for k, v in sorted(per_file.items()))
    print(f"written to the state directory per run (strace): {total / n / 1024:.1f} KiB ({files})")
for name in sorted(os.listdir(state)):
    print(f"  {name}: {os.path.getsize(os.path.join(state, name)) / 1024:.0f} KiB")
PY
