#!/usr/bin/env bash
# Creates .venv with the independent Python judges the tests and benchmarks use:
# ppdeep (ssdeep) and py-tlsh (TLSH) for fuzzy-hash scores, and
# stix2-validator (the OASIS reference validator), stix2 (the reference library),
# taxii2-client and medallion (the OASIS TAXII 2.1 client and server). Versions are
# pinned so that CI and developers agree.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tools/python-judges.txt
