//! Well-known public incidents, encoded from public facts with their
//! sources, and the verdict expected for every norm that applies to each,
//! with the reasoning. Every applicable norm must be expected, with exactly
//! that verdict, and nothing else may apply.

use std::collections::BTreeMap;

use geneva_norms::{Catalogue, Facts, Verdict, assess};
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    geneva_testkit::norm_fixture_names()
        .into_iter()
        .map(|name| {
            let (fixture, _) = geneva_testkit::norm_fixture(&name);
            (name, fixture)
        })
        .collect()
}

/// norm id → expected verdict, from a fixture's `expected`.
fn expected(name: &str) -> BTreeMap<String, Verdict> {
    let mut out = BTreeMap::new();
    for (norm, verdict) in geneva_testkit::norm_fixture(name).1 {
        let v = Verdict::parse(&verdict).unwrap_or_else(|| panic!("unknown verdict {verdict}"));
        assert!(
            out.insert(norm.clone(), v).is_none(),
            "{name}: {norm} expected twice"
        );
    }
    out
}

#[test]
fn the_sixteen_public_incidents_get_their_expected_verdicts() {
    let catalogue = Catalogue::shipped();
    let fixtures = fixtures();
    let names: Vec<&str> = fixtures.iter().map(|(n, _)| n.as_str()).collect();
    for required in [
        "ukraine-grid-2015",
        "wannacry-2017",
        "notpetya-2017",
        "sony-pictures-2014",
        "dnc-2016",
        "olympic-destroyer-2018",
        "solarwinds-2020",
        "triton-2017",
        "shamoon-2012",
        "viasat-ka-sat-2022",
        "colonial-pipeline-2021",
        "bundestag-2015",
        "operation-aurora-2009",
        "stuxnet-2010",
        "cloud-hopper-2016",
        "exchange-hafnium-2021",
    ] {
        assert!(names.contains(&required), "fixture {required} is missing");
    }
    let mut failures = Vec::new();
    for (name, fixture) in &fixtures {
        assert!(
            !fixture["sources"].as_array().unwrap().is_empty(),
            "{name}: no sources"
        );
        for (verdict, body) in fixture["expected"].as_object().unwrap() {
            if verdict == "no breach" {
                assert!(
                    body["reasoning"].as_str().is_some_and(|r| r.len() > 20),
                    "{name}: the no-breach verdicts need their reasoning"
                );
            } else {
                for (norm, reason) in body.as_object().unwrap() {
                    assert!(
                        reason.as_str().is_some_and(|r| r.len() > 20),
                        "{name}: {norm} needs a sentence of reasoning"
                    );
                }
            }
        }
        let objects = fixture["bundle"]["objects"].as_array().unwrap();
        let facts = Facts::from_stix(objects, None).unwrap();
        let got: BTreeMap<String, Verdict> = assess(&catalogue, &facts)
            .norms
            .into_iter()
            .map(|a| (a.norm, a.verdict))
            .collect();
        let want = expected(name);
        for norm in want.keys().chain(got.keys()) {
            let (w, g) = (want.get(norm), got.get(norm));
            if w != g {
                failures.push(format!(
                    "{name}: {norm}: expected {}, got {}",
                    w.map_or("not applicable", |v| v.as_str()),
                    g.map_or("not applicable", |v| v.as_str())
                ));
            }
        }
    }
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn verdicts_name_what_they_rest_on_and_what_would_change_them() {
    let catalogue = Catalogue::shipped();
    let fixture = fixtures()
        .into_iter()
        .find(|(n, _)| n == "sony-pictures-2014")
        .unwrap()
        .1;
    let facts = Facts::from_stix(fixture["bundle"]["objects"].as_array().unwrap(), None).unwrap();
    let assessment = assess(&catalogue, &facts);
    let zero_day = assessment
        .norms
        .iter()
        .find(|a| a.norm == "ms-rsa-3")
        .unwrap();
    assert_eq!(zero_day.verdict, Verdict::CannotAssess);
    assert_eq!(zero_day.would_change, vec!["vulnerability.zero-day"]);
    assert!(zero_day.rests_on.contains(&"actor.type = state".to_owned()));
    let targeting = assessment
        .norms
        .iter()
        .find(|a| a.norm == "ms-rsa-1")
        .unwrap();
    assert_eq!(targeting.verdict, Verdict::Breach);
    assert!(targeting.would_change.is_empty(), "{targeting:?}");
    assert!(
        targeting
            .rests_on
            .contains(&"victim.private-sector = yes".to_owned())
    );
}

#[test]
fn intensity_follows_the_documented_formula() {
    let fixture = fixtures()
        .into_iter()
        .find(|(n, _)| n == "wannacry-2017")
        .unwrap()
        .1;
    let facts = Facts::from_stix(fixture["bundle"]["objects"].as_array().unwrap(), None).unwrap();
    let i = geneva_norms::intensity(&facts);
    // disruption 4 + 150 countries 3 + 200,000 victims 3 + critical
    // infrastructure 2 + self-propagating 1 = 13.
    assert_eq!(i.score, 13, "{i:?}");
    assert_eq!(i.band, "very high");
    assert!(i.unknown.is_empty(), "{:?}", i.unknown);
}

/// The fixtures are STIX anyone can read: the OASIS validator and Geneva's
/// own import pipeline both accept every bundle.
#[test]
fn every_fixture_bundle_is_valid_stix() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, fixture) in fixtures() {
        let bytes = serde_json::to_vec(&fixture["bundle"]).unwrap();
        if let Err(e) = geneva_stix::prepare(&bytes, &geneva_stix::PrepareOptions::default()) {
            panic!("{name}: Geneva refuses the bundle: {e:?}");
        }
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    let Some(verdicts) = geneva_testkit::stix2_validator_verdicts(&files) else {
        return;
    };
    for file in &files {
        let (valid, errors) = &verdicts[file];
        assert!(valid, "{}: {errors}", file.display());
    }
}
