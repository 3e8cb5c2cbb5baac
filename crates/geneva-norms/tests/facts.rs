//! Facts read from STIX: what standard objects imply, what the Geneva
//! extension states, and hostile or malformed input refused with the object
//! and the JSON path, never a panic.

use geneva_norms::{FactValue, Facts, FactsError, GENEVA_FACTS_EXTENSION, Truth};
use serde_json::{Value, json};

fn incident(ext: Value) -> Value {
    json!({"type": "incident", "spec_version": "2.1", "id": "incident--9b0a7c6e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x",
           "extensions": {GENEVA_FACTS_EXTENSION: ext}})
}

#[test]
fn victims_sectors_and_countries_come_from_standard_stix() {
    let objects = vec![
        incident(json!({"extension_type": "property-extension"})),
        json!({"type": "identity", "id": "identity--1", "identity_class": "organization", "sectors": ["healthcare"]}),
        json!({"type": "location", "id": "location--1", "country": "ch"}),
        json!({"type": "relationship", "id": "relationship--1", "relationship_type": "targets",
               "source_ref": "incident--9b0a7c6e-1d2f-4e3a-8b5c-6d7e8f9a0b1c", "target_ref": "identity--1"}),
        json!({"type": "relationship", "id": "relationship--2", "relationship_type": "located-at",
               "source_ref": "identity--1", "target_ref": "location--1"}),
    ];
    let facts = Facts::from_stix(&objects, None).unwrap();
    assert_eq!(facts.truth("victim.health"), Truth::True);
    assert_eq!(facts.truth("victim.critical-infrastructure"), Truth::True);
    assert_eq!(facts.truth("victim.finance"), Truth::False);
    assert_eq!(facts.truth("victim.private-sector"), Truth::True);
    assert_eq!(facts.truth("victim.citizens"), Truth::Unknown);
    assert_eq!(facts.count("scale.countries"), Some(1));
    assert!(facts.victim_countries.contains("CH"));
    assert_eq!(
        facts.truth("effect.espionage"),
        Truth::Unknown,
        "not stated"
    );
}

#[test]
fn the_extension_states_effects_and_facts_and_overrides() {
    let objects = vec![incident(json!({
        "extension_type": "property-extension",
        "effects": ["espionage"],
        "effects_complete": true,
        "facts": {"actor.type": "state", "attribution.state": "xx", "scale.victims": 3,
                  "victim.health": true, "scale.countries": null}
    }))];
    let facts = Facts::from_stix(&objects, None).unwrap();
    assert_eq!(facts.truth("effect.espionage"), Truth::True);
    assert_eq!(facts.truth("effect.destruction"), Truth::False);
    assert_eq!(facts.choice("actor.type"), Some("state"));
    assert_eq!(facts.attributed_state.as_deref(), Some("XX"));
    assert_eq!(facts.get("scale.victims"), Some(&FactValue::Count(3)));
    assert!(!facts.is_known("scale.countries"));
}

#[test]
fn malformed_facts_are_refused_with_their_path() {
    let cases = [
        (
            json!({"effects": "espionage"}),
            "effects",
            "list of effect types",
        ),
        (
            json!({"effects": ["spying"]}),
            "effects[0]",
            "not an effect type",
        ),
        (
            json!({"effects_complete": "yes"}),
            "effects_complete",
            "true or false",
        ),
        (json!({"facts": []}), ".facts", "object of fact names"),
        (
            json!({"facts": {"actor.type": "pirate"}}),
            "facts.actor.type",
            "one of state",
        ),
        (
            json!({"facts": {"scale.victims": -1}}),
            "facts.scale.victims",
            "whole number",
        ),
        (
            json!({"facts": {"scale.victims": true}}),
            "facts.scale.victims",
            "whole number",
        ),
        (
            json!({"facts": {"no.such": true}}),
            "facts.no.such",
            "not a known fact",
        ),
        (
            json!({"facts": {"attribution.state": "Russia"}}),
            "facts.attribution.state",
            "ISO 3166",
        ),
        (
            json!({"facts": {"victim.health": {"deep": [1]}}}),
            "facts.victim.health",
            "true, false",
        ),
    ];
    for (ext, path, message) in cases {
        let err = Facts::from_stix(&[incident(ext.clone())], None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("incident--9b0a7c6e"), "{text}");
        assert!(text.contains(path), "{ext}: {text} lacks {path}");
        assert!(text.contains(message), "{ext}: {text} lacks {message}");
    }
}

