//! The panel's rules: lifecycle, recusal, voting, and what may be published.

use geneva_panel::vote::cast;
use geneva_panel::*;
use geneva_stix::Tlp;

fn member(id: &str, country: Option<&str>) -> Member {
    Member {
        id: id.into(),
        organisation: format!("{id}-org"),
        country: country.map(str::to_owned),
    }
}

fn vote(member: &str, opinion: Opinion, why: Option<&str>) -> Vote {
    Vote {
        member: member.into(),
        opinion,
        explanation: why.map(str::to_owned),
        at: "2026-11-26T12:00:00.000Z".into(),
    }
}

#[test]
fn a_case_moves_only_along_its_lifecycle_and_records_every_step() {
    assert_eq!(
        Case::open("case-1", "t", vec![]),
        Err(CaseError::NothingToExamine)
    );
    let mut case = Case::open("case-1", "t", vec!["incident--1".into()]).unwrap();
    let err = case
        .transition(Status::Published, "chair", "t0", None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("from intake it may go to analysis or closed"),
        "{err}"
    );
    for (to, at) in [
        (Status::Analysis, "t1"),
        (Status::Review, "t2"),
        (Status::Analysis, "t3"),
        (Status::Review, "t4"),
        (Status::Vote, "t5"),
        (Status::Published, "t6"),
    ] {
        case.transition(to, "chair", at, None).unwrap();
    }
    assert_eq!(case.history.len(), 6);
    assert_eq!(case.history[2].from, Status::Review);
    assert_eq!(case.history[2].to, Status::Analysis);
    assert_eq!(case.history[5].at, "t6");
    // Published is final: a correction is a new finding, not an edit.
    assert_eq!(
        case.transition(Status::Review, "chair", "t7", None),
        Err(CaseError::Final(Status::Published))
    );
    let mut closed = Case::open("case-2", "t", vec!["incident--2".into()]).unwrap();
    closed
        .transition(Status::Closed, "chair", "t1", Some("no evidence".into()))
        .unwrap();
    assert!(
        closed
            .transition(Status::Analysis, "chair", "t2", None)
            .is_err()
    );
}

#[test]
fn members_of_victim_and_sponsor_countries_are_recused_and_cannot_vote() {
    let members = vec![
        member("ua", Some("UA")),
        member("ru", Some("ru")),
        member("ch", Some("CH")),
        member("acme", None),
    ];
    let parties = Parties {
        victim_countries: ["UA".to_owned()].into(),
        victim_organisations: ["acme-org".to_owned()].into(),
        suspected_sponsors: ["RU".to_owned()].into(),
    };
    let recused = recusals(&members, &parties, &ConflictRules::default());
    let who: Vec<&str> = recused.iter().map(|r| r.member.as_str()).collect();
    assert_eq!(who, vec!["ua", "ru", "acme"]);
    assert!(recused[0].reason.contains("is a victim"));
    assert!(recused[1].reason.contains("suspected sponsor"));
    let lenient = ConflictRules {
        suspected_sponsor: false,
        ..ConflictRules::default()
    };
    assert_eq!(recusals(&members, &parties, &lenient).len(), 2);

    let mut votes = Vec::new();
    let err = cast(
        &mut votes,
        vote("ru", Opinion::Agree, None),
        &members,
        &recused,
    )
    .unwrap_err();
    assert!(matches!(err, VoteError::Recused { .. }), "{err}");
    assert!(err.to_string().contains("suspected sponsor"));
    assert_eq!(
        cast(
            &mut votes,
            vote("nobody", Opinion::Agree, None),
            &members,
            &recused
        ),
        Err(VoteError::NotAssigned("nobody".into()))
    );
    cast(
        &mut votes,
        vote("ch", Opinion::Agree, None),
        &members,
        &recused,
    )
    .unwrap();
    assert_eq!(
        cast(
            &mut votes,
            vote("ch", Opinion::Disagree, Some("changed my mind")),
            &members,
            &recused
        ),
        Err(VoteError::AlreadyVoted("ch".into()))
    );
    assert!(votes.iter().all(|v| v.member != "ru"));
}

