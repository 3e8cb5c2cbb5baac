//! Redaction: whatever mix of TLP levels and release decisions a case holds,
//! no byte of content that is neither TLP:CLEAR nor released reaches the
//! finding, and everything that is public does.

use geneva_panel::*;
use geneva_stix::Tlp;
use proptest::prelude::*;

/// The rule, written again here so the test does not judge the code by itself.
fn may_be_public(d: Disclosure) -> bool {
    d.tlp == Tlp::Clear || d.released
}

fn disclosure() -> impl Strategy<Value = Disclosure> {
    (proptest::sample::select(Tlp::ALL.to_vec()), any::<bool>())
        .prop_map(|(tlp, released)| Disclosure { tlp, released })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn no_private_byte_reaches_the_finding(
        subjects in proptest::collection::vec(disclosure(), 1..4),
        evidence in proptest::collection::vec(disclosure(), 0..12),
    ) {
        // Each item's id and summary carry a marker unique to it.
        let item = |kind: &str, i: usize, d: Disclosure| EvidenceItem {
            id: format!("{kind}--secret-{kind}-{i}-{}", d.tlp.as_str()),
            summary: format!("SUMMARY-{kind}-{i}-{}-<script>", d.tlp.as_str()),
            disclosure: d,
        };
        let draft = DraftFinding {
            case_id: "case-7".into(),
            title: "t".into(),
            subjects: subjects.iter().enumerate().map(|(i, d)| item("incident", i, *d)).collect(),
            actor: Some(("threat-actor--1".into(), "Actor".into())),
            sponsor_state: None,
            likelihood: "likely".into(),
            probability: 0.7,
            confidence: "moderate".into(),
            norms: vec![],
            evidence: evidence.iter().enumerate().map(|(i, d)| item("indicator", i, *d)).collect(),
            supersedes: None,
        };
        let votes: Vec<Vote> = (0..5).map(|i| Vote {
            member: format!("m{i}"), opinion: Opinion::Agree, explanation: None, at: "t".into(),
        }).collect();
        let t = tally(&votes, &VotingRules::default());
        let mut n = 0;
        let result = compose_finding(&draft, &t, "identity--body", "t", |k: &str| { n += 1; format!("{k}--{n}") });
        let any_public_subject = draft.subjects.iter().any(|s| may_be_public(s.disclosure));
        match result {
            Err(FindingError::NoPublicSubject(_)) => prop_assert!(!any_public_subject),
            Err(e) => prop_assert!(false, "{e}"),
            Ok(objects) => {
                prop_assert!(any_public_subject);
                let text = serde_json::to_string(&objects).unwrap();
                for item in draft.subjects.iter().chain(&draft.evidence) {
                    let public = may_be_public(item.disclosure);
                    let shown = text.contains(&item.id);
                    prop_assert_eq!(public, shown, "{} public={} shown={}", item.id, public, shown);
                    if item.id.starts_with("indicator") {
                        prop_assert_eq!(public, text.contains(&item.summary), "{}", item.summary);
                    }
                    if !public {
                        prop_assert!(!text.contains(&item.summary));
                    }
                }
            }
        }
    }
}
