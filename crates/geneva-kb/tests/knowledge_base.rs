//! The knowledge base from the real files: MITRE ATT&CK Enterprise 15.1
//! (STIX 2.1 and 2.0) and the MISP galaxy's threat actors, merged; and
//! hostile input refused with its place, never a panic.

use geneva_kb::{KbError, KnowledgeBase, normalise_alias};

fn attack() -> Option<KnowledgeBase> {
    let path = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json")?;
    Some(KnowledgeBase::from_attack(&std::fs::read(path).unwrap()).unwrap())
}

#[test]
fn attack_groups_campaigns_and_what_they_use() {
    let Some(kb) = attack() else { return };
    // 163 intrusion sets, 6 revoked and 9 deprecated; 28 campaigns, 12 attributed.
    assert_eq!(kb.actors.len(), 148);
    assert_eq!(kb.campaigns.len(), 28);
    assert_eq!(
        kb.campaigns
            .iter()
            .filter(|c| c.attributed_to.is_some())
            .count(),
        12
    );
    let apt1 = kb.actor("G0006").unwrap();
    assert_eq!(apt1.name, "APT1");
    assert!(apt1.aliases.contains("Comment Panda"));
    assert_eq!(
        kb.actor("comment-panda").unwrap().attack_id.as_deref(),
        Some("G0006")
    );
    assert!(apt1.techniques.len() > 20, "{}", apt1.techniques.len());
    assert!(apt1.techniques.iter().all(|t| t.starts_with('T')));
    assert!(apt1.software.iter().all(|s| s.starts_with('S')));
    assert!(
        kb.names.contains_key("T1059.001"),
        "sub-techniques are named"
    );
    // Every attributed campaign uses something, and most use techniques.
    let attributed: Vec<_> = kb
        .campaigns
        .iter()
        .filter(|c| c.attributed_to.is_some())
        .collect();
    for c in &attributed {
        assert!(c.attack_id.starts_with('C'));
        assert!(
            !(c.techniques.is_empty() && c.software.is_empty()),
            "{}",
            c.attack_id
        );
    }
    assert!(
        attributed
            .iter()
            .filter(|c| !c.techniques.is_empty())
            .count()
            >= 10
    );
}

#[test]
fn uses_are_filed_by_the_reports_that_tell_of_them() {
    let bundle = br#"{"type": "bundle", "objects": [
        {"type": "intrusion-set", "id": "intrusion-set--1", "name": "Group",
         "external_references": [{"source_name": "mitre-attack", "external_id": "G9001"}]},
        {"type": "attack-pattern", "id": "attack-pattern--1", "name": "One",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T9001"}]},
        {"type": "attack-pattern", "id": "attack-pattern--2", "name": "Two",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T9002"}]},
        {"type": "malware", "id": "malware--1", "name": "Bad",
         "external_references": [{"source_name": "mitre-attack", "external_id": "S9001"}]},
        {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": "attack-pattern--1",
         "external_references": [{"source_name": "Vendor 2020"}, {"source_name": "CERT 2021", "url": "https://example.org"}]},
        {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": "attack-pattern--2",
         "external_references": [{"source_name": "Vendor 2020"}, {"source_name": "mitre-attack"}, {"url": "no name"}, 7]},
        {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": "malware--1",
         "external_references": "not a list"}
    ]}"#;
    let kb = KnowledgeBase::from_attack(bundle).unwrap();
    let group = kb.actor("G9001").unwrap();
    let told =
        |name: &str| -> Vec<&str> { group.reports[name].iter().map(String::as_str).collect() };
    assert_eq!(group.reports.len(), 3, "{:?}", group.reports);
    assert_eq!(told("Vendor 2020"), ["T9001", "T9002"]);
    assert_eq!(told("CERT 2021"), ["T9001"]);
    assert_eq!(told(""), ["S9001"], "a use no report is cited for");

    // In ATT&CK every use is told by some report, or filed as uncited.
    let Some(kb) = attack() else { return };
    for actor in &kb.actors {
        let told: std::collections::BTreeSet<&String> = actor.reports.values().flatten().collect();
        let uses: std::collections::BTreeSet<&String> =
            actor.techniques.iter().chain(&actor.software).collect();
        assert_eq!(told, uses, "{}", actor.name);
    }
    let cited = kb
        .actors
        .iter()
        .flat_map(|a| a.reports.iter())
        .filter(|(name, told)| !name.is_empty() && told.len() >= 3)
        .count();
    assert_eq!(
        cited, 534,
        "reports cited for at least three of a group's uses"
    );
}

