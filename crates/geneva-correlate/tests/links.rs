//! Every link rule, noise control, and campaigns whose names stay put as the
//! data grows.

use geneva_correlate::{Config, Index, Noise, Reason, WarningLists};
use geneva_observables::normalize;
use geneva_observables::{HashAlgo, Observable};

fn ip(s: &str) -> Observable {
    normalize::cidr(s).unwrap()
}
fn domain(s: &str) -> Observable {
    Observable::Domain(normalize::domain(s).unwrap())
}
fn url(s: &str) -> Observable {
    Observable::Url(normalize::url(s).unwrap())
}

fn index() -> Index {
    Index::new(Config::default(), WarningLists::builtin())
}

fn reasons_between(index: &Index, a: &str, b: &str) -> Vec<Reason> {
    index
        .correlate(a)
        .0
        .into_iter()
        .find(|l| l.item == b)
        .map(|l| l.reasons)
        .unwrap_or_default()
}

#[test]
fn exact_range_registrable_and_url_host_links() {
    let mut ix = index();
    ix.add(
        "report-ch",
        &[
            domain("c2.evil-example.net"),
            ip("45.77.12.9"),
            url("http://dl.bad-host.org/a.exe"),
        ],
    );
    ix.add(
        "report-fr",
        &[domain("C2.Evil-Example.NET."), ip("45.77.0.0/16")],
    );
    ix.add(
        "report-de",
        &[domain("mail.evil-example.net"), domain("dl.bad-host.org")],
    );
    ix.add("report-it", &[domain("unrelated.example.org")]);

    let ch_fr = reasons_between(&ix, "report-ch", "report-fr");
    assert!(
        ch_fr.contains(&Reason::Same {
            key: "domain:c2.evil-example.net".into()
        }),
        "{ch_fr:?}"
    );
    assert!(ch_fr.contains(&Reason::InRange {
        address: "ipv4:45.77.12.9".into(),
        range: "ipv4-net:45.77.0.0/16".into()
    }));
    // Seen from the other side too.
    let fr_ch = reasons_between(&ix, "report-fr", "report-ch");
    assert!(fr_ch.contains(&Reason::InRange {
        address: "ipv4:45.77.12.9".into(),
        range: "ipv4-net:45.77.0.0/16".into()
    }));

    let ch_de = reasons_between(&ix, "report-ch", "report-de");
    assert!(
        ch_de.contains(&Reason::SameRegistrableDomain {
            registrable: "evil-example.net".into(),
            ours: "c2.evil-example.net".into(),
            theirs: "mail.evil-example.net".into()
        }),
        "{ch_de:?}"
    );
    assert!(ch_de.contains(&Reason::UrlHost {
        url: "http://dl.bad-host.org/a.exe".into(),
        host: "domain:dl.bad-host.org".into()
    }));
    assert!(
        reasons_between(&ix, "report-de", "report-ch")
            .iter()
            .any(|r| matches!(r, Reason::UrlHost { .. }))
    );
    assert!(reasons_between(&ix, "report-ch", "report-it").is_empty());

    // Stronger evidence ranks first; weights combine as independent evidence.
    let (links, _) = ix.correlate("report-ch");
    assert_eq!(links[0].item, "report-fr");
    let expected = 1.0 - (1.0 - 0.8) * (1.0 - 0.3);
    assert!(
        (links[0].weight - expected).abs() < 1e-9,
        "{}",
        links[0].weight
    );
}

