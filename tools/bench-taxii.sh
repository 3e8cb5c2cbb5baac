#!/usr/bin/env bash
# The TAXII 2.1 figures of BENCHMARKS.md, in one run: Geneva serving all of
# ATT&CK and its first 1,000 objects to 64 walkers and to 1, then medallion (the OASIS
# TAXII 2.1 server, memory backend) serving the same 1,000 objects to 1 and
# to 64 walkers. Each run prints one JSON report; SECONDS_EACH sets how long
# each walks (default 15), MEDALLION_TIMEOUT how long a medallion page may
# take before it counts as an error (default 120 s).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${GENEVA_SHARED_DATA:-../shared/data}
attack=$data/attack/enterprise-attack-15.1.json
each=${SECONDS_EACH:-15}
medallion_timeout=${MEDALLION_TIMEOUT:-120}
[ -x .venv/bin/medallion ] || tools/setup-python-judges.sh
cargo build --release -p geneva --quiet
geneva=$PWD/target/release/geneva
work=$(mktemp -d)
medallion_pid=
trap '[ -n "$medallion_pid" ] && kill "$medallion_pid" 2>/dev/null; rm -rf "$work"' EXIT

echo "== Geneva, ATT&CK (all objects), 64 connections"
"$geneva" bench taxii "$attack" --seconds "$each" --json

# The first 1,000 objects of the bundle, as medallion holds them.
python3 - "$attack" "$work" <<'PY'
import json, sys
attack, work = sys.argv[1], sys.argv[2]
bundle = json.load(open(attack))
subset = {"type": "bundle", "id": bundle["id"], "objects": bundle["objects"][:1000]}
json.dump(subset, open(f"{work}/subset.json", "w"))
PY
for connections in 64 1; do
    echo "== Geneva, first 1,000 ATT&CK objects, $connections connection(s)"
    "$geneva" bench taxii "$work/subset.json" --connections "$connections" --seconds "$each" --json
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
root="http://127.0.0.1:$port/api1/"
collection=472c94ae-3113-4e3e-a4dd-a9f4ac7471d4
python3 - "$work" "$root" "$collection" <<'PY'
import json, sys
work, root, collection = sys.argv[1:4]
json.dump({
    "/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
    "api1": {
        "information": {"title": "api1", "versions": ["application/taxii+json;version=2.1"],
                        "max_content_length": 1073741824},
        "status": [],
        "collections": [{"id": collection, "title": "ATT&CK subset", "can_read": True,
                         "can_write": True, "media_types": ["application/stix+json;version=2.1"],
                         "objects": [], "manifest": []}],
    },
}, open(f"{work}/data.json", "w"))
json.dump({
    "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                "filename": f"{work}/data.json"},
    "users": {"bench": "bench-secret"},
    "taxii": {"max_page_size": 100},
}, open(f"{work}/config.json", "w"))
PY
.venv/bin/medallion --host 127.0.0.1 --port "$port" "$work/config.json" >/dev/null 2>"$work/medallion.log" &
medallion_pid=$!
for _ in $(seq 300); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
done
GENEVA_TAXII_PASSWORD=bench-secret "$geneva" --data "$work/pusher" taxii push "$root" \
    --collection "$collection" --user bench --allow-private --json "$work/subset.json" >/dev/null
for connections in 1 64; do
    echo "== medallion, the same 1,000 objects, $connections connection(s)"
    "$geneva" bench taxii "$work/subset.json" --peer "${root}collections/$collection/objects/" \
        --peer-auth bench:bench-secret --connections "$connections" --seconds "$each" \
        --request-timeout "$medallion_timeout" --json
done
