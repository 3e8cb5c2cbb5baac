"""The Python taxii2-client (OASIS) walking a TAXII 2.1 server, as a judge.

Usage: taxii_judge.py BASE_URL TOKEN [SUBMIT_TOKEN]
Prints one JSON document with what the client saw; raises (exit 1) on any
response the client refuses (wrong media type, missing required fields).
"""
import json
import sys

from taxii2client.v21 import Server, as_pages

base, token = sys.argv[1], sys.argv[2]
server = Server(base + "/taxii2/", user="judge", password=token)
root = server.default
seen = {
    "title": server.title,
    "api_roots": [r.url for r in server.api_roots],
    "root_title": root.title,
    "root_versions": root.versions,
    "collections": sorted(c.id for c in root.collections),
}
all_ = next(c for c in root.collections if c.title == "Everything you may see")
pages = []
for envelope in as_pages(all_.get_objects, per_request=2, version="all"):
    pages.append([(o["id"], o.get("modified")) for o in envelope.get("objects", [])])
seen["pages"] = pages
seen["last"] = [o["id"] for o in all_.get_objects().get("objects", [])]
seen["types"] = [o["id"] for o in all_.get_objects(type="campaign").get("objects", [])]
first_id = seen["last"][0]
seen["object"] = [o["id"] for o in all_.get_object(first_id).get("objects", [])]
seen["versions"] = all_.object_versions(first_id).get("versions", [])
seen["manifest"] = [
    (m["id"], m["version"]) for m in all_.get_manifest(version="all").get("objects", [])
]
manifest_pages = list(as_pages(all_.get_manifest, per_request=3))
seen["manifest_pages"] = [len(p.get("objects", [])) for p in manifest_pages]
if len(sys.argv) > 3:
    writer = Server(base + "/taxii2/", user="judge", password=sys.argv[3]).default
    intake = next(c for c in writer.collections if c.can_write)
    status = intake.add_objects(
        {"objects": [{"type": "campaign", "spec_version": "2.1",
                      "id": "campaign--0000002a-0000-4000-8000-000000000000",
                      "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                      "name": "Posted by taxii2-client"}]},
        wait_for_completion=True,
    )
    seen["posted"] = {"status": status.status, "success_count": status.success_count,
                      "failure_count": status.failure_count}
    status.refresh()
    seen["posted_again"] = status.status
print(json.dumps(seen))
