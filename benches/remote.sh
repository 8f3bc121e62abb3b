#!/usr/bin/env bash
# `opsbook backup --remote` (archive read once, age-encrypted, multipart upload, read back and
# compared, record last) against the two-step way of the seeds: `opsbook backup` locally, then
# a separate upload of the same archive (boto3's upload_file, what `aws s3 cp` runs), on one
# sandbox database and one moto S3 server on loopback. Prints the times and the ratio
# (goal: backup --remote within 1.2x of the local backup alone).
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
DB=opsbook_demo
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

secs() { python3 -c 'import sys,time; t=time.monotonic(); import subprocess; subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL); print(f"{time.monotonic()-t:.3f}")' "$@"; }
UPLOAD='import boto3,sys; boto3.client("s3",endpoint_url=sys.argv[1],region_name="us-east-1").upload_file(sys.argv[2],"bench","two-step/"+sys.argv[2].split("/")[-1])'
local_t=() two_t=() remote_t=()
for i in $(seq "${RUNS:-3}"); do
	l=$(secs "$BIN" backup --db $DB --dir "$DIR/bk$i" --format json)
	f=$(ls -t "$DIR/bk$i/$DB"/*.dump.zst | head -1)
	u=$(secs "$VENV/bin/python" -c "$UPLOAD" "$ENDPOINT" "$f")
	r=$(secs "$BIN" backup --db $DB --dir "$DIR/rb$i" --remote bench --format json)
	local_t+=("$l"); two_t+=("$(python3 -c "print(f'{$l+$u:.3f}')")"); remote_t+=("$r")
	echo "run $i: backup ${l}s | backup then upload ${l}s + ${u}s | backup --remote ${r}s" >&2
done
SIZE=$(stat -c %s "$(ls -t "$DIR/bk1/$DB"/*.dump.zst | head -1)")
python3 - "$SIZE" "${local_t[*]}" "${two_t[*]}" "${remote_t[*]}" <<'EOF'
import statistics, sys
size = int(sys.argv[1])
l, t, r = ([float(x) for x in a.split()] for a in sys.argv[2:5])
ml, mt, mr = statistics.median(l), statistics.median(t), statistics.median(r)
print(f"archive {size/2**20:.1f} MiB (zstd:1), medians of {len(l)} runs:")
print(f"  opsbook backup (local only)             {ml:7.2f} s")
print(f"  opsbook backup, then boto3 upload_file  {mt:7.2f} s")
print(f"  opsbook backup --remote (age, checked)  {mr:7.2f} s")
print(f"  ratio backup --remote / local backup    {mr/ml:7.2f}x  (goal <= 1.2x)")
print(f"  ratio backup --remote / two-step        {mr/mt:7.2f}x")
EOF
