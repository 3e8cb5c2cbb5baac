//! `geneva norms list|show ID` (the convention's norms as shipped) and
//! `geneva assess FILE|--incident ID` (the verdict on every norm that
//! applies to an incident).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use geneva_analysis::assessment::{self, FromAttribution};
use geneva_norms::{Assessment, Catalogue, Facts, Verdict};
use serde_json::{Value, json};

use super::attribution::{Incident, attribution_of, incident_objects};
use super::{display_name, open_store};

#[derive(Debug, clap::Subcommand)]
pub enum NormsCommand {
    /// Every norm: id, title, source and whether incidents are assessed against it.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One norm in full: summary, source, article and criteria.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AssessArgs {
    /// A STIX 2.1 bundle describing one incident or campaign (`-` for stdin).
    #[arg(required_unless_present = "incident", conflicts_with = "incident")]
    file: Option<PathBuf>,
    /// A stored incident or campaign instead.
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    /// Which incident or campaign, when the bundle holds several.
    #[arg(long)]
    subject: Option<String>,
    /// When the incident does not say who acted, attribute it against this
    /// ATT&CK bundle (default: the imported knowledge base, if any).
    #[arg(long)]
    kb: Option<PathBuf>,
    /// Assess only what the incident states; never attribute.
    #[arg(long)]
    no_attribution: bool,
    #[arg(long)]
    json: bool,
}

fn norm_json(catalogue: &Catalogue, norm: &geneva_norms::Norm) -> Value {
    let source = &catalogue.sources[&norm.source];
    json!({
        "id": norm.id, "title": norm.title, "summary": norm.summary,
        "source": {"id": norm.source, "title": source.title, "url": source.url},
        "article": norm.article, "binds": norm.binds, "applies": norm.applies,
        "breach": norm.breach, "at_all_times": norm.at_all_times, "policy": norm.policy,
        "reads": norm.reads(),
    })
}

