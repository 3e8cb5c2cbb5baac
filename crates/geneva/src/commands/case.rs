//! `geneva case open|assign|note|examine|draft|move|vote|release|publish|show|list`:
//! the panel's work on a case (`geneva_analysis::cases`, the same steps as
//! `/api/v1/cases`), with the rules of `geneva-panel`. Votes are STIX
//! opinions stored (and so logged) as the voter's organisation's
//! submissions; a published finding is stored as TLP:CLEAR objects of the
//! instance and joins the transparency log.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use geneva_analysis::cases::{self, NewCase, NewDraft, Publication, ToStore, Who};
use geneva_panel::{CaseFile, Published, Supersedes};
use geneva_store::{Store, Viewer};
use serde_json::{Value, json};

use super::open_store;

#[derive(Debug, clap::Subcommand)]
pub enum CaseCommand {
    /// Open a case on stored incidents or campaigns.
    Open {
        #[arg(long)]
        title: String,
        /// The incidents or campaigns examined (STIX ids).
        #[arg(required = true)]
        subjects: Vec<String>,
        /// A suspected sponsor state of a candidate actor (ISO 3166 code); repeat.
        #[arg(long = "sponsor")]
        sponsors: Vec<String>,
        /// Votes needed for a vote to count.
        #[arg(long, default_value_t = 5)]
        quorum: usize,
        /// Share of the votes cast needed in favour, as a fraction.
        #[arg(long, default_value = "2/3")]
        majority: String,
        /// Conflicts that do not recuse here: victim-country,
        /// victim-organisation or suspected-sponsor (repeat).
        #[arg(long = "allow-conflict", value_name = "RULE")]
        allow_conflicts: Vec<String>,
        /// This case's finding will correct an earlier one (its report id).
        #[arg(long, value_name = "REPORT", conflicts_with = "retracts")]
        corrects: Option<String>,
        /// This case's finding will retract an earlier one (its report id).
        #[arg(long, value_name = "REPORT")]
        retracts: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Attach the attribution (hypotheses, ACH matrix) and the norm
    /// assessment of each subject, as they stand now.
    Examine { case: String },
    /// Assign panel members (users); members with a conflict are recused.
    Assign {
        case: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Add a note to the case.
    Note {
        case: String,
        #[arg(long = "as", value_name = "USER")]
        user: String,
        text: String,
    },
    /// Set the draft finding put to the vote (votes on an earlier draft are void).
    Draft {
        case: String,
        #[arg(long)]
        title: String,
        /// The attributed actor's STIX id (threat-actor or intrusion-set).
        #[arg(long, requires = "actor_name")]
        actor: Option<String>,
        #[arg(long)]
        actor_name: Option<String>,
        /// The sponsor state (ISO 3166 code).
        #[arg(long)]
        sponsor: Option<String>,
        /// Probability of the attribution, 0 to 1 (its ICD 203 term follows).
        #[arg(long)]
        probability: f64,
        /// Confidence level: low, moderate or high.
        #[arg(long)]
        confidence: String,
        /// A norm verdict, `ID=VERDICT` (e.g. gge-2015-f=breach); default:
        /// the breaches and likely breaches of the subjects' assessments.
        #[arg(long = "norm")]
        norms: Vec<String>,
    },
    /// Move the case: analysis, review, vote, published (use publish), closed.
    Move {
        case: String,
        status: String,
        #[arg(long = "as", value_name = "USER", default_value = "operator")]
        by: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Vote on the draft: strongly-disagree, disagree, neutral, agree, strongly-agree.
    Vote {
        case: String,
        #[arg(long = "as", value_name = "USER")]
        user: String,
        opinion: String,
        /// Reasons (required to vote against: dissents are published).
        #[arg(long)]
        explanation: Option<String>,
    },
    /// Record that an item's owner released it for publication.
    Release { case: String, id: String },
    /// Publish the finding of a carried vote: stored as TLP:CLEAR objects and logged.
    Publish {
        case: String,
        #[arg(long)]
        json: bool,
    },
    Show {
        case: String,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

fn who(name: &str) -> Who {
    Who {
        name: name.to_owned(),
        actor: super::members::cli_actor(),
        channel: "cli",
    }
}

pub async fn run(data: &super::StoreLocation, command: CaseCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let now = geneva_stix::timestamp::now_rfc3339();
    let operator = who("operator");
    match command {
        CaseCommand::Open {
            title,
            subjects,
            sponsors,
            corrects,
            retracts,
            quorum,
            majority,
            allow_conflicts,
            json,
        } => {
            let supersedes = Supersedes::from_choice(corrects, retracts);
            let Some((num, den)) = majority
                .split_once('/')
                .and_then(|(n, d)| Some((n.trim().parse().ok()?, d.trim().parse().ok()?)))
            else {
                bail!("--majority {majority:?}: write a fraction such as 2/3");
            };
            let mut conflicts = geneva_panel::ConflictRules::default();
            for rule in &allow_conflicts {
                match rule.as_str() {
                    "victim-country" => conflicts.victim_country = false,
                    "victim-organisation" => conflicts.victim_organisation = false,
                    "suspected-sponsor" => conflicts.suspected_sponsor = false,
                    other => bail!(
                        "--allow-conflict {other:?}: victim-country, victim-organisation or suspected-sponsor"
                    ),
                }
            }
            let file = cases::open(
                store.as_ref(),
                &Viewer::Operator,
                &operator,
                NewCase {
                    title,
                    subjects,
                    sponsors,
                    supersedes,
                    voting: Some(geneva_panel::VotingRules {
                        quorum,
                        majority: (num, den),
                    }),
                    conflicts: Some(conflicts),
                },
            )
            .await?;
            if json {
                println!("{}", json!({"case": file.case.id, "parties": file.parties}));
            } else {
                println!("opened {}", file.case.id);
            }
        }
        CaseCommand::Assign { case, users } => {
            let file = cases::assign(store.as_ref(), &operator, &case, &users).await?;
            println!("{} members", file.members.len());
            for r in &file.recusals {
                println!("recused: {} ({})", r.member, r.reason);
            }
        }
        CaseCommand::Examine { case } => {
            let (file, _) = cases::load(store.as_ref(), &case).await?;
            let catalogue = geneva_norms::Catalogue::shipped();
            let attributor = geneva_analysis::knowledge::attributor(store.as_ref()).await?;
            let mut analyses = Vec::new();
            for id in &file.case.subjects {
                let Some((_, facts)) = cases::subject_facts(store.as_ref(), id).await? else {
                    bail!("subject {id} is no longer in the store");
                };
                let attribution = match &attributor {
                    Some(a) => Some(
                        super::attribution::attribution_of(
                            data,
                            a,
                            super::attribution::Incident::Stored(id),
                        )
                        .await?,
                    ),
                    None => None,
                };
                analyses.push(cases::analysis(
                    &catalogue,
                    id,
                    facts,
                    attribution.as_ref(),
                    &now,
                ));
            }
            let file = cases::attach_analyses(store.as_ref(), &operator, &case, analyses).await?;
            println!("{} subjects examined", file.analyses.len());
        }
        CaseCommand::Note { case, user, text } => {
            cases::note(store.as_ref(), &who(&user), &case, &text, &now).await?;
        }
        CaseCommand::Draft {
            case,
            title,
            actor,
            actor_name,
            sponsor,
            probability,
            confidence,
            norms,
        } => {
            let mut pairs = Vec::new();
            for n in &norms {
                let Some((id, verdict)) = n.split_once('=') else {
                    bail!("--norm {n:?}: write ID=VERDICT");
                };
                pairs.push((id.to_owned(), verdict.to_owned()));
            }
            cases::draft(
                store.as_ref(),
                &operator,
                &case,
                NewDraft {
                    title,
                    actor: actor.zip(actor_name),
                    sponsor,
                    probability,
                    confidence,
                    norms: pairs,
                },
                &now,
            )
            .await?;
        }
        CaseCommand::Move {
            case,
            status,
            by,
            reason,
        } => {
            if status == "published" {
                bail!("publish with `geneva case publish {case}`");
            }
            let file =
                cases::transition(store.as_ref(), &who(&by), &case, &status, &now, reason).await?;
            println!("{case} is {}", file.case.status.as_str());
        }
        CaseCommand::Vote {
            case,
            user,
            opinion,
            explanation,
        } => {
            let (file, to_store) = cases::vote(
                store.as_ref(),
                &who(&user),
                &case,
                &user,
                &opinion,
                explanation,
                &now,
            )
            .await?;
            store_objects(data, &store, to_store).await?;
            println!("{}", file.tally().sentence());
        }
        CaseCommand::Release { case, id } => {
            cases::release(store.as_ref(), &operator, &case, &id).await?;
        }
        CaseCommand::Publish { case, json } => {
            let published = publish(data, &store, &operator, &case, &now).await?;
            print_published(&case, &published, json);
        }
        CaseCommand::Show { case, json } => {
            let (file, revision) = cases::load(store.as_ref(), &case).await?;
            if json {
                let mut v = serde_json::to_value(&file)?;
                v["revision"] = json!(revision);
                v["tally"] = serde_json::to_value(file.tally())?;
                println!("{v}");
            } else {
                print_case(&file);
            }
        }
        CaseCommand::List { json } => {
            let mut list = Vec::new();
            for record in store.cases().await? {
                let file: CaseFile = serde_json::from_str(&record.document)?;
                list.push(json!({"case": record.id, "title": file.case.title,
                                 "status": file.case.status.as_str(), "subjects": file.case.subjects}));
            }
            if json {
                println!("{}", Value::Array(list));
            } else {
                for c in list {
                    println!(
                        "{} {} {}",
                        c["case"].as_str().unwrap_or_default(),
                        c["status"].as_str().unwrap_or_default(),
                        c["title"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Stores objects through the import pipeline (validated, all or nothing)
/// and adds them to the transparency log.
pub(crate) async fn store_objects(
    data: &super::StoreLocation,
    store: &Arc<dyn Store>,
    to_store: ToStore,
) -> anyhow::Result<()> {
    let prepared = to_store.prepare()?;
    let log = super::log::open_log(data, Arc::clone(store), true).await?;
    store.import(prepared, to_store.provenance).await?;
    super::log::integrate_or_explain(&log, true).await?;
    Ok(())
}

/// Publishes a case's finding (or tells what was published already).
pub(crate) async fn publish(
    data: &super::StoreLocation,
    store: &Arc<dyn Store>,
    who: &Who,
    case: &str,
    now: &str,
) -> anyhow::Result<Published> {
    Ok(
        match cases::prepare_publication(store.as_ref(), case, now).await? {
            Publication::Done(p) => p,
            Publication::Ready {
                file,
                revision,
                to_store,
                published,
            } => {
                store_objects(data, store, to_store).await?;
                cases::finish_publication(store.as_ref(), who, *file, revision, published.clone())
                    .await?;
                published
            }
        },
    )
}

fn print_published(case: &str, p: &Published, json: bool) {
    if json {
        println!(
            "{}",
            json!({"case": case, "report": p.report, "at": p.at, "objects": p.objects})
        );
    } else {
        println!("{case} published as {} at {}", p.report, p.at);
        println!("prove it: geneva log prove {}", p.report);
    }
}

fn print_case(file: &CaseFile) {
    let c = &file.case;
    println!("{} [{}] {}", c.id, c.status.as_str(), c.title);
    println!("subjects: {}", c.subjects.join(", "));
    for t in &c.history {
        println!(
            "  {} → {} by {} at {}",
            t.from.as_str(),
            t.to.as_str(),
            t.by,
            t.at
        );
    }
    println!(
        "members: {}",
        file.members
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for r in &file.recusals {
        println!("  recused {}: {}", r.member, r.reason);
    }
    for n in &file.notes {
        println!("note by {} at {}: {}", n.by, n.at, n.text);
    }
    if let Some(d) = &file.draft {
        println!(
            "draft {}: {} ({} {:.0}%, {} confidence)",
            d.report_id,
            d.title,
            d.likelihood,
            d.probability * 100.0,
            d.confidence
        );
    }
    println!("{}", file.tally().sentence());
    for d in file.tally().dissents {
        println!(
            "  dissent of {}: {}",
            d.member,
            d.explanation.unwrap_or_default()
        );
    }
}