#[test]
fn the_subject_is_found_or_the_error_says_why() {
    assert_eq!(Facts::from_stix(&[], None), Err(FactsError::NoSubject));
    let two = vec![
        incident(json!({})),
        json!({"type": "campaign", "id": "campaign--1"}),
    ];
    assert!(matches!(
        Facts::from_stix(&two, None),
        Err(FactsError::SeveralSubjects(_))
    ));
    assert!(Facts::from_stix(&two, Some("campaign--1")).is_ok());
    assert_eq!(
        Facts::from_stix(&two, Some("campaign--2")),
        Err(FactsError::SubjectNotFound("campaign--2".into()))
    );
    // Objects of any shape are skipped, not trusted.
    let odd = vec![
        incident(json!({})),
        json!(42),
        json!({"type": "relationship", "relationship_type": "targets",
               "source_ref": "incident--9b0a7c6e-1d2f-4e3a-8b5c-6d7e8f9a0b1c", "target_ref": 7}),
        json!({"type": "relationship", "relationship_type": "targets",
               "source_ref": "incident--9b0a7c6e-1d2f-4e3a-8b5c-6d7e8f9a0b1c", "target_ref": "identity--missing"}),
    ];
    assert!(Facts::from_stix(&odd, None).is_ok());
}

#[test]
fn criteria_follow_kleene_logic() {
    use geneva_norms::Expr;
    let mut facts = Facts::default();
    facts
        .set("effect.espionage", FactValue::YesNo(true))
        .unwrap();
    let eval = |text: &str, facts: &Facts| Expr::parse(text).unwrap().eval(facts);
    assert_eq!(
        eval("effect.espionage or effect.destruction", &facts),
        Truth::True
    );
    assert_eq!(
        eval("effect.espionage and effect.destruction", &facts),
        Truth::Unknown
    );
    assert_eq!(
        eval("not effect.espionage and effect.destruction", &facts),
        Truth::False
    );
    assert_eq!(eval("scale.countries >= 2", &facts), Truth::Unknown);
    facts.set("scale.countries", FactValue::Count(2)).unwrap();
    assert_eq!(
        eval("scale.countries >= 2 and scale.countries < 3", &facts),
        Truth::True
    );
    assert_eq!(
        eval("scale.countries > 2 or scale.countries = 1", &facts),
        Truth::False
    );
    assert!(Expr::parse("effect.espionage ! x").is_err());
    assert!(Expr::parse("").is_err());
    for hostile in [
        "(".repeat(10_000),
        "not ".repeat(10_000) + "effect.espionage",
    ] {
        let err = Expr::parse(&hostile).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{}", err.message);
    }
}

#[test]
fn incident_core_impacts_are_read_where_they_fit() {
    let core = geneva_norms::facts::INCIDENT_CORE_EXTENSION;
    let mut subject = incident(json!({"extension_type": "property-extension"}));
    subject["extensions"][core] = json!({"extension_type": "property-extension",
        "impact_refs": ["impact--1", "impact--2", "impact--3", "impact--missing"]});
    let objects = vec![
        subject.clone(),
        json!({"type": "impact", "id": "impact--1", "impact_category": "availability"}),
        json!({"type": "impact", "id": "impact--2", "impact_category": "physical"}),
        json!({"type": "impact", "id": "impact--3", "impact_category": "integrity"}),
    ];
    let facts = Facts::from_stix(&objects, None).unwrap();
    assert_eq!(facts.truth("effect.disruption"), Truth::True);
    assert_eq!(facts.truth("scale.physical-effects"), Truth::True);
    assert_eq!(facts.truth("effect.data-theft"), Truth::Unknown);
    subject["extensions"][core]["impact_refs"] = json!("impact--1");
    let err = Facts::from_stix(&[subject], None).unwrap_err().to_string();
    assert!(err.contains("impact_refs"), "{err}");
}
