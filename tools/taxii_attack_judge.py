"""taxii2-client (OASIS) against `geneva serve` holding all of ATT&CK.

Usage: taxii_attack_judge.py BASE_URL TOKEN SUBMIT_TOKEN BUNDLE
Walks the 19,981 objects with as_pages, tries every filter, the object,
versions and manifest endpoints, and a POST followed to its final status.
What it expects it works out from BUNDLE itself, so the Rust test compares
two independent readings. Prints one JSON document: {"seen": ..., "expected": ...}.
"""
import json
import sys

from taxii2client.v21 import Server, as_pages

base, token, submit, bundle_path = sys.argv[1:5]
objects = json.load(open(bundle_path))["objects"]
ids = sorted(o["id"] for o in objects)
some = min((o for o in objects if o["type"] == "intrusion-set"), key=lambda o: o["id"])

server = Server(base + "/taxii2/", user="judge", password=token)
root = server.default
everything = next(c for c in root.collections if c.title == "Everything you may see")

seen, expected = {}, {}

walked, pages = [], 0
for envelope in as_pages(everything.get_objects, per_request=100):
    pages += 1
    walked.extend(o["id"] for o in envelope.get("objects", []))
seen["walked_ids"] = sorted(walked)
seen["walked_unique"] = len(set(walked))
seen["pages"] = pages
expected["walked_ids"] = ids
expected["walked_unique"] = len(ids)
expected["pages"] = (len(ids) + 99) // 100


def count(**filters):
    return sum(len(p.get("objects", [])) for p in as_pages(everything.get_objects, per_request=1000, **filters))


seen["type_intrusion_set"] = count(type="intrusion-set")
expected["type_intrusion_set"] = sum(o["type"] == "intrusion-set" for o in objects)
seen["type_two"] = count(type=["campaign", "malware"])
expected["type_two"] = sum(o["type"] in ("campaign", "malware") for o in objects)
seen["spec_version_21"] = count(spec_version="2.1")
expected["spec_version_21"] = sum(o.get("spec_version") == "2.1" for o in objects)
seen["spec_version_20"] = count(spec_version="2.0")
expected["spec_version_20"] = 0
seen["added_after_past"] = count(added_after="2000-01-01T00:00:00Z")
expected["added_after_past"] = len(ids)
seen["added_after_future"] = count(added_after="2999-01-01T00:00:00Z")
expected["added_after_future"] = 0
for version in ("first", "last", "all"):
    seen[f"version_{version}"] = count(version=version)
    expected[f"version_{version}"] = len(ids)
seen["version_at_modified"] = [
    o["id"] for o in everything.get_objects(id=some["id"], version=some["modified"]).get("objects", [])
]
expected["version_at_modified"] = [some["id"]]
seen["match_id"] = [o for o in everything.get_objects(id=some["id"]).get("objects", [])]
expected["match_id"] = [some]
seen["get_object"] = [o["id"] for o in everything.get_object(some["id"]).get("objects", [])]
expected["get_object"] = [some["id"]]
seen["versions"] = everything.object_versions(some["id"]).get("versions", [])
expected["versions"] = [some["modified"]]
manifest = [m["id"] for p in as_pages(everything.get_manifest, per_request=1000) for m in p.get("objects", [])]
seen["manifest_unique"] = len(set(manifest))
expected["manifest_unique"] = len(ids)

writer = Server(base + "/taxii2/", user="judge", password=submit).default
intake = next(c for c in writer.collections if c.can_write)
status = intake.add_objects(
    {"objects": [{"type": "campaign", "spec_version": "2.1",
                  "id": "campaign--0000002a-0000-4000-8000-00000000a77c",
                  "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                  "name": "Posted by taxii2-client after ATT&CK"}]},
    wait_for_completion=True, poll_interval=0.2,
)
seen["posted"] = [status.status, status.success_count, status.failure_count]
expected["posted"] = ["complete", 1, 0]
seen["after_post"] = count(type="campaign")
expected["after_post"] = sum(o["type"] == "campaign" for o in objects) + 1
print(json.dumps({"seen": seen, "expected": expected}))