#[test]
fn quorum_and_majority_decide_and_dissents_must_give_reasons() {
    let members: Vec<Member> = (0..7).map(|i| member(&format!("m{i}"), None)).collect();
    let mut votes = Vec::new();
    assert_eq!(
        cast(
            &mut votes,
            vote("m0", Opinion::Disagree, Some("  ")),
            &members,
            &[]
        ),
        Err(VoteError::DissentWithoutReasons("m0".into()))
    );
    let rules = VotingRules::default();
    for i in 0..4 {
        cast(
            &mut votes,
            vote(&format!("m{i}"), Opinion::Agree, None),
            &members,
            &[],
        )
        .unwrap();
    }
    let t = tally(&votes, &rules);
    assert!(
        !t.quorum_met && !t.carried,
        "4 votes are below the quorum of 5"
    );
    cast(
        &mut votes,
        vote(
            "m4",
            Opinion::Disagree,
            Some("the infrastructure is shared"),
        ),
        &members,
        &[],
    )
    .unwrap();
    let t = tally(&votes, &rules);
    assert!(t.quorum_met && t.carried, "4 of 5 is over two thirds");
    cast(
        &mut votes,
        vote("m5", Opinion::Neutral, None),
        &members,
        &[],
    )
    .unwrap();
    cast(
        &mut votes,
        vote("m6", Opinion::StronglyDisagree, Some("false flag")),
        &members,
        &[],
    )
    .unwrap();
    let t = tally(&votes, &rules);
    assert_eq!((t.cast, t.in_favour, t.against, t.neutral), (7, 4, 2, 1));
    assert!(
        !t.carried,
        "4 of 7 is under two thirds: abstaining is not agreeing"
    );
    assert_eq!(t.dissents.len(), 2);
    assert!(t.sentence().contains("not carried"));
    let opinion = votes[4].to_stix("opinion--1", "identity--m4", "report--draft");
    assert_eq!(opinion["opinion"], "disagree");
    assert_eq!(opinion["explanation"], "the infrastructure is shared");
    assert_eq!(opinion["object_refs"][0], "report--draft");
}

fn draft(subject_tlp: Tlp, released: bool) -> DraftFinding {
    DraftFinding {
        case_id: "case-1".into(),
        title: "Attack on the grid".into(),
        subjects: vec![EvidenceItem {
            id: "incident--7f1c0a2e-3b4d-4c5e-8f60-718293a4b5c6".into(),
            summary: "the incident".into(),
            disclosure: Disclosure {
                tlp: subject_tlp,
                released,
            },
        }],
        actor: Some((
            "intrusion-set--381fcf73-60f6-4ab2-9991-6af3cbc35192".into(),
            "Sandworm Team".into(),
        )),
        sponsor_state: Some("RU".into()),
        likelihood: "very likely".into(),
        probability: 0.9,
        confidence: "high".into(),
        norms: vec![NormVerdict {
            norm: "gge-2015-f".into(),
            title: "No damage to critical infrastructure".into(),
            verdict: "breach".into(),
        }],
        evidence: vec![],
        supersedes: None,
    }
}

#[test]
fn nothing_is_published_without_a_carried_vote_or_a_public_subject() {
    let members: Vec<Member> = (0..5).map(|i| member(&format!("m{i}"), None)).collect();
    let mut votes = Vec::new();
    for i in 0..4 {
        cast(
            &mut votes,
            vote(&format!("m{i}"), Opinion::Agree, None),
            &members,
            &[],
        )
        .unwrap();
    }
    let mut n = 0;
    let mut ids = |t: &str| {
        n += 1;
        format!("{t}--00000000-0000-4000-8000-{n:012}")
    };
    let short = tally(&votes, &VotingRules::default());
    let err = compose_finding(
        &draft(Tlp::Clear, false),
        &short,
        "identity--0c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "t",
        &mut ids,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no quorum"), "{err}");
    cast(
        &mut votes,
        vote("m4", Opinion::StronglyAgree, None),
        &members,
        &[],
    )
    .unwrap();
    let carried = tally(&votes, &VotingRules::default());
    let err = compose_finding(
        &draft(Tlp::Amber, false),
        &carried,
        "identity--0c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "t",
        &mut ids,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("must be about something public"),
        "{err}"
    );
    let objects = compose_finding(
        &draft(Tlp::Amber, true),
        &carried,
        "identity--0c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "2026-11-26T12:00:00.000Z",
        &mut ids,
    )
    .unwrap();
    assert_eq!(objects[0]["type"], "report");
    let attributed: Vec<_> = objects
        .iter()
        .filter(|o| o["relationship_type"] == "attributed-to")
        .collect();
    assert_eq!(attributed.len(), 1);
    assert_eq!(
        attributed[0]["target_ref"],
        "intrusion-set--381fcf73-60f6-4ab2-9991-6af3cbc35192"
    );
    let attribution = objects
        .iter()
        .find(|o| o["abstract"] == "Attribution")
        .unwrap()["content"]
        .as_str()
        .unwrap();
    // The likelihood and the confidence are separate sentences.
    let sentences: Vec<&str> = attribution.split(". ").collect();
    assert_eq!(sentences.len(), 2, "{attribution}");
    assert!(sentences[0].contains("very likely") && !sentences[0].contains("confidence"));
    assert!(sentences[1].contains("high confidence"));
    for o in &objects {
        assert_eq!(o["object_marking_refs"][0], Tlp::Clear.marking_id());
    }
    // Every object the report refers to that it created is in the finding.
    let made: std::collections::BTreeSet<&str> =
        objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
    for r in objects[0]["object_refs"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(
            made.contains(r) || r.starts_with("incident--") || r.starts_with("intrusion-set--"),
            "{r}"
        );
    }
    // A finding is valid STIX that Geneva itself accepts.
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--0c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4c", "objects": objects});
    let prepared = geneva_stix::prepare(
        &serde_json::to_vec(&bundle).unwrap(),
        &geneva_stix::PrepareOptions::default(),
    );
    assert!(prepared.is_ok(), "{prepared:?}");
}
