//! The norm assessment of an incident: its facts read from STIX (a stored
//! incident as one viewer may see it, or a bundle), completed from the
//! attribution when the incident itself does not say who acted, then the
//! verdict on every applicable norm of the catalogue.

use geneva_attribution::Attribution;
use geneva_norms::{Assessment, Catalogue, FactValue, Facts};
use serde::Serialize;
use serde_json::{Value, json};

/// The least probability of the leading candidate for its sponsor to be
/// taken as the attributed state: ICD 203's "likely" (55%).
pub const ATTRIBUTION_THRESHOLD: f64 = 0.55;

/// What the attribution contributed to the facts.
#[derive(Debug, Clone, Serialize)]
pub struct FromAttribution {
    pub actor: String,
    pub sponsor: String,
    pub probability: f64,
    pub likelihood: &'static str,
    pub confidence: &'static str,
}

/// Whether the incident itself says who acted (an actor type, a confidence
/// or an attributed state): then attribution is not consulted.
pub fn says_who_acted(facts: &Facts) -> bool {
    facts.is_known("actor.type")
        || facts.is_known("attribution.confidence")
        || facts.attributed_state.is_some()
}

/// Completes `facts` from `attribution` when the incident does not say who
/// acted, with a note when it could not: no knowledge base (`None`), or no
/// state named.
pub fn complete(
    facts: &mut Facts,
    attribution: Option<&Attribution>,
) -> (Option<FromAttribution>, Option<String>) {
    if says_who_acted(facts) {
        return (None, None);
    }
    let Some(attribution) = attribution else {
        return (
            None,
            Some(
                "the incident does not say who acted and no knowledge base is imported to attribute it"
                    .to_owned(),
            ),
        );
    };
    match complete_with_attribution(facts, attribution) {
        Some(from) => (Some(from), None),
        None => (
            None,
            Some(format!(
                "attribution named no state: {}",
                attribution.likelihood_sentence()
            )),
        ),
    }
}

/// Who acted, from an attribution, when the incident says nothing of it:
/// the leading candidate, if it is at least likely and has a suspected
/// state sponsor, makes the actor state-affiliated, the sponsor the
/// attributed state and the attribution's confidence level the
/// confidence. What the incident states is never overridden.
pub fn complete_with_attribution(
    facts: &mut Facts,
    attribution: &Attribution,
) -> Option<FromAttribution> {
    if says_who_acted(facts) {
        return None;
    }
    let leader = attribution.candidates.first()?;
    let sponsor = leader.sponsor.clone()?;
    if leader.probability < ATTRIBUTION_THRESHOLD {
        return None;
    }
    let confidence = attribution.confidence.level.as_str();
    // Both values are of their facts' kinds.
    let _ = facts.set(
        "actor.type",
        FactValue::Choice("state-affiliated".to_owned()),
    );
    let _ = facts.set(
        "attribution.confidence",
        FactValue::Choice(confidence.to_owned()),
    );
    facts.attributed_state = Some(sponsor.clone());
    Some(FromAttribution {
        actor: leader.actor.clone(),
        sponsor,
        probability: leader.probability,
        likelihood: leader.likelihood,
        confidence,
    })
}

/// The assessment as the API and `geneva assess --json` give it: the
/// verdicts, the facts they were read from, and what attribution added.
pub fn report(
    catalogue: &Catalogue,
    subject: &str,
    facts: &Facts,
    assessment: &Assessment,
    from_attribution: Option<&FromAttribution>,
) -> Value {
    let known: serde_json::Map<String, Value> = facts
        .known()
        .map(|(name, value)| {
            let v = match value {
                FactValue::YesNo(b) => json!(b),
                FactValue::Choice(c) => json!(c),
                FactValue::Count(n) => json!(n),
            };
            (name.clone(), v)
        })
        .collect();
    let norms: Vec<Value> = assessment
        .norms
        .iter()
        .map(|a| {
            let source = catalogue
                .sources
                .get(&a.source)
                .map(|s| s.title.clone())
                .unwrap_or_default();
            json!({
                "norm": a.norm, "title": a.title, "source": source, "article": a.article,
                "verdict": a.verdict.as_str(), "rests_on": a.rests_on,
                "would_change": a.would_change,
            })
        })
        .collect();
    json!({
        "subject": subject,
        "catalogue_version": assessment.catalogue_version,
        "attributed_state": facts.attributed_state,
        "from_attribution": from_attribution,
        "facts": known,
        "victim_countries": facts.victim_countries,
        "norms": norms,
        "intensity": assessment.intensity,
    })
}
