//! A generated STIX 2.1 corpus: valid objects of every type, invalid objects
//! that each break one MUST rule, the deliberate differences from
//! stix2-validator, and seeded random mutations of ATT&CK objects.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

pub const U4: &str = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
pub const U5: &str = "8e2e2d2b-17d4-5cbf-938f-98ee46b3cd3f";
const T: &str = "2016-04-06T20:03:00.000Z";

pub fn id(t: &str) -> String {
    format!("{t}--{U4}")
}

fn sdo(t: &str, extra: Value) -> Value {
    let mut o = json!({"type": t, "spec_version": "2.1", "id": id(t), "created": T, "modified": T});
    merge(&mut o, extra);
    o
}

fn sco(t: &str, uuid: &str, extra: Value) -> Value {
    let mut o = json!({"type": t, "spec_version": "2.1", "id": format!("{t}--{uuid}")});
    merge(&mut o, extra);
    o
}

fn merge(o: &mut Value, extra: Value) {
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                o.remove(&k);
            } else {
                o.insert(k, v);
            }
        }
    }
}

/// `base` with properties replaced (a JSON null in `change` removes the property).
pub fn with(base: &Value, change: Value) -> Value {
    let mut o = base.clone();
    merge(&mut o, change);
    o
}

/// Valid objects of every STIX 2.1 type, minimal and fuller.
pub fn valid_objects() -> Vec<(String, Value)> {
    let kcp = json!([{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]);
    let ext_ref = json!([{"source_name": "cve", "external_id": "CVE-2016-1234"}, {"source_name": "vendor", "url": "https://example.com/a%20b"}]);
    let objects = vec![
        sdo(
            "attack-pattern",
            json!({"name": "Spearphishing", "kill_chain_phases": kcp, "external_references": [{"source_name": "capec", "external_id": "CAPEC-163"}]}),
        ),
        sdo(
            "campaign",
            json!({"name": "x", "first_seen": "2016-01-01T00:00:00Z", "last_seen": "2016-02-01T00:00:00Z", "external_references": ext_ref, "lang": "en-US", "confidence": 50}),
        ),
        sdo(
            "course-of-action",
            json!({"name": "x", "description": "Patch."}),
        ),
        sdo(
            "grouping",
            json!({"context": "suspicious-activity", "object_refs": [id("campaign")]}),
        ),
        sdo(
            "identity",
            json!({"name": "ACME", "identity_class": "organization", "sectors": ["technology"], "roles": ["cert"]}),
        ),
        sdo("incident", json!({"name": "x", "kill_chain_phases": kcp})),
        sdo(
            "indicator",
            json!({"pattern": "[ipv4-addr:value = '1.2.3.4']", "pattern_type": "stix", "valid_from": "2016-04-06T20:03:00Z", "indicator_types": ["malicious-activity"], "name": "C2"}),
        ),
        sdo(
            "indicator",
            json!({"pattern": "([file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] AND [network-traffic:dst_port IN (443, 80)]) WITHIN 300 SECONDS", "pattern_type": "stix", "valid_from": "2016-04-06T20:03:00Z", "valid_until": "2017-04-06T20:03:00Z"}),
        ),
        sdo(
            "indicator",
            json!({"pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2016-04-06T20:03:00Z"}),
        ),
        sdo(
            "infrastructure",
            json!({"name": "x", "infrastructure_types": ["command-and-control"]}),
        ),
        sdo(
            "intrusion-set",
            json!({"name": "x", "aliases": ["y"], "resource_level": "government", "primary_motivation": "organizational-gain"}),
        ),
        sdo("location", json!({"region": "europe"})),
        sdo(
            "location",
            json!({"latitude": 46.2, "longitude": 6.14, "precision": 100.0, "country": "CH"}),
        ),
        sdo("malware", json!({"is_family": false})),
        sdo(
            "malware",
            json!({"is_family": true, "name": "x", "malware_types": ["backdoor"], "operating_system_refs": [format!("software--{U5}")], "sample_refs": [format!("file--{U5}")]}),
        ),
        sdo(
            "malware-analysis",
            json!({"product": "x", "result": "malicious"}),
        ),
        sdo(
            "malware-analysis",
            json!({"product": "x", "analysis_sco_refs": [format!("file--{U5}")], "sample_ref": format!("file--{U5}")}),
        ),
        sdo(
            "note",
            json!({"content": "x", "object_refs": [id("campaign")], "authors": ["a"]}),
        ),
        sdo(
            "observed-data",
            json!({"first_observed": "2016-04-06T20:03:00Z", "last_observed": "2016-04-06T20:03:00Z", "number_observed": 1, "object_refs": [format!("ipv4-addr--{U5}")]}),
        ),
        sdo(
            "opinion",
            json!({"opinion": "agree", "object_refs": [id("campaign")]}),
        ),
        sdo(
            "report",
            json!({"name": "x", "published": "2016-04-06T20:03:00Z", "object_refs": [id("campaign")], "report_types": ["threat-report"]}),
        ),
        sdo(
            "threat-actor",
            json!({"name": "x", "threat_actor_types": ["nation-state"], "first_seen": "2016-01-01T00:00:00Z"}),
        ),
        sdo("tool", json!({"name": "x", "tool_version": "1.0"})),
        sdo(
            "vulnerability",
            json!({"name": "CVE-2016-1234", "external_references": [{"source_name": "cve", "external_id": "CVE-2016-1234"}]}),
        ),
        sdo(
            "relationship",
            json!({"relationship_type": "uses", "source_ref": id("campaign"), "target_ref": id("malware"), "start_time": "2016-01-01T00:00:00Z", "stop_time": "2016-02-01T00:00:00Z"}),
        ),
        sdo(
            "relationship",
            json!({"relationship_type": "related-to", "source_ref": id("indicator"), "target_ref": format!("ipv4-addr--{U5}")}),
        ),
        sdo(
            "sighting",
            json!({"sighting_of_ref": id("indicator"), "count": 3, "where_sighted_refs": [id("identity")], "observed_data_refs": [id("observed-data")], "summary": false}),
        ),
        sco(
            "artifact",
            U5,
            json!({"payload_bin": "aGVsbG8=", "mime_type": "application/zip"}),
        ),
        sco(
            "artifact",
            U5,
            json!({"url": "https://example.com/x.bin", "hashes": {"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}}),
        ),
        sco(
            "autonomous-system",
            U5,
            json!({"number": 15139, "name": "Slime Industries", "rir": "ARIN"}),
        ),
        sco(
            "directory",
            U5,
            json!({"path": "C:\\Windows\\System32", "path_enc": "UTF-8"}),
        ),
        sco(
            "domain-name",
            U5,
            json!({"value": "example.com", "resolves_to_refs": [format!("ipv4-addr--{U5}")]}),
        ),
        sco(
            "email-addr",
            U5,
            json!({"value": "john@example.com", "display_name": "John"}),
        ),
        sco(
            "email-message",
            U4,
            json!({"is_multipart": false, "body": "hi", "subject": "x", "additional_header_fields": {"X-Mailer": "m"}}),
        ),
        sco(
            "email-message",
            U4,
            json!({"is_multipart": true, "body_multipart": [{"body": "x", "content_type": "text/plain"}], "subject": "y"}),
        ),
        sco(
            "file",
            U5,
            json!({"name": "a.exe", "hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e", "SHA-1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}, "size": 0, "magic_number_hex": "4D5A"}),
        ),
        sco(
            "file",
            U5,
            json!({"name": "a.exe", "extensions": {"windows-pebinary-ext": {"pe_type": "exe", "number_of_sections": 4, "time_date_stamp": "2016-01-01T00:00:00Z"}, "ntfs-ext": {"sid": "1"}}}),
        ),
        sco("ipv4-addr", U5, json!({"value": "198.51.100.3"})),
        sco("ipv4-addr", U5, json!({"value": "10.0.0.0/8"})),
        sco("ipv6-addr", U5, json!({"value": "2001:db8::1/64"})),
        sco("mac-addr", U5, json!({"value": "d2:fb:49:24:37:18"})),
        sco("mutex", U5, json!({"name": "__CLEANSWEEP__"})),
        sco(
            "network-traffic",
            U5,
            json!({"protocols": ["ipv4", "tcp"], "src_ref": format!("ipv4-addr--{U5}"), "dst_port": 443, "extensions": {"tcp-ext": {"src_flags_hex": "00000002"}}}),
        ),
        sco(
            "network-traffic",
            U5,
            json!({"protocols": ["http"], "dst_ref": format!("domain-name--{U5}"), "extensions": {"http-request-ext": {"request_method": "get", "request_value": "/"}}}),
        ),
        sco(
            "process",
            U4,
            json!({"pid": 1221, "command_line": "./gedit-bin --new-window", "extensions": {"windows-process-ext": {"aslr_enabled": true}}}),
        ),
        sco(
            "software",
            U5,
            json!({"name": "Word", "cpe": "cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*", "vendor": "Microsoft"}),
        ),
        sco(
            "url",
            U5,
            json!({"value": "https://example.com/research/index.html"}),
        ),
        sco(
            "user-account",
            U5,
            json!({"user_id": "1001", "account_login": "jdoe", "extensions": {"unix-account-ext": {"gid": 1001, "groups": ["wheel"]}}}),
        ),
        sco(
            "windows-registry-key",
            U5,
            json!({"key": "HKEY_LOCAL_MACHINE\\System\\Foo", "values": [{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}]}),
        ),
        sco(
            "x509-certificate",
            U5,
            json!({"issuer": "C=ZA", "serial_number": "36:f7:d4:32", "validity_not_before": "2016-03-12T12:00:00Z", "x509_v3_extensions": {"basic_constraints": "CA:FALSE"}}),
        ),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": format!("marking-definition--{U4}"), "created": T, "definition_type": "statement", "definition": {"statement": "Copyright 2016, Example Corp"}}),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:AMBER", "definition": {"tlp": "amber"}}),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "created": "2022-10-01T00:00:00.000Z", "name": "TLP:CLEAR", "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "clear"}}}),
        sdo(
            "language-content",
            json!({"object_ref": id("campaign"), "object_modified": T, "contents": {"de": {"name": "Bank Angriff"}, "fr": {"name": "Attaque"}}}),
        ),
        sdo(
            "extension-definition",
            json!({"created_by_ref": id("identity"), "name": "x", "schema": "https://example.com/s.json", "version": "1.0", "extension_types": ["toplevel-property-extension"], "extension_properties": ["x_a"]}),
        ),
        sdo(
            "x-mitre-tactic",
            json!({"name": "x", "x_mitre_shortname": "y"}),
        ),
        json!({"type": "x-foo", "id": format!("x-foo--{U5}"), "x_value": 1}),
        sdo(
            "campaign",
            json!({"name": "marked", "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"], "granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["name", "external_references.[0].url"]}], "external_references": [{"source_name": "a", "url": "https://example.com/"}]}),
        ),
        sdo(
            "campaign",
            json!({"name": "extended", "extensions": {format!("extension-definition--{U4}"): {"extension_type": "property-extension", "rank": 5}, "x-acme-ext": {"x_note": "n"}}}),
        ),
    ];
    objects
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            (
                format!("valid-{i:02}-{}", o["type"].as_str().unwrap_or("?")),
                o,
            )
        })
        .collect()
}

/// Objects that each break one MUST rule, with the rule's name.
pub fn invalid_objects() -> Vec<(String, Value)> {
    let campaign = sdo("campaign", json!({"name": "x"}));
    let indicator = sdo(
        "indicator",
        json!({"pattern": "[ipv4-addr:value = '1.2.3.4']", "pattern_type": "stix", "valid_from": "2016-04-06T20:03:00Z"}),
    );
    let rel = sdo(
        "relationship",
        json!({"relationship_type": "uses", "source_ref": id("campaign"), "target_ref": id("malware")}),
    );
    let c = |change: Value| with(&campaign, change);
    let cases: Vec<(&str, Value)> = vec![
        ("missing-name", c(json!({"name": null}))),
        (
            "created-without-ms",
            c(json!({"created": "2016-04-06T20:03:00Z", "modified": "2016-04-06T20:03:00Z"})),
        ),
        (
            "modified-before-created",
            c(json!({"modified": "2015-04-06T20:03:00.000Z"})),
        ),
        ("id-prefix", c(json!({"id": id("indicator")}))),
        (
            "uuid-version-6",
            c(json!({"id": "campaign--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f"})),
        ),
        (
            "uuid-variant",
            c(json!({"id": "campaign--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"})),
        ),
        ("spec-version-2.2", c(json!({"spec_version": "2.2"}))),
        ("confidence-101", c(json!({"confidence": 101}))),
        ("revoked-string", c(json!({"revoked": "true"}))),
        ("labels-empty", c(json!({"labels": []}))),
        ("custom-null", c(json!({"x_thing": Value::Array(vec![])}))),
        ("custom-name-uppercase", c(json!({"Foo": 1}))),
        ("custom-name-short", c(json!({"ab": 1}))),
        ("custom-name-x-upper", c(json!({"x_Foo": 1}))),
        (
            "extref-source-only",
            c(json!({"external_references": [{"source_name": "x"}]})),
        ),
        (
            "extref-bad-cve",
            c(json!({"external_references": [{"source_name": "cve", "external_id": "CVE-16-1"}]})),
        ),
        (
            "extref-bad-url",
            c(json!({"external_references": [{"source_name": "x", "url": "not a uri"}]})),
        ),
        (
            "extref-hash-name",
            c(
                json!({"external_references": [{"source_name": "x", "url": "https://a.b/", "hashes": {"sha256": "00"}}]}),
            ),
        ),
        (
            "selector-missing",
            c(
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["description"]}]}),
            ),
        ),
        (
            "selector-syntax",
            c(
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["Name"]}]}),
            ),
        ),
        (
            "marking-ref-bad",
            c(json!({"object_marking_refs": ["marking-definition--bad"]})),
        ),
        ("lang-underscore", c(json!({"lang": "en_US"}))),
        ("feb-30", c(json!({"first_seen": "2016-02-30T00:00:00Z"}))),
        (
            "offset-not-z",
            c(json!({"first_seen": "2016-02-03T00:00:00+00:00"})),
        ),
        (
            "leap-second",
            c(json!({"first_seen": "2016-12-31T23:59:60Z"})),
        ),
        ("extensions-empty", c(json!({"extensions": {}}))),
        (
            "extension-name",
            c(json!({"extensions": {"foo": {"x_a": 1}}})),
        ),
        (
            "extension-def-no-type",
            c(json!({"extensions": {format!("extension-definition--{U4}"): {"rank": 1}}})),
        ),
        ("reserved-severity", c(json!({"severity": "high"}))),
        (
            "last-seen-before-first",
            c(json!({"first_seen": "2016-02-03T00:00:00Z", "last_seen": "2016-02-01T00:00:00Z"})),
        ),
        ("description-number", c(json!({"description": 5}))),
        ("aliases-string", c(json!({"aliases": "x"}))),
        (
            "indicator-until-equals-from",
            with(&indicator, json!({"valid_until": "2016-04-06T20:03:00Z"})),
        ),
        (
            "indicator-pattern-unclosed",
            with(
                &indicator,
                json!({"pattern": "[ipv4-addr:value = '1.2.3.4'"}),
            ),
        ),
        (
            "indicator-pattern-lowercase-and",
            with(
                &indicator,
                json!({"pattern": "[ipv4-addr:value = '1.2.3.4' and ipv4-addr:value = '1.2.3.5']"}),
            ),
        ),
        (
            "indicator-pattern-double-quotes",
            with(
                &indicator,
                json!({"pattern": "[ipv4-addr:value = \"1.2.3.4\"]"}),
            ),
        ),
        (
            "indicator-pattern-bad-hash",
            with(&indicator, json!({"pattern": "[file:hashes.MD5 = 'abc']"})),
        ),
        (
            "indicator-no-pattern-type",
            with(&indicator, json!({"pattern_type": null})),
        ),
        (
            "indicator-no-valid-from",
            with(&indicator, json!({"valid_from": null})),
        ),
        (
            "malware-family-no-name",
            sdo("malware", json!({"is_family": true})),
        ),
        (
            "malware-is-family-string",
            sdo("malware", json!({"is_family": "yes", "name": "x"})),
        ),
        (
            "location-latitude-only",
            sdo("location", json!({"latitude": 1.0})),
        ),
        ("location-empty", sdo("location", json!({"name": "x"}))),
        (
            "location-latitude-range",
            sdo("location", json!({"latitude": 91.0, "longitude": 0.0})),
        ),
        (
            "observed-both",
            sdo(
                "observed-data",
                json!({"first_observed": T, "last_observed": T, "number_observed": 1, "object_refs": [format!("ipv4-addr--{U5}")], "objects": {"0": {"type": "ipv4-addr", "value": "1.2.3.4"}}}),
            ),
        ),
        (
            "observed-zero",
            sdo(
                "observed-data",
                json!({"first_observed": T, "last_observed": T, "number_observed": 0, "object_refs": [format!("ipv4-addr--{U5}")]}),
            ),
        ),
        (
            "observed-refs-sdo",
            sdo(
                "observed-data",
                json!({"first_observed": T, "last_observed": T, "number_observed": 1, "object_refs": [id("campaign")]}),
            ),
        ),
        (
            "opinion-vocab",
            sdo(
                "opinion",
                json!({"opinion": "maybe", "object_refs": [id("campaign")]}),
            ),
        ),
        (
            "report-no-published",
            sdo(
                "report",
                json!({"name": "x", "object_refs": [id("campaign")]}),
            ),
        ),
        (
            "grouping-empty-refs",
            sdo("grouping", json!({"context": "x", "object_refs": []})),
        ),
        (
            "note-no-content",
            sdo("note", json!({"object_refs": [id("campaign")]})),
        ),
        (
            "relationship-to-relationship",
            with(&rel, json!({"source_ref": id("relationship")})),
        ),
        (
            "relationship-no-target",
            with(&rel, json!({"target_ref": null})),
        ),
        (
            "relationship-stop-before-start",
            with(
                &rel,
                json!({"start_time": "2016-01-01T00:00:00Z", "stop_time": "2016-01-01T00:00:00Z"}),
            ),
        ),
        (
            "sighting-count-negative",
            sdo(
                "sighting",
                json!({"sighting_of_ref": id("indicator"), "count": -1}),
            ),
        ),
        (
            "sighting-where-campaign",
            sdo(
                "sighting",
                json!({"sighting_of_ref": id("indicator"), "where_sighted_refs": [id("campaign")]}),
            ),
        ),
        ("identity-no-name", sdo("identity", json!({}))),
        (
            "tool-kcp-no-phase",
            sdo(
                "tool",
                json!({"name": "x", "kill_chain_phases": [{"kill_chain_name": "k"}]}),
            ),
        ),
        (
            "vulnerability-name-number",
            sdo("vulnerability", json!({"name": 5})),
        ),
        ("infrastructure-no-name", sdo("infrastructure", json!({}))),
        ("incident-no-name", sdo("incident", json!({}))),
        (
            "course-of-action-reserved-action",
            sdo("course-of-action", json!({"name": "x", "action": "do"})),
        ),
        (
            "artifact-empty",
            sco("artifact", U5, json!({"mime_type": "application/zip"})),
        ),
        (
            "artifact-url-no-hashes",
            sco("artifact", U5, json!({"url": "https://example.com/x"})),
        ),
        (
            "artifact-not-base64",
            sco("artifact", U5, json!({"payload_bin": "not base64!"})),
        ),
        (
            "artifact-algorithm",
            sco(
                "artifact",
                U5,
                json!({"payload_bin": "aGVsbG8=", "encryption_algorithm": "rot13"}),
            ),
        ),
        (
            "autonomous-system-string",
            sco("autonomous-system", U5, json!({"number": "1"})),
        ),
        (
            "directory-charset",
            sco(
                "directory",
                U5,
                json!({"path": "/tmp", "path_enc": "utf 8"}),
            ),
        ),
        (
            "domain-hyphen",
            sco("domain-name", U5, json!({"value": "-bad-.com"})),
        ),
        (
            "email-addr-no-at",
            sco("email-addr", U5, json!({"value": "no-at.example.com"})),
        ),
        (
            "email-no-multipart",
            sco("email-message", U4, json!({"subject": "x"})),
        ),
        (
            "email-multipart-with-body",
            sco(
                "email-message",
                U4,
                json!({"is_multipart": true, "body": "x"}),
            ),
        ),
        ("file-empty", sco("file", U5, json!({"size": 1}))),
        (
            "file-md5-length",
            sco("file", U5, json!({"hashes": {"MD5": "abc"}})),
        ),
        (
            "file-hash-name-short",
            sco("file", U5, json!({"hashes": {"a": "abc"}})),
        ),
        (
            "ipv4-range",
            sco("ipv4-addr", U5, json!({"value": "256.1.1.1"})),
        ),
        (
            "ipv6-garbage",
            sco("ipv6-addr", U5, json!({"value": "2001:db8::g"})),
        ),
        (
            "mac-uppercase",
            sco("mac-addr", U5, json!({"value": "AA:BB:CC:DD:EE:FF"})),
        ),
        ("mutex-no-name", sco("mutex", U5, json!({}))),
        (
            "network-no-protocols",
            sco(
                "network-traffic",
                U5,
                json!({"src_ref": format!("ipv4-addr--{U5}")}),
            ),
        ),
        (
            "network-no-endpoints",
            sco("network-traffic", U5, json!({"protocols": ["tcp"]})),
        ),
        (
            "network-port-range",
            sco(
                "network-traffic",
                U5,
                json!({"protocols": ["tcp"], "src_ref": format!("ipv4-addr--{U5}"), "src_port": 70000}),
            ),
        ),
        (
            "network-socket-family",
            sco(
                "network-traffic",
                U5,
                json!({"protocols": ["tcp"], "src_ref": format!("ipv4-addr--{U5}"), "extensions": {"socket-ext": {"address_family": "AF_MARS"}}}),
            ),
        ),
        ("process-uuid5", sco("process", U5, json!({"pid": 1}))),
        (
            "process-nothing",
            sco("process", U4, json!({"x_note": "n"})),
        ),
        (
            "software-cpe",
            sco(
                "software",
                U5,
                json!({"name": "x", "cpe": "cpe:/a:microsoft:word"}),
            ),
        ),
        (
            "url-no-scheme",
            sco("url", U5, json!({"value": "example.com"})),
        ),
        ("user-account-nothing", sco("user-account", U4, json!({}))),
        (
            "registry-abbreviated-hive",
            sco(
                "windows-registry-key",
                U5,
                json!({"key": "HKLM\\Software\\Foo"}),
            ),
        ),
        (
            "registry-value-type",
            sco(
                "windows-registry-key",
                U5,
                json!({"key": "HKEY_LOCAL_MACHINE\\Foo", "values": [{"name": "a", "data_type": "REG_FOO"}]}),
            ),
        ),
        ("x509-nothing", sco("x509-certificate", U4, json!({}))),
        (
            "x509-bad-time",
            sco(
                "x509-certificate",
                U5,
                json!({"serial_number": "1", "validity_not_before": "yesterday"}),
            ),
        ),
        (
            "marking-statement-missing",
            json!({"type": "marking-definition", "spec_version": "2.1", "id": format!("marking-definition--{U4}"), "created": T, "definition_type": "statement", "definition": {"text": "x"}}),
        ),
        (
            "marking-tlp-wrong-id",
            json!({"type": "marking-definition", "spec_version": "2.1", "id": format!("marking-definition--{U4}"), "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:AMBER", "definition": {"tlp": "amber"}}),
        ),
        (
            "marking-no-definition",
            json!({"type": "marking-definition", "spec_version": "2.1", "id": format!("marking-definition--{U4}"), "created": T, "name": "x"}),
        ),
        (
            "language-content-key",
            sdo(
                "language-content",
                json!({"object_ref": id("campaign"), "contents": {"de_DE": {"name": "x"}}}),
            ),
        ),
        (
            "extension-definition-properties",
            sdo(
                "extension-definition",
                json!({"created_by_ref": id("identity"), "name": "x", "schema": "s", "version": "1", "extension_types": ["new-sdo"], "extension_properties": ["x_a"]}),
            ),
        ),
        (
            "extension-definition-no-schema",
            sdo(
                "extension-definition",
                json!({"created_by_ref": id("identity"), "name": "x", "version": "1", "extension_types": ["new-sdo"]}),
            ),
        ),
        (
            "custom-type-uppercase",
            json!({"type": "X-Foo", "id": format!("X-Foo--{U5}")}),
        ),
        (
            "custom-type-short",
            json!({"type": "xf", "id": format!("xf--{U5}")}),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, o)| (format!("invalid-{name}"), o))
        .collect()
}

