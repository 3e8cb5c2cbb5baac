//! Changing one fact changes exactly the verdicts of the norms that read it:
//! never a norm that does not read it, and for every fact a norm reads, some
//! state of the other facts in which changing it moves that norm's verdict.

use geneva_norms::facts::{ACTOR_TYPES, CONFIDENCES, CONTEXTS, FACTS, FactKind};
use geneva_norms::{Catalogue, FactValue, Facts, verdict};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

fn value_strategy(kind: FactKind) -> BoxedStrategy<Option<FactValue>> {
    let known: BoxedStrategy<FactValue> = match kind {
        FactKind::YesNo => any::<bool>().prop_map(FactValue::YesNo).boxed(),
        FactKind::OneOf(values) => proptest::sample::select(values.to_vec())
            .prop_map(|v| FactValue::Choice(v.to_owned()))
            .boxed(),
        FactKind::Count => prop_oneof![
            Just(0u64),
            Just(1),
            Just(2),
            Just(9),
            Just(10),
            Just(49),
            Just(50),
            Just(999),
            Just(1_000),
            Just(99_999),
            Just(100_000),
            0u64..1_000_000
        ]
        .prop_map(FactValue::Count)
        .boxed(),
    };
    proptest::option::weighted(0.75, known).boxed()
}

fn facts_strategy() -> impl Strategy<Value = Facts> {
    let per_fact: Vec<_> = FACTS.iter().map(|(_, k, _)| value_strategy(*k)).collect();
    per_fact.prop_map(|values| {
        let mut facts = Facts::default();
        for ((name, _, _), value) in FACTS.iter().zip(values) {
            if let Some(v) = value {
                facts.set(name, v).unwrap();
            }
        }
        facts
    })
}

fn other_value(kind: FactKind, current: Option<&FactValue>, pick: usize) -> Option<FactValue> {
    let mut options: Vec<Option<FactValue>> = vec![None];
    match kind {
        FactKind::YesNo => {
            options.extend([Some(FactValue::YesNo(false)), Some(FactValue::YesNo(true))])
        }
        FactKind::OneOf(values) => options.extend(
            values
                .iter()
                .map(|v| Some(FactValue::Choice((*v).to_owned()))),
        ),
        FactKind::Count => options.extend(
            [0u64, 1, 2, 10, 50, 1_000, 100_000]
                .into_iter()
                .map(|n| Some(FactValue::Count(n))),
        ),
    }
    options.retain(|o| o.as_ref() != current);
    options[pick % options.len()].clone()
}

fn with(facts: &Facts, name: &str, value: Option<FactValue>) -> Facts {
    let mut changed = facts.clone();
    match value {
        Some(v) => changed.set(name, v).unwrap(),
        None => changed.unset(name),
    }
    changed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn a_fact_moves_only_the_verdicts_of_norms_that_read_it(
        facts in facts_strategy(),
        which in 0..FACTS.len(),
        pick in 0usize..16,
    ) {
        let catalogue = Catalogue::shipped();
        let (name, kind, _) = FACTS[which];
        let changed = with(&facts, name, other_value(kind, facts.get(name), pick));
        for norm in &catalogue.norms {
            if !norm.reads().contains(name) {
                prop_assert_eq!(
                    verdict(norm, &facts),
                    verdict(norm, &changed),
                    "{} moved when {} changed, which it does not read", norm.id, name
                );
            }
        }
    }
}

/// The other half: no norm reads a fact that can never matter to it. For
/// each (norm, fact it reads), a search over states built to give the fact
/// its chance: the frame facts set so the norm is in force, then random
/// states of the rest.
#[test]
fn every_fact_a_norm_reads_can_move_its_verdict() {
    let catalogue = Catalogue::shipped();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = facts_strategy();
    let mut dead = Vec::new();
    for norm in catalogue.norms.iter().filter(|n| n.breach.is_some()) {
        for fact in norm.reads() {
            let kind = geneva_norms::facts::fact_kind(&fact).unwrap();
            let mut moved = false;
            for attempt in 0..3000 {
                let mut facts = strategy.new_tree(&mut runner).unwrap().current();
                // Half the attempts start from a state where the norm's frame holds.
                if attempt % 2 == 0 {
                    let actor = match norm.binds {
                        geneva_norms::Binds::HostStates => "criminal",
                        geneva_norms::Binds::Companies => "private-offensive-company",
                        geneva_norms::Binds::States => ACTOR_TYPES[attempt % 3],
                    };
                    for (n, v) in [
                        ("actor.type", FactValue::Choice(actor.into())),
                        ("context", FactValue::Choice(CONTEXTS[0].into())),
                        (
                            "attribution.confidence",
                            FactValue::Choice(CONFIDENCES[2].into()),
                        ),
                        ("actor.tech-accord-signatory", FactValue::YesNo(true)),
                    ] {
                        if n != fact {
                            facts.set(n, v).unwrap();
                        }
                    }
                }
                let before = verdict(norm, &facts);
                for pick in 0..8 {
                    let changed = with(&facts, &fact, other_value(kind, facts.get(&fact), pick));
                    if verdict(norm, &changed) != before {
                        moved = true;
                        break;
                    }
                }
                if moved {
                    break;
                }
            }
            if !moved {
                dead.push(format!(
                    "{} reads {} but it never moves the verdict",
                    norm.id, fact
                ));
            }
        }
    }
    assert!(dead.is_empty(), "{}", dead.join("\n"));
}