#[test]
fn fuzzy_hashes_link_similar_files() {
    let mut ix = index();
    let s1 = "96:nq9vmZZHqJpXIHj6erzlhuRECLasXiOum7+bF7754SGHOk:G4wJpXs/rzl7Cbcm2d1k";
    let s2 = "96:6qFxmZZHqJpXIHj6erzlhuRECLasXiOum7+bF7754SGHOk:Tx4wJpXs/rzl7Cbcm2d1k";
    let t1 = "T110814B635F08C806AB91D383653E6D38DAA9C3CE3A105850D5F5216AACDD346392BF6A";
    let t2 = "T199814C635F08C806AB91D383513F6D38AFA5C7CA36105800D5E5315E7CDD746262BB69";
    ix.add(
        "a",
        &[
            Observable::Ssdeep(normalize::ssdeep(s1).unwrap()),
            Observable::Tlsh(normalize::tlsh(t1).unwrap()),
        ],
    );
    ix.add(
        "b",
        &[
            Observable::Ssdeep(normalize::ssdeep(s2).unwrap()),
            Observable::Tlsh(normalize::tlsh(t2).unwrap()),
        ],
    );
    ix.add(
        "c",
        &[Observable::Ssdeep(
            normalize::ssdeep("3:abcdefghij:xyz").unwrap(),
        )],
    );
    let reasons = reasons_between(&ix, "a", "b");
    assert!(
        reasons.contains(&Reason::Ssdeep {
            ours: s1.into(),
            theirs: s2.into(),
            score: 97
        }),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&Reason::Tlsh {
            ours: t1.into(),
            theirs: t2.into(),
            distance: 27
        }),
        "{reasons:?}"
    );
    assert!(reasons_between(&ix, "a", "c").is_empty());
    // A stricter threshold drops the TLSH link.
    let mut strict = Index::new(
        Config {
            tlsh_max_distance: 20,
            ..Config::default()
        },
        WarningLists::default(),
    );
    strict.add("a", &[Observable::Tlsh(normalize::tlsh(t1).unwrap())]);
    strict.add("b", &[Observable::Tlsh(normalize::tlsh(t2).unwrap())]);
    assert!(reasons_between(&strict, "a", "b").is_empty());
}

#[test]
fn warning_lists_and_over_correlation_keep_noise_out() {
    let mut lists = WarningLists::builtin();
    lists
        .add(
            "cdn",
            "# big CDNs\ncloudfront.net\n13.32.0.0/15  # CloudFront\n",
        )
        .unwrap();
    let err = lists
        .add("broken", "example.com\nnot a value!\n")
        .unwrap_err();
    assert_eq!((err.line, err.list.as_str()), (2, "broken"));
    let mut ix = Index::new(
        Config {
            max_items_per_value: 5,
            ..Config::default()
        },
        lists,
    );
    let empty = Observable::FileHash(
        HashAlgo::Sha256,
        geneva_correlate::empty_file_hash(HashAlgo::Sha256).into(),
    );
    let noise = ix.add(
        "a",
        &[
            ip("8.8.8.8"),
            ip("10.1.2.3"),
            domain("d1.cloudfront.net"),
            ip("13.33.1.1"),
            empty.clone(),
            domain("shared.bad.example"),
        ],
    );
    assert_eq!(noise.len(), 5, "{noise:?}");
    assert!(noise.contains(&Noise::Listed {
        key: "ipv4:8.8.8.8".into(),
        list: "public-dns-resolvers".into()
    }));
    assert!(noise.contains(&Noise::Listed {
        key: "domain:d1.cloudfront.net".into(),
        list: "cdn".into()
    }));
    ix.add("b", &[ip("8.8.8.8"), empty, domain("shared.bad.example")]);
    let links = ix.correlate("a").0;
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].reasons,
        vec![Reason::Same {
            key: "domain:shared.bad.example".into()
        }]
    );
    // A value in more than five items stops linking and is flagged instead.
    for n in 0..10 {
        ix.add(&format!("x{n}"), &[domain("shared.bad.example")]);
    }
    let (links, noise) = ix.correlate("a");
    assert!(links.is_empty());
    // The listed values are reported too, as they were when added.
    assert_eq!(noise.len(), 6, "{noise:?}");
    assert_eq!(
        noise.last(),
        Some(&Noise::OverCorrelating {
            key: "domain:shared.bad.example".into(),
            items: 12
        })
    );
    assert!(noise.contains(&Noise::Listed {
        key: "ipv4:13.33.1.1".into(),
        list: "cdn".into()
    }));
}

