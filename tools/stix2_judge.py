#!/usr/bin/env python3
"""Independent judge: runs the OASIS reference validator (PyPI `stix2-validator`)
on each file named on stdin (one path per line) and prints one JSON line per
file: {"file": path, "valid": bool, "errors": [...]}.

`stix2_validator --version 2.1` treats a Python exception inside the validator
as a failed validation; so do we.
"""
import json
import sys

from stix2validator import ValidationOptions, validate_file

options = ValidationOptions(version="2.1")
for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    try:
        result = validate_file(path, options)
        valid = bool(result.is_valid)
        errors = [str(e) for o in result.object_results for e in o.errors] if hasattr(result, "object_results") else []
        if not valid and hasattr(result, "fatal") and result.fatal:
            errors.append(str(result.fatal))
    except Exception as e:  # the CLI reports these as invalid files too
        valid, errors = False, [f"exception: {e!r}"]
    print(json.dumps({"file": path, "valid": valid, "errors": errors[:5]}), flush=True)
