#!/usr/bin/env bash
# `opsbook backup --remote` (the archive streamed to the bucket while it is written: age-encrypted,
# multipart, checked by the remote's multipart ETag, record last) against the local backup alone
# and the two-step way of the seeds: `opsbook backup` locally, then a separate upload of the same
# archive (boto3's upload_file, what `aws s3 cp` runs), on one sandbox database and one moto S3
# server on loopback. Also `--remote-only` (no local archive). Prints the medians, the ratios
# (goal: backup --remote within 1.2x of the local backup alone) and where the streamed run's
# time goes: the dump (pg_dump + compression + local verify, the manifest's duration) and the
# tail after it (last parts, ETag check, record), from the report's own figures.
#   bash benches/remote.sh                # SCALE=100, RUNS=3; BIN=target/debug/opsbook to skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/target/moto-venv}
[ -x "$VENV/bin/moto_server" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'moto[server]'; }
if [ -z "${BIN:-}" ]; then
	cargo build --release --quiet
	BIN=$PWD/target/release/opsbook
fi
command -v age-keygen >/dev/null || { echo "missing age-keygen: apt-get install -y age" >&2; exit 3; }
DIR=$(mktemp -d /tmp/opsbook-bench-remote-XXXXXX)
chmod 755 "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true; "$BIN" sandbox down --dir "$DIR/sb" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
echo "generating the demo database at scale ${SCALE:-100} ..." >&2
"$BIN" sandbox up --dir "$DIR/sb" --demo-data --demo-scale "${SCALE:-100}" --no-redis >/dev/null
eval "$("$BIN" sandbox env --dir "$DIR/sb")"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
ENDPOINT=http://127.0.0.1:$PORT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
"$VENV/bin/python" -c "import boto3; boto3.client('s3',endpoint_url='$ENDPOINT',region_name='us-east-1').create_bucket(Bucket='bench')"
age-keygen -o "$DIR/id" 2>/dev/null
age-keygen -y "$DIR/id" >"$DIR/rec"
cp "$OPSBOOK_CONFIG" "$DIR/opsbook.yaml"
cat >>"$DIR/opsbook.yaml" <<EOF
remotes:
  bench:
    bucket: bench
    endpoint: $ENDPOINT
    path_style: true
    encryption:
      recipients_file: $DIR/rec
      identity_file: $DIR/id
EOF
chmod 600 "$DIR/opsbook.yaml" "$DIR/id"
export OPSBOOK_CONFIG=$DIR/opsbook.yaml

"$VENV/bin/python" - "$BIN" "$DIR" "$ENDPOINT" "${RUNS:-3}" <<'EOF'
import glob, json, os, re, statistics, subprocess, sys, time
import boto3
bin_, d, endpoint, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = "opsbook_demo"
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

def timed(args):
    t = time.monotonic()
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout
    return time.monotonic() - t, json.loads(out)

def finding(report, fid):
    return next(f for f in report["findings"] if f["id"] == fid)

def secs(text):
    """A duration as opsbook prints it ("480 ms", "21s", "1m 5s") in seconds."""
    total, found = 0.0, False
    for n, unit in re.findall(r"([0-9.]+) ?(ms|s|m)\b", text):
        total += float(n) * {"ms": 0.001, "s": 1, "m": 60}[unit]
        found = True
    return total if found else float("nan")

local, two, remote, only, dump, tail, seal, hashing, waiting = ([] for _ in range(9))
size = stored = 0
for i in range(1, runs + 1):
    l, _ = timed([bin_, "backup", "--db", db, "--dir", f"{d}/bk{i}", "--format", "json"])
    archive = max(glob.glob(f"{d}/bk{i}/{db}/*.dump.zst"), key=os.path.getmtime)
    size = os.path.getsize(archive)
    t = time.monotonic()
    s3.upload_file(archive, "bench", f"two-step/{i}/" + os.path.basename(archive))
    u = time.monotonic() - t
    r, rep = timed([bin_, "backup", "--db", db, "--dir", f"{d}/rb{i}", "--remote", "bench", "--format", "json"])
    copy = finding(rep, "backup.remote_copy")
    assert copy["status"] == "ok", copy
    assert "checked by multipart-etag" in copy["detail"], copy["detail"]
    stored = copy["value"]
    dump.append(secs(finding(rep, "backup.created")["summary"].rsplit(",", 1)[-1]))
    tail.append(secs(next(x for x in copy["detail"] if x.startswith("completed"))))
    streaming = next(x for x in copy["detail"] if x.startswith("while streaming"))
    for into, part in zip((seal, hashing, waiting), streaming.split(":", 1)[1].split(",")):
        into.append(secs(part))
    o, rep = timed([bin_, "backup", "--db", db, "--dir", f"{d}/ob{i}", "--remote", "bench", "--remote-only", "--format", "json"])
    assert finding(rep, "backup.remote_copy")["status"] == "ok"
    assert not glob.glob(f"{d}/ob{i}/{db}/*.dump*")
    local.append(l); two.append(l + u); remote.append(r); only.append(o)
    print(f"run {i}: backup {l:.2f}s | backup then upload {l:.2f}s + {u:.2f}s | backup --remote {r:.2f}s"
          f" (dump {dump[-1]:.2f}s + tail {tail[-1]:.2f}s) | --remote-only {o:.2f}s", file=sys.stderr)

m = statistics.median
ml, mt, mr, mo = m(local), m(two), m(remote), m(only)
print(f"archive {size/2**20:.1f} MiB (zstd:1), {stored/2**20:.1f} MiB stored (age); medians of {runs} runs:")
print(f"  opsbook backup (local only)                   {ml:7.2f} s")
print(f"  opsbook backup, then boto3 upload_file        {mt:7.2f} s")
print(f"  opsbook backup --remote (streamed, age, ETag) {mr:7.2f} s  (dump+verify {m(dump):.2f} s, tail after it {m(tail):.2f} s)")
print(f"    while it streamed: encrypting {m(seal):.2f} s, hashing {m(hashing):.2f} s, waiting for the remote {m(waiting):.2f} s (the upload task's own time)")
print(f"  opsbook backup --remote --remote-only         {mo:7.2f} s")
print(f"  ratio backup --remote / local backup          {mr/ml:7.2f}x  (goal <= 1.2x)")
print(f"  ratio backup --remote / two-step              {mr/mt:7.2f}x")
print(f"  ratio --remote-only / local backup            {mo/ml:7.2f}x")
EOF
