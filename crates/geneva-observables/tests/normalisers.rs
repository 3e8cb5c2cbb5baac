//! Golden cases for every normaliser, then properties over seeded random
//! input: normalising twice changes nothing, defanged and plain spellings meet,
//! IPv4-mapped IPv6 meets IPv4, a range contains its addresses, and no input
//! panics.

use geneva_observables::normalize::{self, contains};
use geneva_observables::{HashAlgo, Observable};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn key(o: Result<Observable, normalize::NormalizeError>) -> String {
    o.map(|o| o.key())
        .unwrap_or_else(|e| format!("error: {}", e.reason))
}

#[test]
fn ip_addresses_and_ranges() {
    for (input, expected) in [
        ("1.2.3.4", "ipv4:1.2.3.4"),
        (" 1.2.3.4 ", "ipv4:1.2.3.4"),
        ("1[.]2[.]3[.]4", "ipv4:1.2.3.4"),
        ("1(dot)2(dot)3(dot)4", "ipv4:1.2.3.4"),
        ("::ffff:1.2.3.4", "ipv4:1.2.3.4"),
        ("::FFFF:0102:0304", "ipv4:1.2.3.4"),
        (
            "2001:0DB8:0000:0000:0000:0000:0000:0001",
            "ipv6:2001:db8::1",
        ),
        ("[2001:db8::1]", "ipv6:2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "ipv6:2001:db8::1:0:0:1"),
        ("010.1.1.1", "error: not an IPv4 or IPv6 address"),
        ("1.2.3", "error: not an IPv4 or IPv6 address"),
        ("example.com", "error: not an IPv4 or IPv6 address"),
    ] {
        assert_eq!(key(normalize::ip(input)), expected, "{input}");
    }
    for (input, expected) in [
        ("10.1.2.3/8", "ipv4-net:10.0.0.0/8"),
        ("198.51.100.1/32", "ipv4:198.51.100.1"),
        ("198.51.100.0/24", "ipv4-net:198.51.100.0/24"),
        ("0.0.0.0/0", "ipv4-net:0.0.0.0/0"),
        ("2001:db8:dead:beef::1/32", "ipv6-net:2001:db8::/32"),
        ("2001:db8::1/128", "ipv6:2001:db8::1"),
        ("10.0.0.0/33", "error: an IPv4 prefix is at most 32"),
        ("10.0.0.0/x", "error: the prefix length is not a number"),
        ("::ffff:10.0.0.0/8", "ipv4-net:10.0.0.0/8"),
    ] {
        assert_eq!(key(normalize::cidr(input)), expected, "{input}");
    }
    let net = normalize::cidr("198.51.100.0/24").unwrap();
    assert!(contains(&net, &normalize::ip("198.51.100.77").unwrap()));
    assert!(!contains(&net, &normalize::ip("198.51.101.1").unwrap()));
    assert!(!contains(&net, &normalize::ip("2001:db8::1").unwrap()));
}

#[test]
fn domains_and_registrable_domains() {
    for (input, expected) in [
        ("Example.COM.", "example.com"),
        ("evil[.]com", "evil.com"),
        ("WWW.Bücher.Example", "www.xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("_dmarc.example.com", "_dmarc.example.com"),
    ] {
        assert_eq!(normalize::domain(input).unwrap(), expected, "{input}");
    }
    for bad in [
        "",
        ".",
        "a..b",
        "1.2.3.4",
        "exa mple.com",
        &format!("{}.com", "a".repeat(64)),
        "evil.com/path",
    ] {
        assert!(normalize::domain(bad).is_err(), "{bad:?}");
    }
    for (domain, registrable) in [
        ("www.example.co.uk", Some("example.co.uk")),
        ("example.com", Some("example.com")),
        ("a.b.c.example.com", Some("example.com")),
        ("www.xn--bcher-kva.example", Some("xn--bcher-kva.example")),
        ("co.uk", None),
    ] {
        assert_eq!(
            normalize::registrable_domain(domain).as_deref(),
            registrable,
            "{domain}"
        );
    }
}

#[test]
fn urls_per_rfc_3986() {
    for (input, expected) in [
        (
            "HTTP://Example.COM:80/a/./b/../c?%7euser#frag",
            "http://example.com/a/c?~user",
        ),
        ("hxxp://evil[.]com", "http://evil.com/"),
        ("hXXps://evil[.]com:443/x", "https://evil.com/x"),
        (
            "https://bücher.example/%7Efoo",
            "https://xn--bcher-kva.example/~foo",
        ),
        ("http://example.com/%2f%41", "http://example.com/%2FA"),
        ("http://example.com./path", "http://example.com/path"),
        ("http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/"),
        ("ftp://files.example/pub", "ftp://files.example/pub"),
        // Defanging in any letter case, nested, and forms that only settle
        // after a second pass (found by the pattern fuzz target).
        ("hxxp://evil(DoT)com/[/]", "http://evil.com/[/]"),
        ("http://evil[[.]]com/", "http://evil.com/"),
        ("http://a.example/x/%2E%2E/y", "http://a.example/y"),
        ("http://(DOt)ttp://(DOT)exampl", "http://.ttp//.exampl"),
    ] {
        let once = normalize::url(input).unwrap();
        assert_eq!(once, expected, "{input}");
        assert_eq!(normalize::url(&once).unwrap(), once, "{input} twice");
    }
    for defanged in ["(DOt)", "[Dot]", "{dOT}", "(.)", "[[.]]", "(([.]))"] {
        assert_eq!(normalize::defang(defanged), ".", "{defanged}");
    }
    assert_eq!(normalize::defang("a[AT]b(at)c[@]d"), "a@b@c@d");
    for bad in ["not a url", "mailto:someone@example.com", "http://", ""] {
        assert!(normalize::url(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        normalize::url_host("http://www.example.com/x").map(|o| o.key()),
        Some("domain:www.example.com".into())
    );
    assert_eq!(
        normalize::url_host("http://198.51.100.7/x").map(|o| o.key()),
        Some("ipv4:198.51.100.7".into())
    );
}

#[test]
fn emails_hashes_digests_macs_keys_serials() {
    assert_eq!(
        normalize::email("Alice@Example.COM").unwrap(),
        "Alice@example.com"
    );
    assert_eq!(
        normalize::email("bob[at]evil[.]com").unwrap(),
        "bob@evil.com"
    );
    assert!(normalize::email("nobody").is_err());
    assert!(normalize::email("@example.com").is_err());

    assert_eq!(
        normalize::file_hash(HashAlgo::Md5, "D41D8CD98F00B204E9800998ECF8427E").unwrap(),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert!(normalize::file_hash(HashAlgo::Sha256, "d41d8cd98f00b204e9800998ecf8427e").is_err());
    assert!(normalize::file_hash(HashAlgo::Sha1, &"g".repeat(40)).is_err());
    assert_eq!(HashAlgo::from_stix("SHA-256"), Some(HashAlgo::Sha256));
    assert_eq!(HashAlgo::from_stix("sha_1"), Some(HashAlgo::Sha1));

    assert_eq!(
        normalize::ssdeep("3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C").unwrap(),
        "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"
    );
    assert!(normalize::ssdeep("5:abc:def").is_err(), "5 is not 3·2ⁿ");
    assert!(normalize::ssdeep("3:abc").is_err());
    let tlsh = "8d7302a4f66f0e5dcc4e81be7ee4b31276e58f0d1ba8e31ec5a54ec9c2d08bd7da98ee";
    assert_eq!(
        normalize::tlsh(tlsh).unwrap(),
        format!("T1{}", tlsh.to_uppercase())
    );
    assert_eq!(
        normalize::tlsh(&format!("t1{tlsh}")).unwrap(),
        format!("T1{}", tlsh.to_uppercase())
    );
    assert!(normalize::tlsh("T1abc").is_err());

    for input in [
        "00-11-22-AA-BB-CC",
        "00:11:22:aa:bb:cc",
        "0011.22aa.bbcc",
        "001122AABBCC",
    ] {
        assert_eq!(
            Observable::Mac(normalize::mac(input).unwrap()).key(),
            "mac:00:11:22:aa:bb:cc"
        );
    }
    assert!(normalize::mac("00:11:22:33:44").is_err());

    assert_eq!(
        normalize::registry_key("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\")
            .unwrap(),
        "hkey_local_machine\\software\\microsoft\\windows\\currentversion\\run"
    );
    assert_eq!(
        normalize::registry_key(
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"
        )
        .unwrap(),
        normalize::registry_key("hklm\\software\\microsoft\\windows\\currentversion\\run").unwrap()
    );
    assert_eq!(
        normalize::x509_serial("4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28").unwrap(),
        "4c0b1d197486a766b41abf4027217628"
    );
    assert_eq!(normalize::x509_serial("00:01").unwrap(), "1");
    assert!(normalize::x509_serial("zz").is_err());
}

fn random_label(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    let len = rng.random_range(1..12);
    let mut s: String = (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    s = s.trim_matches('-').to_owned();
    if s.is_empty() { "x".into() } else { s }
}

fn random_domain(rng: &mut StdRng) -> String {
    let labels: Vec<String> = (0..rng.random_range(2..5))
        .map(|_| random_label(rng))
        .collect();
    labels.join(".")
}

#[test]
fn properties_hold_on_random_input() {
    let mut rng = StdRng::seed_from_u64(6);
    for _ in 0..3000 {
        // Domains: idempotent, defanged = plain, a trailing dot and case make no difference.
        let d = random_domain(&mut rng);
        if let Ok(n) = normalize::domain(&d) {
            assert_eq!(normalize::domain(&n).unwrap(), n);
            assert_eq!(normalize::domain(&d.replace('.', "[.]")).unwrap(), n);
            assert_eq!(
                normalize::domain(&format!("{}.", d.to_uppercase())).unwrap(),
                n
            );
            // URLs built on it: idempotent, defanged = plain, the host is the domain.
            let u = format!(
                "http://{d}/{}?q={}",
                random_label(&mut rng),
                random_label(&mut rng)
            );
            let nu = normalize::url(&u).unwrap();
            assert_eq!(normalize::url(&nu).unwrap(), nu);
            assert_eq!(
                normalize::url(&u.replace("http://", "hxxp://").replace('.', "[.]")).unwrap(),
                nu
            );
            assert_eq!(
                normalize::url_host(&nu),
                Some(Observable::Domain(n.clone()))
            );
            // And e-mail addresses.
            let e = format!("{}@{d}", random_label(&mut rng));
            let ne = normalize::email(&e).unwrap();
            assert_eq!(normalize::email(&ne).unwrap(), ne);
        }
        // Addresses: IPv4-mapped IPv6 meets IPv4; ranges contain their addresses.
        let v4 = std::net::Ipv4Addr::from(rng.random::<u32>());
        let plain = normalize::ip(&v4.to_string()).unwrap();
        assert_eq!(
            normalize::ip(&v4.to_ipv6_mapped().to_string()).unwrap(),
            plain
        );
        assert_eq!(
            normalize::ip(&v4.to_string().replace('.', "[.]")).unwrap(),
            plain
        );
        let prefix = rng.random_range(0..=32u8);
        let net = normalize::cidr(&format!("{v4}/{prefix}")).unwrap();
        assert!(prefix == 32 || contains(&net, &plain), "{v4}/{prefix}");
        assert_eq!(
            normalize::cidr(&net.key()[net.kind().len() + 1..]).unwrap(),
            net
        );
        let v6 = std::net::Ipv6Addr::from(rng.random::<u128>());
        if v6.to_ipv4_mapped().is_none() {
            let n6 = normalize::ip(&v6.to_string()).unwrap();
            assert_eq!(normalize::ip(&n6.key()[5..]).unwrap(), n6);
        }
    }
}

/// Every key an index files reads back, untouched, as the observable it was made from.
#[test]
fn index_keys_read_back_without_normalising_again() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut seen = 0;
    for _ in 0..3000 {
        let d = random_domain(&mut rng);
        let v4 = std::net::Ipv4Addr::from(rng.random::<u32>());
        let v6 = std::net::Ipv6Addr::from(rng.random::<u128>());
        let candidates = [
            normalize::domain(&d).map(Observable::Domain),
            normalize::url(&format!("http://{d}/{}", random_label(&mut rng))).map(Observable::Url),
            normalize::email(&format!("{}@{d}", random_label(&mut rng))).map(Observable::Email),
            normalize::ip(&v4.to_string()),
            normalize::ip(&v6.to_string()),
            normalize::cidr(&format!("{v4}/{}", rng.random_range(0..=32u8))),
            normalize::cidr(&format!("{v6}/{}", rng.random_range(0..=128u8))),
            normalize::ssdeep(
                "96:nq9vmZZHqJpXIHj6erzlhuRECLasXiOum7+bF7754SGHOk:G4wJpXs/rzl7Cbcm2d1k",
            )
            .map(Observable::Ssdeep),
            normalize::tlsh(
                "T110814B635F08C806AB91D383653E6D38DAA9C3CE3A105850D5F5216AACDD346392BF6A",
            )
            .map(Observable::Tlsh),
            normalize::mac("00:1A:2b:3c:4D:5e").map(Observable::Mac),
            Ok(Observable::Asn(rng.random())),
            Ok(Observable::Mutex(random_label(&mut rng))),
        ];
        for o in candidates.into_iter().flatten() {
            let key = o.key();
            assert_eq!(Observable::from_index_key(&key), Some(o.clone()), "{key}");
            assert_eq!(Observable::from_key(&key), Some(o), "{key}");
            seen += 1;
        }
    }
    // Ten of the thirteen are valid every round; random domains mostly are.
    assert!(seen > 34_000, "only {seen} observables were generated");
    for garbage in [
        "",
        "ipv4",
        "ipv4:300.1.1.1",
        "ipv6-net:::/x",
        "nope:1",
        "md5",
    ] {
        let _ = Observable::from_index_key(garbage);
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = StdRng::seed_from_u64(9);
    let alphabet: Vec<char> = "abc.:/[]()@%-_~?#09xXhtpHTPü\u{2014}\\ \u{0}é%2f"
        .chars()
        .collect();
    for _ in 0..20_000 {
        let len = rng.random_range(0..40);
        let s: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let _ = normalize::ip(&s);
        let _ = normalize::cidr(&s);
        let _ = normalize::domain(&s);
        let _ = normalize::url(&s);
        let _ = normalize::email(&s);
        let _ = normalize::ssdeep(&s);
        let _ = normalize::tlsh(&s);
        let _ = normalize::mac(&s);
        let _ = normalize::registry_key(&s);
        let _ = normalize::x509_serial(&s);
    }
    // Oversized input is refused, not processed.
    assert!(normalize::url(&format!("http://example.com/{}", "a".repeat(9000))).is_err());
}

#[test]
fn a_typed_value_is_guessed_as_what_a_person_means() {
    use geneva_observables::Observable;
    let key = |t: &str| Observable::guess(t).map(|o| o.key());
    assert_eq!(key(" 45.133.1[.]20 ").as_deref(), Some("ipv4:45.133.1.20"));
    assert_eq!(key("10.0.0.0/8").as_deref(), Some("ipv4-net:10.0.0.0/8"));
    assert_eq!(
        key("EVIL.example.COM.").as_deref(),
        Some("domain:evil.example.com")
    );
    assert_eq!(
        key("hxxp://evil[.]example/a").as_deref(),
        Some("url:http://evil.example/a")
    );
    assert_eq!(
        key("ops[@]evil.example").as_deref(),
        Some("email:ops@evil.example")
    );
    assert!(
        key("D41D8CD98F00B204E9800998ECF8427E")
            .unwrap()
            .starts_with("md5:")
    );
    assert_eq!(key("ipv4:1.2.3.4").as_deref(), Some("ipv4:1.2.3.4"));
    for nothing in ["", "hello", "12345", "<script>", &"a".repeat(10_000)] {
        assert_eq!(key(nothing), None, "{nothing:.40}");
    }
}
