//! Observables from cyber-observable objects and from indicator patterns,
//! the latter on the pattern examples of the STIX 2.1 specification (§9).

use geneva_observables::extract::{from_objects, from_pattern};
use serde_json::json;

fn keys(pattern: &str) -> Vec<String> {
    from_pattern(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .observables
        .iter()
        .map(|e| e.observable.key())
        .collect()
}

#[test]
fn stix_specification_pattern_examples() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            &["sha256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"],
        ),
        (
            "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
            &[
                "ipv4:198.51.100.1",
                "ipv4:203.0.113.33",
                "ipv6:2001:db8:dead:beef:dead:beef:dead:1",
            ],
        ),
        (
            "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
            &["domain:www.5z8.info", "ipv4:198.51.100.1"],
        ),
        (
            "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
            &["url:http://example.com/foo", "url:http://example.com/bar"],
        ),
        (
            "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
            &["x509-serial:4c0b1d197486a766b41abf4027217628"],
        ),
        (
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\CurrentControlSet\\\\Services\\\\WSALG2']",
            &["regkey:hkey_local_machine\\system\\currentcontrolset\\services\\wsalg2"],
        ),
        (
            "[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
            &[],
        ),
        (
            "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
            &["email:jdoe@example.com"],
        ),
        (
            "[x-usb-device:usbdrive.serial_number = '575833344E30313933393338']",
            &[],
        ),
        (
            "[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
            &[],
        ),
        (
            "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS",
            &["domain:example.com"],
        ),
        (
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            &["ipv4-net:198.51.100.0/24"],
        ),
        ("[ipv4-addr:value NOT = '198.51.100.1']", &[]),
        ("[domain-name:value LIKE '%.example.com']", &[]),
        (
            "[domain-name:value IN ('evil.example', 'Bad.Example.')]",
            &["domain:evil.example", "domain:bad.example"],
        ),
        ("[autonomous-system:number = 64500]", &["asn:64500"]),
        (
            "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E'] AND [mutex:name = 'Global\\\\x']",
            &["md5:d41d8cd98f00b204e9800998ecf8427e", "mutex:Global\\x"],
        ),
    ];
    for (pattern, expected) in cases {
        assert_eq!(keys(pattern), *expected, "{pattern}");
    }
}

#[test]
fn invalid_values_in_patterns_are_kept_aside_not_correlated() {
    let found = from_pattern("[ipv4-addr:value = '999.1.1.1' OR domain-name:value = 'ok.example']")
        .unwrap();
    assert_eq!(found.observables.len(), 1);
    assert_eq!(found.rejected.len(), 1);
    assert_eq!(found.rejected[0].path, "ipv4-addr:value");
    assert!(found.rejected[0].reason.contains("999.1.1.1"));
    assert!(from_pattern("[ipv4-addr:value = ").is_err());
}

#[test]
fn cyber_observables_with_references_resolved() {
    let objects = vec![
        json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.100.3"}),
        json!({"type": "domain-name", "id": "domain-name--1", "value": "C2.Example.NET."}),
        json!({"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--1", "dst_ref": "domain-name--1", "protocols": ["tcp"]}),
        json!({"type": "url", "id": "url--1", "value": "hxxp://c2.example[.]net/gate.php#x"}),
        json!({"type": "file", "id": "file--1", "hashes": {"SHA-256": "AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F", "SSDEEP": "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C", "X-custom": "ignored"}}),
        json!({"type": "email-addr", "id": "email-addr--1", "value": "Ops@Example.NET"}),
        json!({"type": "mac-addr", "id": "mac-addr--1", "value": "00-11-22-AA-BB-CC"}),
        json!({"type": "autonomous-system", "id": "autonomous-system--1", "number": 64500}),
        json!({"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "::ffff:198.51.100.3"}),
        json!({"type": "ipv4-addr", "id": "ipv4-addr--2", "value": "not an address"}),
        json!({"type": "campaign", "id": "campaign--1", "name": "not an observable"}),
    ];
    let found = from_objects(&objects);
    let of = |id: &str| -> Vec<String> {
        found
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, e)| e.observables.iter().map(|o| o.observable.key()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        of("network-traffic--1"),
        vec!["ipv4:198.51.100.3", "domain:c2.example.net"]
    );
    assert_eq!(
        of("url--1"),
        vec![
            "domain:c2.example.net",
            "url:http://c2.example.net/gate.php"
        ]
    );
    assert_eq!(
        of("file--1"),
        vec![
            "sha256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
            "ssdeep:3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"
        ]
    );
    assert_eq!(of("email-addr--1"), vec!["email:Ops@example.net"]);
    assert_eq!(of("mac-addr--1"), vec!["mac:00:11:22:aa:bb:cc"]);
    assert_eq!(of("autonomous-system--1"), vec!["asn:64500"]);
    // The IPv4-mapped IPv6 address is the IPv4 address.
    assert_eq!(of("ipv6-addr--1"), of("ipv4-addr--1"));
    let bad = &found.iter().find(|(i, _)| i == "ipv4-addr--2").unwrap().1;
    assert!(bad.observables.is_empty() && bad.rejected.len() == 1);
    assert!(of("campaign--1").is_empty());
}
