//! Every link rule, noise control, and campaigns whose names stay put as the
//! data grows, on a real SQLite store: each item is an indicator whose STIX
//! pattern names its values, indexed by the same indexer `geneva serve` runs.

use std::collections::HashMap;
use std::sync::Arc;

use geneva_correlate::{Config, Link, Noise, Reason, WarningLists};
use geneva_observables::{HashAlgo, Observable, normalize};
use geneva_postings::PostingIndex;
use geneva_store::{Provenance, Recipients, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use serde_json::json;

fn ip(s: &str) -> Observable {
    normalize::cidr(s).unwrap()
}
fn domain(s: &str) -> Observable {
    Observable::Domain(normalize::domain(s).unwrap())
}
fn url(s: &str) -> Observable {
    Observable::Url(normalize::url(s).unwrap())
}

/// The comparison a pattern uses for an observable.
fn comparison(o: &Observable) -> String {
    let key = o.key();
    let value = key
        .split_once(':')
        .unwrap()
        .1
        .replace('\\', "\\\\")
        .replace('\'', "\\'");
    let path = match o {
        Observable::Ipv4(_) | Observable::Ipv4Net(..) => "ipv4-addr:value".to_owned(),
        Observable::Ipv6(_) | Observable::Ipv6Net(..) => "ipv6-addr:value".to_owned(),
        Observable::Domain(_) => "domain-name:value".to_owned(),
        Observable::Url(_) => "url:value".to_owned(),
        Observable::Ssdeep(_) => "file:hashes.'SSDEEP'".to_owned(),
        Observable::Tlsh(_) => "file:hashes.'TLSH'".to_owned(),
        Observable::FileHash(algo, _) => format!(
            "file:hashes.'{}'",
            algo.as_str().to_uppercase().replace("SHA", "SHA-")
        ),
        other => panic!("no pattern path for {other:?} in this test"),
    };
    format!("{path} = '{value}'")
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    index: PostingIndex,
    config: Config,
    lists: WarningLists,
    ids: HashMap<String, String>,
    names: HashMap<String, String>,
}

impl Fixture {
    fn new(config: Config, lists: WarningLists) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
        let (index, _) =
            PostingIndex::open(&dir.path().join("correlation"), store.clone()).unwrap();
        Fixture {
            _dir: dir,
            store,
            index,
            config,
            lists,
            ids: HashMap::new(),
            names: HashMap::new(),
        }
    }

    async fn add(&mut self, name: &str, observables: &[Observable]) {
        let n = self.ids.len();
        let id = format!("indicator--{n:08x}-0000-4000-8000-000000000000");
        let pattern = format!(
            "[{}]",
            observables
                .iter()
                .map(comparison)
                .collect::<Vec<_>>()
                .join(" OR ")
        );
        let indicator = json!({"type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name, "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"});
        self.store
            .import(
                geneva_store::conformance::prepared(&[indicator]),
                Provenance {
                    organisation: "test".into(),
                    organisation_id: None,
                    submitted_at: "2026-11-26T00:00:00.000Z".into(),
                    default_tlp: geneva_stix::Tlp::Green,
                    recipients: Recipients::default(),
                },
            )
            .await
            .unwrap();
        self.ids.insert(name.to_owned(), id.clone());
        self.names.insert(id, name.to_owned());
    }

    /// Links (named) and noise of the item called `name`.
    async fn correlate(&self, name: &str) -> (Vec<Link>, Vec<Noise>) {
        let found = geneva_analysis::correlate(
            &self.index,
            &Viewer::Operator,
            &self.ids[name],
            self.config.clone(),
            self.lists.clone(),
        )
        .await
        .unwrap()
        .unwrap();
        let links = found
            .links
            .into_iter()
            .map(|mut l| {
                l.item = self.names[&l.item].clone();
                l
            })
            .collect();
        (links, found.noise)
    }

    async fn reasons_between(&self, a: &str, b: &str) -> Vec<Reason> {
        self.correlate(a)
            .await
            .0
            .into_iter()
            .find(|l| l.item == b)
            .map(|l| l.reasons)
            .unwrap_or_default()
    }

    async fn linked(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .correlate(name)
            .await
            .0
            .into_iter()
            .map(|l| l.item)
            .collect();
        v.sort();
        v
    }

    async fn campaigns(&self) -> geneva_correlate::Clusters {
        let mut c = geneva_analysis::campaigns(
            &self.index,
            &Viewer::Operator,
            self.config.clone(),
            self.lists.clone(),
        )
        .await
        .unwrap();
        let name = |id: &str| -> String {
            let (prefix, item) = id.split_once(':').unwrap();
            format!("{prefix}:{}", self.names[item])
        };
        for campaign in &mut c.campaigns {
            campaign.id = name(&campaign.id);
            campaign.members = campaign
                .members
                .iter()
                .map(|m| self.names[m].clone())
                .collect();
        }
        for community in &mut c.communities {
            community.id = name(&community.id);
            community.members = community
                .members
                .iter()
                .map(|m| self.names[m].clone())
                .collect();
            community.campaigns = community.campaigns.iter().map(|m| name(m)).collect();
        }
        c
    }
}

fn fixture() -> Fixture {
    Fixture::new(Config::default(), WarningLists::builtin())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_range_registrable_and_url_host_links() {
    let mut ix = fixture();
    ix.add(
        "report-ch",
        &[
            domain("c2.evil-example.net"),
            ip("45.77.12.9"),
            url("http://dl.bad-host.org/a.exe"),
        ],
    )
    .await;
    ix.add(
        "report-fr",
        &[domain("C2.Evil-Example.NET."), ip("45.77.0.0/16")],
    )
    .await;
    ix.add(
        "report-de",
        &[domain("mail.evil-example.net"), domain("dl.bad-host.org")],
    )
    .await;
    ix.add("report-it", &[domain("unrelated.example.org")])
        .await;

    let ch_fr = ix.reasons_between("report-ch", "report-fr").await;
    assert!(
        ch_fr.contains(&Reason::Same {
            key: "domain:c2.evil-example.net".into()
        }),
        "{ch_fr:?}"
    );
    let in_range = Reason::InRange {
        address: "ipv4:45.77.12.9".into(),
        range: "ipv4-net:45.77.0.0/16".into(),
    };
    assert!(ch_fr.contains(&in_range), "{ch_fr:?}");
    // Seen from the other side too.
    assert!(
        ix.reasons_between("report-fr", "report-ch")
            .await
            .contains(&in_range)
    );

    let ch_de = ix.reasons_between("report-ch", "report-de").await;
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
        ix.reasons_between("report-de", "report-ch")
            .await
            .iter()
            .any(|r| matches!(r, Reason::UrlHost { .. }))
    );
    assert!(
        ix.reasons_between("report-ch", "report-it")
            .await
            .is_empty()
    );

    // Stronger evidence ranks first; weights combine as independent evidence.
    let (links, _) = ix.correlate("report-ch").await;
    assert_eq!(links[0].item, "report-fr");
    let expected = 1.0 - (1.0 - 0.8) * (1.0 - 0.3);
    assert!(
        (links[0].weight - expected).abs() < 1e-9,
        "{}",
        links[0].weight
    );
    // The link says which object carried the other side's evidence.
    assert_eq!(links[0].via, vec![ix.ids["report-fr"].clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzy_hashes_link_similar_files() {
    let s1 = "96:nq9vmZZHqJpXIHj6erzlhuRECLasXiOum7+bF7754SGHOk:G4wJpXs/rzl7Cbcm2d1k";
    let s2 = "96:6qFxmZZHqJpXIHj6erzlhuRECLasXiOum7+bF7754SGHOk:Tx4wJpXs/rzl7Cbcm2d1k";
    let t1 = "T110814B635F08C806AB91D383653E6D38DAA9C3CE3A105850D5F5216AACDD346392BF6A";
    let t2 = "T199814C635F08C806AB91D383513F6D38AFA5C7CA36105800D5E5315E7CDD746262BB69";
    let ssdeep = |s: &str| Observable::Ssdeep(normalize::ssdeep(s).unwrap());
    let tlsh = |s: &str| Observable::Tlsh(normalize::tlsh(s).unwrap());
    let mut ix = fixture();
    ix.add("a", &[ssdeep(s1), tlsh(t1)]).await;
    ix.add("b", &[ssdeep(s2), tlsh(t2)]).await;
    ix.add("c", &[ssdeep("3:abcdefghij:xyz")]).await;
    let reasons = ix.reasons_between("a", "b").await;
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
    assert!(ix.reasons_between("a", "c").await.is_empty());
    // A stricter threshold drops the TLSH link.
    ix.config.tlsh_max_distance = 20;
    let strict = ix.reasons_between("a", "b").await;
    assert!(
        !strict.iter().any(|r| matches!(r, Reason::Tlsh { .. })),
        "{strict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_lists_and_over_correlation_keep_noise_out() {
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
    let mut ix = Fixture::new(
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
    ix.add(
        "a",
        &[
            ip("8.8.8.8"),
            ip("10.1.2.3"),
            domain("d1.cloudfront.net"),
            ip("13.33.1.1"),
            empty.clone(),
            domain("shared.bad.example"),
        ],
    )
    .await;
    let (_, noise) = ix.correlate("a").await;
    assert_eq!(noise.len(), 5, "{noise:?}");
    assert!(noise.contains(&Noise::Listed {
        key: "ipv4:8.8.8.8".into(),
        list: "public-dns-resolvers".into()
    }));
    assert!(noise.contains(&Noise::Listed {
        key: "domain:d1.cloudfront.net".into(),
        list: "cdn".into()
    }));
    ix.add("b", &[ip("8.8.8.8"), empty, domain("shared.bad.example")])
        .await;
    let links = ix.correlate("a").await.0;
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].reasons,
        vec![Reason::Same {
            key: "domain:shared.bad.example".into()
        }]
    );
    // A value in more than five items stops linking and is flagged instead.
    for n in 0..10 {
        ix.add(&format!("x{n}"), &[domain("shared.bad.example")])
            .await;
    }
    let (links, noise) = ix.correlate("a").await;
    assert!(links.is_empty(), "{links:?}");
    assert_eq!(noise.len(), 6, "{noise:?}");
    // Counted only to one past the cap: "more than five".
    assert!(noise.contains(&Noise::OverCorrelating {
        key: "domain:shared.bad.example".into(),
        items: 6
    }));
    assert!(noise.contains(&Noise::Listed {
        key: "ipv4:13.33.1.1".into(),
        list: "cdn".into()
    }));
    // A list updated later takes effect without re-indexing.
    ix.lists.add("late", "shared.bad.example\n").unwrap();
    let (_, noise) = ix.correlate("a").await;
    assert!(noise.contains(&Noise::Listed {
        key: "domain:shared.bad.example".into(),
        list: "late".into()
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_keep_their_names_as_data_grows() {
    let mut ix = fixture();
    ix.add("incident-1", &[domain("a.evil.example"), ip("45.1.1.1")])
        .await;
    ix.add("incident-2", &[domain("a.evil.example")]).await;
    ix.add("incident-3", &[ip("45.1.1.1"), domain("b.other.example")])
        .await;
    ix.add("incident-4", &[domain("c.third.example")]).await;
    ix.add("incident-5", &[domain("c.third.example")]).await;
    ix.add("incident-6", &[domain("alone.example")]).await;
    let c = ix.campaigns().await.campaigns;
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0].id, "cluster:incident-1");
    assert_eq!(c[0].members, vec!["incident-1", "incident-2", "incident-3"]);
    assert_eq!(c[1].id, "cluster:incident-4");
    // A new incident bridging the two: one campaign, under the older name.
    ix.add(
        "incident-7",
        &[domain("b.other.example"), domain("c.third.example")],
    )
    .await;
    let c = ix.campaigns().await.campaigns;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, "cluster:incident-1");
    assert_eq!(c[0].members.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_links_form_communities_of_campaigns() {
    let mut ix = fixture();
    // Two campaigns (shared C2 domains), tied to each other only by sibling
    // domains under one registrable domain (weight 0.4: weak).
    ix.add(
        "i1",
        &[domain("c2.alpha.example"), domain("x.shared-reg.example")],
    )
    .await;
    ix.add("i2", &[domain("c2.alpha.example")]).await;
    ix.add(
        "i3",
        &[domain("c2.beta.example"), domain("y.shared-reg.example")],
    )
    .await;
    ix.add("i4", &[domain("c2.beta.example")]).await;
    ix.add("i5", &[domain("z.shared-reg.example")]).await;
    ix.add("far", &[domain("nothing.example")]).await;
    let c = ix.campaigns().await;
    assert_eq!(c.campaigns.len(), 2, "{c:?}");
    assert_eq!(c.communities.len(), 1, "{c:?}");
    let community = &c.communities[0];
    assert_eq!(community.id, "community:i1");
    assert_eq!(community.members, vec!["i1", "i2", "i3", "i4", "i5"]);
    assert_eq!(community.campaigns, vec!["cluster:i1", "cluster:i3"]);
    // The name stays when a newcomer joins.
    ix.add("i6", &[domain("w.shared-reg.example")]).await;
    let c = ix.campaigns().await;
    assert_eq!(c.communities[0].id, "community:i1");
    assert_eq!(c.communities[0].members.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_grow_with_items_not_with_pairs() {
    let mut ix = Fixture::new(
        Config {
            max_items_per_value: 10_000,
            ..Config::default()
        },
        WarningLists::default(),
    );
    for n in 0..400 {
        ix.add(
            &format!("r{n}"),
            &[
                domain("everywhere.bad.example"),
                domain(&format!("only{n}.example")),
            ],
        )
        .await;
    }
    let (links, _) = ix.correlate("r0").await;
    assert_eq!(links.len(), 399);
    // 400 items sharing one value: 400 postings of it, not 80,000 pairs.
    let stats = ix.index.stats();
    assert_eq!(stats.postings, 800, "{stats:?}");
    assert_eq!(stats.values, 401, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_and_addresses_of_both_families() {
    let mut ix = Fixture::new(Config::default(), WarningLists::default());
    ix.add("v4-range", &[ip("45.77.0.0/16")]).await;
    ix.add("v4-addr", &[ip("45.77.3.4")]).await;
    ix.add("v4-other", &[ip("45.78.3.4")]).await;
    ix.add("v6-range", &[ip("2a01:4f8::/32")]).await;
    ix.add("v6-addr", &[ip("2a01:4f8:c0c:1234::1")]).await;
    ix.add("v6-narrow", &[ip("2a01:4f8:c0c:1234::/120")]).await;
    ix.add("v6-everything", &[ip("::/0")]).await;
    assert_eq!(ix.linked("v4-range").await, vec!["v4-addr"]);
    assert_eq!(
        ix.linked("v4-addr").await,
        vec!["v4-range"],
        "::/0 does not claim IPv4 addresses"
    );
    assert!(ix.linked("v4-other").await.is_empty());
    assert_eq!(
        ix.linked("v6-addr").await,
        vec!["v6-everything", "v6-narrow", "v6-range"]
    );
    assert_eq!(ix.linked("v6-narrow").await, vec!["v6-addr"]);
    assert_eq!(ix.linked("v6-everything").await, vec!["v6-addr"]);
    // An IPv4-mapped IPv6 address is the IPv4 address.
    ix.add("mapped", &[ip("::ffff:45.77.9.9")]).await;
    assert_eq!(ix.linked("mapped").await, vec!["v4-range"]);
}

/// Recall of the fuzzy index against comparing every pair: families of
/// near-identical files (as `geneva bench correlate` makes them, with both
/// ssdeep parts changed) and unrelated files, each in an item of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzy_index_finds_what_comparing_every_pair_finds() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const HEX: &[u8] = b"0123456789ABCDEF";
    let mut rng = StdRng::seed_from_u64(11);
    let random = |rng: &mut StdRng, alphabet: &[u8], len: usize| -> String {
        (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect()
    };
    let mutate = |rng: &mut StdRng, text: &str, alphabet: &[u8], changes: usize| -> String {
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..changes {
            let at = rng.random_range(0..bytes.len());
            bytes[at] = alphabet[rng.random_range(0..alphabet.len())];
        }
        String::from_utf8(bytes).unwrap()
    };
    let mut ix = Fixture::new(
        Config {
            max_items_per_value: 1_000,
            ..Config::default()
        },
        WarningLists::default(),
    );
    let mut files: Vec<(Observable, Observable)> = Vec::new();
    for family in 0..12 {
        let (a, b) = (random(&mut rng, B64, 64), random(&mut rng, B64, 32));
        let t = random(&mut rng, HEX, 70);
        let members = if family < 8 { 6 } else { 1 };
        for _ in 0..members {
            let changes = [
                rng.random_range(0..6),
                rng.random_range(0..3),
                rng.random_range(0..8),
            ];
            let first = mutate(&mut rng, &a, B64, changes[0]);
            let second = mutate(&mut rng, &b, B64, changes[1]);
            let body = mutate(&mut rng, &t, HEX, changes[2]);
            files.push((
                Observable::Ssdeep(normalize::ssdeep(&format!("192:{first}:{second}")).unwrap()),
                Observable::Tlsh(normalize::tlsh(&format!("T1{body}")).unwrap()),
            ));
        }
    }
    for (n, (s, t)) in files.iter().enumerate() {
        ix.add(&format!("f{n}"), &[s.clone(), t.clone()]).await;
    }
    let config = Config::default();
    let (mut expected, mut found, mut pairs) = (0, 0, 0);
    for (n, (s, t)) in files.iter().enumerate() {
        let links = ix.correlate(&format!("f{n}")).await.0;
        for (m, (s2, t2)) in files.iter().enumerate() {
            if m == n {
                continue;
            }
            pairs += 1;
            let key = |o: &Observable| o.key().split_once(':').unwrap().1.to_owned();
            let by_ssdeep = key(s) != key(s2)
                && geneva_observables::fuzzy::ssdeep_score(&key(s), &key(s2)).unwrap()
                    >= config.ssdeep_min_score;
            let by_tlsh = key(t) != key(t2)
                && geneva_observables::fuzzy::tlsh_distance(&key(t), &key(t2)).unwrap()
                    <= config.tlsh_max_distance;
            let link = links.iter().find(|l| l.item == format!("f{m}"));
            for (should, kind) in [(by_ssdeep, "ssdeep"), (by_tlsh, "tlsh")] {
                let has = link.is_some_and(|l| {
                    l.reasons.iter().any(|r| match r {
                        Reason::Ssdeep { .. } => kind == "ssdeep",
                        Reason::Tlsh { .. } => kind == "tlsh",
                        _ => false,
                    })
                });
                // Every link the index makes is a true match (it is judged exactly)...
                assert!(!has || should, "f{n} ~ f{m} by {kind} is not a match");
                if should {
                    expected += 1;
                    found += usize::from(has);
                }
            }
        }
    }
    let recall = found as f64 / expected as f64;
    eprintln!("fuzzy recall: {found} of {expected} matching pairs ({pairs} pairs in all)");
    // ... and it finds (nearly) all of them without comparing every pair.
    assert!(expected > 300, "too few matches to measure: {expected}");
    assert!(recall >= 0.99, "recall {recall:.3}: {found} of {expected}");
}