pub fn norms(command: NormsCommand) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::shipped();
    match command {
        NormsCommand::List { json } => {
            if json {
                let list: Vec<Value> = catalogue
                    .norms
                    .iter()
                    .map(|n| norm_json(&catalogue, n))
                    .collect();
                println!("{}", json!({"version": catalogue.version, "norms": list}));
            } else {
                println!(
                    "catalogue {} ({} norms)",
                    catalogue.version,
                    catalogue.norms.len()
                );
                for n in &catalogue.norms {
                    println!(
                        "{:<14} {:<9} {} [{}]",
                        n.id,
                        if n.breach.is_some() {
                            "assessed"
                        } else {
                            "policy"
                        },
                        n.title,
                        n.article
                    );
                }
            }
        }
        NormsCommand::Show { id, json } => {
            let Some(norm) = catalogue.norm(&id) else {
                bail!("no norm {id:?}; `geneva norms list` shows them all");
            };
            if json {
                println!("{}", norm_json(&catalogue, norm));
            } else {
                let source = &catalogue.sources[&norm.source];
                println!("{}: {}", norm.id, norm.title);
                println!("{}", norm.summary);
                println!("source: {}, {}", source.title, norm.article);
                if let Some(url) = &source.url {
                    println!("        {url}");
                }
                println!(
                    "binds: {}{}",
                    match norm.binds {
                        geneva_norms::Binds::States => "states",
                        geneva_norms::Binds::HostStates =>
                            "states, for non-state actors on their territory",
                        geneva_norms::Binds::Companies => "signatory companies",
                    },
                    if norm.at_all_times {
                        ", in peace and in armed conflict"
                    } else {
                        ", in peacetime"
                    }
                );
                match (&norm.breach, &norm.policy) {
                    (Some(breach), _) => {
                        if let Some(applies) = &norm.applies {
                            println!("applies when: {applies}");
                        }
                        println!("breached when: {breach}");
                        let reads: Vec<String> = norm.reads().into_iter().collect();
                        println!("reads: {}", reads.join(", "));
                    }
                    (None, Some(policy)) => println!("not assessed per incident: {policy}"),
                    (None, None) => {}
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn assess(data: &super::StoreLocation, args: AssessArgs) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::shipped();
    let (objects, subject, name) = match (&args.file, &args.incident) {
        (_, Some(id)) => {
            let store = open_store(data, false).await?;
            let Some(objects) = geneva_analysis::attribution::stored_objects(
                store.as_ref(),
                &geneva_store::Viewer::Operator,
                id,
            )
            .await?
            else {
                bail!("no object with id {id:?}");
            };
            store
                .audit(vec![geneva_store::NewAuditEntry {
                    at: geneva_stix::timestamp::now_rfc3339(),
                    actor: super::members::cli_actor(),
                    action: "assess".into(),
                    channel: "cli".into(),
                    target: Some(id.clone()),
                    detail: format!("catalogue {}", catalogue.version),
                }])
                .await?;
            (objects, Some(id.clone()), id.clone())
        }
        (Some(file), None) => (
            incident_objects(file)?,
            args.subject.clone(),
            display_name(file),
        ),
        (None, None) => bail!("name an incident file or --incident ID"),
    };
    let mut facts = Facts::from_stix(&objects, subject.as_deref()).with_context(|| name.clone())?;
    let subject_id = match &subject {
        Some(s) => s.clone(),
        None => objects
            .iter()
            .find(|o| o["type"] == "incident" || o["type"] == "campaign")
            .and_then(|o| o["id"].as_str())
            .unwrap_or_default()
            .to_owned(),
    };
    let attribution = if args.no_attribution || assessment::says_who_acted(&facts) {
        None
    } else {
        let attributor = match &args.kb {
            Some(_) => super::attribution::attributor_for(data, args.kb.as_deref()).await?,
            // No store yet: nothing imported to attribute with. A store
            // whose knowledge base cannot be read is an error.
            None => match open_store(data, false).await {
                Ok(store) => geneva_analysis::knowledge::attributor(store.as_ref()).await?,
                Err(_) => None,
            },
        };
        match attributor {
            Some(attributor) => {
                let incident = match &args.incident {
                    Some(id) => Incident::Stored(id),
                    None => Incident::Bundle {
                        name: &name,
                        objects: &objects,
                        subject: subject.as_deref(),
                        without_store: args.kb.is_some(),
                    },
                };
                Some(attribution_of(data, &attributor, incident).await?)
            }
            None => None,
        }
    };
    let (from_attribution, attribution_note) = if args.no_attribution {
        (None, None)
    } else {
        assessment::complete(&mut facts, attribution.as_ref())
    };
    let result = geneva_norms::assess(&catalogue, &facts);
    if args.json {
        let mut report = assessment::report(
            &catalogue,
            &subject_id,
            &facts,
            &result,
            from_attribution.as_ref(),
        );
        report["attribution_note"] = json!(attribution_note);
        println!("{report}");
    } else {
        print_assessment(
            &catalogue,
            &subject_id,
            &facts,
            &result,
            from_attribution.as_ref(),
            attribution_note.as_deref(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_assessment(
    catalogue: &Catalogue,
    subject: &str,
    facts: &Facts,
    result: &Assessment,
    from: Option<&FromAttribution>,
    note: Option<&str>,
) {
    println!("{subject} against catalogue {}", catalogue.version);
    match (from, &facts.attributed_state) {
        (Some(f), _) => println!(
            "who acted, from attribution: {} ({}, {:.0}%), suspected sponsor {}, {} confidence",
            f.actor,
            f.likelihood,
            f.probability * 100.0,
            f.sponsor,
            f.confidence
        ),
        (None, Some(state)) => println!(
            "attributed state: {state} ({} confidence)",
            facts.choice("attribution.confidence").unwrap_or("unstated")
        ),
        (None, None) => {}
    }
    if let Some(note) = note {
        println!("{note}");
    }
    let i = &result.intensity;
    let parts: Vec<String> = i
        .parts
        .iter()
        .map(|p| format!("{} +{}", p.factor, p.points))
        .collect();
    println!(
        "intensity {}/{} ({}){}{}",
        i.score,
        i.max,
        i.band,
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        },
        if i.unknown.is_empty() {
            String::new()
        } else {
            format!("; at least, as {} unknown", i.unknown.join(", "))
        }
    );
    if result.norms.is_empty() {
        println!(
            "\nno norm of the catalogue applies (who acted, or when, puts it outside them all)"
        );
    }
    for verdict in [
        Verdict::Breach,
        Verdict::LikelyBreach,
        Verdict::CannotAssess,
        Verdict::NoBreach,
    ] {
        let these: Vec<_> = result
            .norms
            .iter()
            .filter(|a| a.verdict == verdict)
            .collect();
        if these.is_empty() {
            continue;
        }
        println!("\n{} ({}):", verdict.as_str().to_uppercase(), these.len());
        for a in these {
            println!("  {:<14} {} [{}]", a.norm, a.title, a.article);
            if verdict != Verdict::NoBreach {
                println!("                 rests on: {}", a.rests_on.join(", "));
            }
            if !a.would_change.is_empty() {
                println!(
                    "                 would change it: {}",
                    a.would_change.join(", ")
                );
            }
        }
    }
}
