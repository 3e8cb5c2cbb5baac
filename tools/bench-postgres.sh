#!/usr/bin/env bash
# Benchmark (issue 4): ATT&CK import on PostgreSQL against SQLite, and API
# listing throughput with one and two `geneva serve` processes on one PostgreSQL.
#   tools/bench-postgres.sh            (needs hyperfine, wrk, PostgreSQL on 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GENEVA_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
bundle="$data/attack/enterprise-attack-15.1.json"
pg=postgres://postgres@127.0.0.1:5432
db=geneva_bench
cargo build --release --quiet
geneva=target/release/geneva
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "== ATT&CK import: PostgreSQL vs SQLite =="
hyperfine --warmup 1 --runs 5 \
  --prepare "dropdb -h 127.0.0.1 -U postgres --if-exists $db && createdb -h 127.0.0.1 -U postgres $db" \
  "$geneva --database $pg/$db import $bundle" 2>&1 | grep -E "Time|Range"
hyperfine --warmup 1 --runs 5 --prepare "rm -rf $work/sqlite" "$geneva --data $work/sqlite import $bundle" 2>&1 | grep -E "Time|Range"

echo "== Listing throughput on one PostgreSQL (GET /api/v1/objects?limit=100, as a member; ATT&CK imported as TLP:GREEN) =="
dropdb -h 127.0.0.1 -U postgres --if-exists $db && createdb -h 127.0.0.1 -U postgres $db
$geneva --database $pg/$db import --tlp green "$bundle" >/dev/null
$geneva --database $pg/$db org add Reader --kind state >/dev/null
token=$($geneva --database $pg/$db token create --org Reader --scope read)
start_server() {
  local port=$1
  $geneva --database $pg/$db serve --listen 127.0.0.1:$port >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf localhost:$port/healthz >/dev/null && return; sleep 0.1; done
}
start_server 18081
echo "-- 1 server"
wrk -t2 -c16 -d10s -H "Authorization: Bearer $token" "http://127.0.0.1:18081/api/v1/objects?limit=100" | grep -E "Requests/sec|Latency"
start_server 18082
echo "-- 2 servers (one wrk each, run together; add the two rates)"
wrk -t1 -c8 -d10s -H "Authorization: Bearer $token" "http://127.0.0.1:18081/api/v1/objects?limit=100" > "$work/a" &
wrk -t1 -c8 -d10s -H "Authorization: Bearer $token" "http://127.0.0.1:18082/api/v1/objects?limit=100" > "$work/b"
wait %%
grep -E "Requests/sec" "$work/a" "$work/b"
