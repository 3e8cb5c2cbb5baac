#!/usr/bin/env bash
# Benchmark: ATT&CK import and validation, with the Python reference figures
# measured in the same run. Prints the figures recorded in BENCHMARKS.md.
#   tools/bench-import.sh [path/to/enterprise-attack-15.1.json]
# Needs: hyperfine, GNU time (/usr/bin/time), .venv from tools/setup-python-judges.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GENEVA_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
bundle="${1:-$data/attack/enterprise-attack-15.1.json}"
python=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
geneva=target/release/geneva
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "file: $bundle ($(stat -c %s "$bundle") bytes)"
echo

echo "== geneva import into an empty store (parse, validate, persist, index) =="
hyperfine --warmup 1 --runs 10 --prepare "rm -rf $work/data" "$geneva --data $work/data import $bundle" 2>&1 | grep -E "Time|Range"
rm -rf "$work/data"
/usr/bin/time -f "peak RSS %M KB, wall %e s" "$geneva" --data "$work/data" import "$bundle" 2>&1 >/dev/null | tail -1
echo

echo "== geneva validate (parse and validate only) =="
hyperfine --warmup 1 --runs 10 "$geneva validate --quiet $bundle" 2>&1 | grep -E "Time|Range"
echo

echo "== Python stix2.parse(raw, allow_custom=True), parse only (stix2 $($python -c 'import stix2; print(stix2.__version__)')) =="
for run in 1 2 3; do
  $python - "$bundle" <<'PY'
import resource, sys, time
import stix2
raw = open(sys.argv[1], encoding="utf-8").read()
start = time.perf_counter()
stix2.parse(raw, allow_custom=True)
elapsed = time.perf_counter() - start
print(f"parse {elapsed:.2f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} KB")
PY
done
echo

echo "== stix2_validator --version 2.1 (stix2-validator $($python -c 'import importlib.metadata as m; print(m.version("stix2-validator"))')) =="
/usr/bin/time -f "wall %e s, peak RSS %M KB" .venv/bin/stix2_validator --version 2.1 --silent "$bundle" 2>&1 | tail -1 || true