/// Where Geneva and stix2-validator deliberately disagree: (name, file content, Geneva's verdict).
/// ARCHITECTURE.md gives the reason for each.
pub fn deliberate_differences() -> Vec<(String, String, bool)> {
    let campaign = sdo("campaign", json!({"name": "x"}));
    let bundle =
        |o: &Value| json!({"type": "bundle", "id": id("bundle"), "objects": [o]}).to_string();
    let one = |change: Value| bundle(&with(&campaign, change));
    vec![
        ("duplicate-keys", one(json!({})).replacen("\"name\":\"x\"", "\"name\":\"x\",\"name\":\"y\"", 1), false),
        ("property-name-camel-case", one(json!({"fooBar": 1})), false),
        ("custom-object-id-prefix", bundle(&json!({"type": "x-foo", "id": format!("campaign--{U4}")})), false),
        ("id-trailing-newline", one(json!({"id": format!("{}\n", id("campaign"))})), false),
        ("object-marking-ref-to-identity", one(json!({"object_marking_refs": [id("identity")]})), false),
        ("sco-ref-wrong-type", bundle(&sco("domain-name", U5, json!({"value": "example.com", "resolves_to_refs": [id("campaign")]}))), false),
        ("extension-definition-without-creator", bundle(&sdo("extension-definition", json!({"name": "x", "schema": "s", "version": "1", "extension_types": ["new-sdo"]}))), false),
        ("bundle-objects-not-a-list", json!({"type": "bundle", "id": id("bundle"), "objects": {}}).to_string(), false),
        ("lang-lowercase-region", one(json!({"lang": "en-us"})), true),
        ("lang-not-in-validator-list", one(json!({"lang": "es-419"})), true),
        ("granular-marking-lang-only", one(json!({"granular_markings": [{"lang": "de", "selectors": ["name"]}]})), true),
        ("taxii-envelope", json!({"more": false, "objects": [campaign]}).to_string(), true),
        ("ipv6-embedded-ipv4", bundle(&sco("ipv6-addr", U5, json!({"value": "::ffff:192.0.2.1"}))), true),
        ("media-type-not-registered", bundle(&sco("artifact", U5, json!({"payload_bin": "aGVsbG8=", "mime_type": "application/x-dosexec"}))), true),
        ("registry-key-containing-hku", bundle(&sco("windows-registry-key", U5, json!({"key": "HKEY_LOCAL_MACHINE\\Software\\hkupdate"}))), true),
        ("seven-fraction-digits", one(json!({"modified": "2016-04-06T20:03:00.0000001Z"})), true),
        ("created-by-ref-not-identity", one(json!({"created_by_ref": id("campaign")})), false),
        ("same-version-different-content", json!({"type": "bundle", "id": id("bundle"), "objects": [campaign, with(&campaign, json!({"name": "other"}))]}).to_string(), false),
    ]
    .into_iter()
    .map(|(n, s, v)| (format!("difference-{n}"), s, v))
    .collect()
}