#[test]
fn campaigns_keep_their_names_as_data_grows() {
    let mut ix = index();
    ix.add("incident-1", &[domain("a.evil.example"), ip("45.1.1.1")]);
    ix.add("incident-2", &[domain("a.evil.example")]);
    ix.add("incident-3", &[ip("45.1.1.1"), domain("b.other.example")]);
    ix.add("incident-4", &[domain("c.third.example")]);
    ix.add("incident-5", &[domain("c.third.example")]);
    ix.add("incident-6", &[domain("alone.example")]);
    let c = ix.campaigns();
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0].id, "cluster:incident-1");
    assert_eq!(c[0].members, vec!["incident-1", "incident-2", "incident-3"]);
    assert_eq!(c[1].id, "cluster:incident-4");
    // A new incident bridging the two: one campaign, under the older name.
    ix.add(
        "incident-7",
        &[domain("b.other.example"), domain("c.third.example")],
    );
    let c = ix.campaigns();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, "cluster:incident-1");
    assert_eq!(c[0].members.len(), 6);
}

#[test]
fn postings_grow_with_items_not_with_pairs() {
    let mut ix = Index::new(
        Config {
            max_items_per_value: 10_000,
            ..Config::default()
        },
        WarningLists::default(),
    );
    for n in 0..2_000 {
        ix.add(
            &format!("r{n}"),
            &[
                domain("everywhere.bad.example"),
                domain(&format!("only{n}.example")),
            ],
        );
    }
    // 2,000 items sharing one value: one posting of 2,000 entries, not 2,000,000 pairs.
    assert_eq!(ix.items(), 2_000);
    let (links, _) = ix.correlate("r0");
    assert_eq!(links.len(), 1_999);
    // Keys: the shared value, its registrable domain, and each item's own domain and registrable domain.
    assert!(ix.keys() <= 2 + 2 * 2_000, "{}", ix.keys());
}

#[test]
fn ranges_and_addresses_of_both_families() {
    let mut ix = Index::new(Config::default(), WarningLists::default());
    ix.add("v4-range", &[ip("45.77.0.0/16")]);
    ix.add("v4-addr", &[ip("45.77.3.4")]);
    ix.add("v4-other", &[ip("45.78.3.4")]);
    ix.add("v6-range", &[ip("2a01:4f8::/32")]);
    ix.add("v6-addr", &[ip("2a01:4f8:c0c:1234::1")]);
    ix.add("v6-narrow", &[ip("2a01:4f8:c0c:1234::/120")]);
    ix.add("v6-everything", &[ip("::/0")]);
    let linked = |item: &str| -> Vec<String> {
        let mut v: Vec<String> = ix.correlate(item).0.into_iter().map(|l| l.item).collect();
        v.sort();
        v
    };
    assert_eq!(linked("v4-range"), vec!["v4-addr"]);
    assert_eq!(
        linked("v4-addr"),
        vec!["v4-range"],
        "::/0 does not claim IPv4 addresses"
    );
    assert!(linked("v4-other").is_empty());
    assert_eq!(
        linked("v6-addr"),
        vec!["v6-everything", "v6-narrow", "v6-range"]
    );
    assert_eq!(linked("v6-narrow"), vec!["v6-addr"]);
    assert_eq!(linked("v6-everything"), vec!["v6-addr"]);
    // An IPv4-mapped IPv6 address is the IPv4 address.
    ix.add("mapped", &[ip("::ffff:45.77.9.9")]);
    assert_eq!(
        ix.correlate("mapped")
            .0
            .iter()
            .map(|l| l.item.as_str())
            .collect::<Vec<_>>(),
        vec!["v4-range"]
    );
}