#[test]
fn stix20_gives_the_same_knowledge_base() {
    let (Some(v21), Some(path)) = (
        attack(),
        geneva_testkit::shared_data("attack/enterprise-attack-15.1-stix20.json"),
    ) else {
        return;
    };
    let v20 = KnowledgeBase::from_attack(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(v20.actors, v21.actors);
    assert_eq!(v20.campaigns, v21.campaigns);
}

#[test]
fn misp_galaxy_merges_by_attack_id_then_alias() {
    let (Some(mut kb), Some(path)) = (
        attack(),
        geneva_testkit::shared_data("misp-galaxy/threat-actor.json"),
    ) else {
        return;
    };
    let report = kb.merge_misp_galaxy(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(report.by_attack_id + report.by_alias + report.added, 1_041);
    assert!(report.by_attack_id > 50, "{report:?}");
    assert!(report.by_alias > 0, "{report:?}");
    assert_eq!(kb.actors.len(), 148 + report.added);
    let apt1 = kb.actor("G0006").unwrap();
    assert_eq!(apt1.sponsor.as_deref(), Some("China"));
    assert!(apt1.victims.contains("United States"));
    assert!(apt1.target_categories.contains("Government"));
    assert!(apt1.misp_uuid.is_some());
    assert!(apt1.aliases.contains("PLA Unit 61398"));
    // Found by a galaxy-only name too, with ATT&CK's techniques.
    assert!(!kb.actor("PLA Unit 61398").unwrap().techniques.is_empty());
    let sponsored = kb.actors.iter().filter(|a| a.sponsor.is_some()).count();
    assert!(sponsored > 200, "{sponsored}");
}

#[test]
fn aliases_compare_without_case_or_punctuation() {
    assert_eq!(
        normalise_alias("Comment Panda"),
        normalise_alias("comment-panda")
    );
    assert_eq!(normalise_alias("APT.28"), "apt28");
    assert_ne!(normalise_alias("APT28"), normalise_alias("APT29"));
}

#[test]
fn hostile_files_are_refused_with_their_place() {
    for (bytes, place) in [
        (&b"not json"[..], None),
        (br#"{"type": "bundle"}"#, Some("$.objects")),
        (
            br#"{"objects": [{"type": "intrusion-set"}]}"#,
            Some("$.objects[0].id"),
        ),
        (br#"[1, 2, 3]"#, Some("$.objects")),
    ] {
        match KnowledgeBase::from_attack(bytes) {
            Err(KbError::Json(_)) => assert!(place.is_none()),
            Err(KbError::Shape { path, .. }) => assert_eq!(Some(path.as_str()), place),
            Ok(_) => panic!("{} was accepted", String::from_utf8_lossy(bytes)),
        }
    }
    let mut kb = KnowledgeBase::default();
    assert!(matches!(
        kb.merge_misp_galaxy(br#"{"values": [{"meta": {}}]}"#),
        Err(KbError::Shape { path, .. }) if path == "$.values[0].value"
    ));
    // Odd but well-formed input is taken for what it says, without a panic.
    let odd = br#"{"objects": [
        {"type": "intrusion-set", "id": "intrusion-set--1", "name": 7,
         "external_references": [{"source_name": "mitre-attack", "external_id": "G9999"}],
         "aliases": [null, "X", 3]},
        {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": 5}
    ]}"#;
    let kb = KnowledgeBase::from_attack(odd).unwrap();
    assert_eq!(kb.actor("G9999").unwrap().name, "G9999");
    assert!(kb.actor("x").is_some());
    let mut kb = kb;
    let report = kb
        .merge_misp_galaxy(
            br#"{"values": [{"value": "X", "meta": {"country": ["", 5], "synonyms": 3}}]}"#,
        )
        .unwrap();
    assert_eq!(report.by_alias, 1);
    assert_eq!(kb.actor("G9999").unwrap().sponsor, None);
}

#[test]
fn techniques_and_software_are_known_by_id_stix_id_and_name() {
    let Some(kb) = attack() else { return };
    assert_eq!(kb.used_id("T1059.001"), Some("T1059.001"));
    assert_eq!(kb.used_id("Mimikatz"), Some("S0002"));
    assert_eq!(kb.used_id("mimikatz"), Some("S0002"));
    assert_eq!(
        kb.used_id("malware--64fa0de0-6240-41f4-8638-f4ca7ed528fd"),
        Some("S0013"),
        "PlugX by its STIX id"
    );
    assert_eq!(kb.used_id("no such tool"), None);
    let mimikatz = &kb.software_techniques["S0002"];
    assert!(mimikatz.contains("T1003.001"), "{mimikatz:?}");
    // TEMP.Veles is known almost only through its two campaigns.
    let veles = kb
        .actors
        .iter()
        .position(|a| a.attack_id.as_deref() == Some("G0088"))
        .unwrap();
    assert!(kb.actors[veles].techniques.len() + kb.actors[veles].software.len() < 5);
    assert!(
        kb.repertoire(veles).len() > 20,
        "{:?}",
        kb.repertoire(veles)
    );
}