type Mutation = fn(&mut Map<String, Value>, &mut StdRng) -> &'static str;

fn pick_key(o: &Map<String, Value>, rng: &mut StdRng, skip: &[&str]) -> Option<String> {
    let keys: Vec<&String> = o.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    if keys.is_empty() {
        None
    } else {
        Some(keys[rng.random_range(0..keys.len())].clone())
    }
}

const MUTATIONS: &[Mutation] = &[
    |_, _| "unchanged",
    |o, r| {
        if let Some(k) = pick_key(o, r, &[]) {
            o.remove(&k);
        }
        "remove a property"
    },
    |o, r| {
        let bad = [
            "2016-04-06T20:03:00Z",
            "2016-02-30T00:00:00.000Z",
            "2016-04-06 20:03:00.000Z",
            "2016-04-06T20:03:00.000+01:00",
            "yesterday",
            "2016-04-06T25:03:00.000Z",
        ];
        let key = if r.random_bool(0.5) {
            "created"
        } else {
            "modified"
        };
        o.insert(key.into(), json!(bad[r.random_range(0..bad.len())]));
        "corrupt created/modified"
    },
    |o, _| {
        o.insert("modified".into(), json!("2000-01-01T00:00:00.000Z"));
        "modified before created"
    },
    |o, _| {
        if let Some(c) = o.get("created").cloned() {
            o.insert("modified".into(), c);
        }
        "modified equal to created"
    },
    |o, r| {
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let variants = [
            id.replacen("--", "-", 1),
            id.to_uppercase(),
            format!("indicator--{}", id.split_once("--").map_or("", |x| x.1)),
            format!("{}0", id),
            id.replace('-', "_"),
        ];
        o.insert(
            "id".into(),
            json!(variants[r.random_range(0..variants.len())]),
        );
        "corrupt id"
    },
    |o, r| {
        if let Some(k) = pick_key(o, r, &["type", "id"]) {
            let v = &o[&k];
            let replacement = match v {
                Value::String(_) => json!(42),
                Value::Bool(_) => json!("true"),
                Value::Array(_) => json!([]),
                Value::Number(_) => json!("7"),
                Value::Object(_) => json!(["x"]),
                Value::Null => json!(1),
            };
            o.insert(k, replacement);
        }
        "change a property's JSON type"
    },
    |o, r| {
        let names = [
            "x_geneva_note",
            "x_geneva_score",
            "acme_rating",
            "Foo",
            "ab",
            "x_Bad",
            "x_geneva_empty",
        ];
        let name = names[r.random_range(0..names.len())];
        let value = if name == "x_geneva_empty" {
            json!([])
        } else {
            json!("v")
        };
        o.insert(name.into(), value);
        "add a custom property"
    },
    |o, r| {
        if let Some(k) = pick_key(o, r, &["type", "id"]) {
            o.insert(k, Value::Null);
        }
        "set a property to null"
    },
    |o, r| {
        o.insert(
            "confidence".into(),
            json!([0, 50, 100, 101, -1][r.random_range(0..5)]),
        );
        "set confidence"
    },
    |o, r| {
        o.insert(
            "lang".into(),
            json!(["en", "fr", "en_US", "123"][r.random_range(0..4)]),
        );
        "set lang"
    },
    |o, r| {
        o.insert(
            "revoked".into(),
            if r.random_bool(0.5) {
                json!(true)
            } else {
                json!("yes")
            },
        );
        "set revoked"
    },
    |o, r| {
        if let Some(Value::Array(refs)) = o.get_mut("external_references")
            && let Some(Value::Object(first)) = refs.first_mut()
        {
            match r.random_range(0..4) {
                0 => {
                    first.remove("url");
                    first.remove("description");
                    first.remove("external_id");
                }
                1 => {
                    first.insert("url".into(), json!("not a url"));
                }
                2 => {
                    first.remove("source_name");
                }
                _ => {
                    first.insert("external_id".into(), json!("CVE-2020-1234"));
                }
            }
        }
        "damage an external reference"
    },
    |o, r| {
        if let Some(Value::Array(phases)) = o.get_mut("kill_chain_phases")
            && let Some(Value::Object(first)) = phases.first_mut()
        {
            if r.random_bool(0.5) {
                first.remove("phase_name");
            } else {
                first.insert("phase_name".into(), json!(3));
            }
        }
        "damage a kill-chain phase"
    },
    |o, r| {
        let target = [
            "name",
            "description",
            "x_mitre_nothing",
            "external_references.[0].url",
            "external_references.[99]",
        ][r.random_range(0..5)];
        o.insert(
            "granular_markings".into(),
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": [target]}]),
        );
        "add a granular marking"
    },
    |o, r| {
        let refs = [
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            "marking-definition--bad",
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41d",
        ];
        o.insert(
            "object_marking_refs".into(),
            json!([refs[r.random_range(0..3)]]),
        );
        "replace object markings"
    },
    |o, r| {
        let ext = match r.random_range(0..4) {
            0 => json!({"x-geneva-ext": {"x_rank": 1}}),
            1 => json!({"geneva": {"rank": 1}}),
            2 => {
                json!({format!("extension-definition--{U4}"): {"extension_type": "property-extension", "rank": 1}})
            }
            _ => json!({format!("extension-definition--{U4}"): {"rank": 1}}),
        };
        o.insert("extensions".into(), ext);
        "add an extension"
    },
    |o, r| {
        if o.get("type").and_then(Value::as_str) == Some("relationship") {
            let targets = [
                format!("relationship--{U4}"),
                format!("marking-definition--{U4}"),
                format!("ipv4-addr--{U5}"),
                "nothing".to_string(),
            ];
            let key = if r.random_bool(0.5) {
                "source_ref"
            } else {
                "target_ref"
            };
            o.insert(key.into(), json!(targets[r.random_range(0..targets.len())]));
        } else {
            o.insert(
                "created_by_ref".into(),
                json!(
                    [format!("identity--{U4}"), "identity--nope".to_string()][r.random_range(0..2)]
                ),
            );
        }
        "retarget a reference"
    },
    |o, r| {
        o.insert(
            "spec_version".into(),
            json!(["2.1", "2.2", "2.0", "3"][r.random_range(0..4)]),
        );
        "change spec_version"
    },
    |o, r| {
        o.insert(
            "labels".into(),
            if r.random_bool(0.5) {
                json!([])
            } else {
                json!(["a", "b"])
            },
        );
        "set labels"
    },
    |o, r| {
        let t = ["x-geneva-thing", "X-Bad", "campaign", "ab", "action"][r.random_range(0..5)];
        o.insert("type".into(), json!(t));
        // Keep the id's prefix in step with the type, so the mutation tests the type alone.
        if let Some(uuid) = o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.split_once("--"))
            .map(|x| x.1.to_owned())
        {
            o.insert("id".into(), json!(format!("{t}--{uuid}")));
        }
        "change type"
    },
];

/// `count` seeded mutations of objects drawn from `objects`; each is (name, bundle text).
pub fn attack_mutations(objects: &[Value], count: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let mut object = objects[rng.random_range(0..objects.len())].clone();
            let op = rng.random_range(0..MUTATIONS.len());
            let what = match object.as_object_mut() {
                Some(map) => MUTATIONS[op](map, &mut rng),
                None => "not an object",
            };
            let bundle = json!({"type": "bundle", "id": id("bundle"), "objects": [object]});
            (
                format!("mutation-{i:04}-op{op:02} {what}"),
                bundle.to_string(),
            )
        })
        .collect()
}
