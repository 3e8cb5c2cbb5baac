//! `geneva case open|assign|note|draft|move|vote|release|publish|show|list`:
//! the panel's work on a case, kept as one document per case in the store
//! (every write names the revision it read), with the rules of
//! `geneva-panel`. Votes are STIX opinions stored (and so logged) as the
//! voter's organisation's submissions; a published finding is stored as
//! TLP:CLEAR objects of the instance and joins the transparency log.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use geneva_panel::{
    Case, CaseFile, Disclosure, DraftFinding, DraftSpec, EvidenceItem, Member, NormVerdict,
    Opinion, Parties, Published, Status, Vote, compose_finding,
};
use geneva_store::{Provenance, Recipients, Store, Viewer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

async fn load(store: &dyn Store, id: &str) -> anyhow::Result<(CaseFile, u64)> {
    let Some(record) = store.case(id).await? else {
        bail!("no case {id:?}; `geneva case list` shows them");
    };
    let file: CaseFile = serde_json::from_str(&record.document)
        .with_context(|| format!("case {id} is stored in a form this Geneva cannot read"))?;
    Ok((file, record.revision))
}

async fn save(store: &dyn Store, file: &CaseFile, revision: Option<u64>) -> anyhow::Result<u64> {
    Ok(store
        .put_case(&file.case.id, &serde_json::to_string(file)?, revision)
        .await?)
}

async fn audit(store: &dyn Store, action: &str, case: &str, detail: String) -> anyhow::Result<()> {
    store
        .audit(vec![geneva_store::NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: super::members::cli_actor(),
            action: action.into(),
            channel: "cli".into(),
            target: Some(case.to_owned()),
            detail,
        }])
        .await?;
    Ok(())
}

/// A STIX id derived from what it names, so a retried step makes the same one.
fn derived_id(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let b = h.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    format!("{kind}--{}", uuid::Uuid::from_bytes(u))
}

async fn member(store: &dyn Store, user: &str) -> anyhow::Result<Member> {
    let Some(u) = store.user(user).await? else {
        bail!("no user {user:?} (geneva user add)");
    };
    let Some(org) = store.organisation_by_id(u.organisation).await? else {
        bail!("user {user} belongs to no organisation");
    };
    Ok(Member {
        id: u.name,
        organisation: org.name,
        country: org.country.map(|c| c.as_str().to_owned()),
    })
}

/// A stored subject's objects and facts, as the operator sees them.
async fn subject_facts(
    store: &dyn Store,
    id: &str,
) -> anyhow::Result<Option<(Vec<Value>, geneva_norms::Facts)>> {
    let Some(objects) =
        geneva_analysis::attribution::stored_objects(store, &Viewer::Operator, id).await?
    else {
        return Ok(None);
    };
    let facts =
        geneva_norms::Facts::from_stix(&objects, Some(id)).with_context(|| id.to_owned())?;
    Ok(Some((objects, facts)))
}

pub async fn run(data: &super::StoreLocation, command: CaseCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let now = geneva_stix::timestamp::now_rfc3339();
    match command {
        CaseCommand::Open {
            title,
            subjects,
            sponsors,
            corrects,
            retracts,
            json,
        } => {
            let supersedes = match (corrects, retracts) {
                (Some(report), _) => Some((report, false)),
                (None, Some(report)) => Some((report, true)),
                (None, None) => None,
            };
            if let Some((report, _)) = &supersedes {
                let mut found = false;
                for record in store.cases().await? {
                    let file: CaseFile = serde_json::from_str(&record.document)?;
                    found |= file.published.is_some_and(|p| &p.report == report);
                }
                if !found {
                    bail!(
                        "{report} is not a published finding; only findings are corrected or retracted"
                    );
                }
            }
            let mut parties = Parties::default();
            for s in &sponsors {
                parties.suspected_sponsors.insert(s.to_ascii_uppercase());
            }
            for id in &subjects {
                let Some((objects, facts)) = subject_facts(store.as_ref(), id).await? else {
                    bail!("no incident or campaign {id:?} in the store");
                };
                parties
                    .victim_countries
                    .extend(facts.victim_countries.iter().cloned());
                if let Some(state) = &facts.attributed_state {
                    parties
                        .suspected_sponsors
                        .insert(state.to_ascii_uppercase());
                }
                for o in &objects {
                    if o["type"] == "identity"
                        && o["identity_class"] == "organization"
                        && let Some(name) = o["name"].as_str()
                    {
                        parties.victim_organisations.insert(name.to_owned());
                    }
                }
            }
            let existing = store.cases().await?.len();
            let id = format!("case-{}", existing + 1);
            let case = Case::open(&id, &title, subjects)?;
            let mut file = CaseFile::new(case, parties);
            file.supersedes = supersedes
                .map(|(report, retraction)| geneva_panel::Supersedes { report, retraction });
            save(store.as_ref(), &file, None).await?;
            audit(store.as_ref(), "case-open", &id, title).await?;
            if json {
                println!("{}", json!({"case": id, "parties": file.parties}));
            } else {
                println!("opened {id}");
            }
        }
        CaseCommand::Assign { case, users } => {
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            let mut members = Vec::new();
            for u in &users {
                members.push(member(store.as_ref(), u).await?);
            }
            file.assign(members)?;
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(store.as_ref(), "case-assign", &case, users.join(",")).await?;
            println!("{} members", file.members.len());
            for r in &file.recusals {
                println!("recused: {} ({})", r.member, r.reason);
            }
        }
        CaseCommand::Examine { case } => {
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            let catalogue = geneva_norms::Catalogue::shipped();
            let attributor = geneva_analysis::knowledge::attributor(store.as_ref()).await?;
            let mut analyses = Vec::new();
            for id in file.case.subjects.clone() {
                let Some((_, mut facts)) = subject_facts(store.as_ref(), &id).await? else {
                    bail!("subject {id} is no longer in the store");
                };
                let attribution = match &attributor {
                    Some(a) => Some(
                        super::attribution::attribution_of(
                            data,
                            a,
                            super::attribution::Incident::Stored(&id),
                        )
                        .await?,
                    ),
                    None => None,
                };
                let (from, note) =
                    geneva_analysis::assessment::complete(&mut facts, attribution.as_ref());
                let assessment = geneva_norms::assess(&catalogue, &facts);
                let mut report = geneva_analysis::assessment::report(
                    &catalogue,
                    &id,
                    &facts,
                    &assessment,
                    from.as_ref(),
                );
                report["attribution_note"] = json!(note);
                analyses.push(json!({
                    "subject": id,
                    "at": now,
                    "attribution": attribution.map(|a| a.report()),
                    "assessment": report,
                }));
            }
            file.analyses = analyses;
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(
                store.as_ref(),
                "case-examine",
                &case,
                format!("{} subjects", file.analyses.len()),
            )
            .await?;
            println!("{} subjects examined", file.analyses.len());
        }
        CaseCommand::Note { case, user, text } => {
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            file.note(&user, &now, &text)?;
            save(store.as_ref(), &file, Some(revision)).await?;
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
            if !(0.0..=1.0).contains(&probability) {
                bail!("--probability is between 0 and 1");
            }
            if !["low", "moderate", "high"].contains(&confidence.as_str()) {
                bail!("--confidence is low, moderate or high");
            }
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            let catalogue = geneva_norms::Catalogue::shipped();
            let norms = if norms.is_empty() {
                let mut found = Vec::new();
                for id in &file.case.subjects {
                    let Some((_, facts)) = subject_facts(store.as_ref(), id).await? else {
                        continue;
                    };
                    for a in geneva_norms::assess(&catalogue, &facts).norms {
                        if matches!(
                            a.verdict,
                            geneva_norms::Verdict::Breach | geneva_norms::Verdict::LikelyBreach
                        ) && !found.iter().any(|n: &NormVerdict| n.norm == a.norm)
                        {
                            found.push(NormVerdict {
                                norm: a.norm,
                                title: a.title,
                                verdict: a.verdict.as_str().to_owned(),
                            });
                        }
                    }
                }
                found
            } else {
                let mut given = Vec::new();
                for n in &norms {
                    let Some((id, verdict)) = n.split_once('=') else {
                        bail!("--norm {n:?}: write ID=VERDICT");
                    };
                    let Some(norm) = catalogue.norm(id) else {
                        bail!("--norm {n:?}: no norm {id} (geneva norms list)");
                    };
                    if geneva_norms::Verdict::parse(verdict).is_none() {
                        bail!(
                            "--norm {n:?}: the verdict is breach, likely breach, no breach or cannot assess"
                        );
                    }
                    given.push(NormVerdict {
                        norm: norm.id.clone(),
                        title: norm.title.clone(),
                        verdict: verdict.to_owned(),
                    });
                }
                given
            };
            let report_id = derived_id("report", &[&case, "draft", &now]);
            file.set_draft(DraftSpec {
                report_id,
                title,
                actor: actor.zip(actor_name),
                sponsor_state: sponsor.map(|s| s.to_ascii_uppercase()),
                likelihood: geneva_attribution::likelihood_term(probability).to_owned(),
                probability,
                confidence,
                norms,
            })?;
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(store.as_ref(), "case-draft", &case, "draft set".into()).await?;
        }
        CaseCommand::Move {
            case,
            status,
            by,
            reason,
        } => {
            let to = match status.as_str() {
                "analysis" => Status::Analysis,
                "review" => Status::Review,
                "vote" => Status::Vote,
                "closed" => Status::Closed,
                "published" => bail!("publish with `geneva case publish {case}`"),
                other => bail!("no status {other:?}: analysis, review, vote or closed"),
            };
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            file.transition(to, &by, &now, reason)?;
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(store.as_ref(), "case-move", &case, to.as_str().into()).await?;
            println!("{case} is {}", to.as_str());
        }
        CaseCommand::Vote {
            case,
            user,
            opinion,
            explanation,
        } => {
            let Some(opinion) = Opinion::parse(&opinion) else {
                bail!(
                    "no opinion {opinion:?}: strongly-disagree, disagree, neutral, agree or strongly-agree"
                );
            };
            let voter = member(store.as_ref(), &user).await?;
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            let vote = Vote {
                member: user.clone(),
                opinion,
                explanation,
                at: now.clone(),
            };
            file.vote(vote.clone())?;
            let draft = file.draft.as_ref().expect("a vote needs a draft");
            let identity = derived_id("identity", &["panel-member", &user]);
            let opinion_id = derived_id("opinion", &[&case, &draft.report_id, &user]);
            let objects = vec![
                json!({"type": "identity", "spec_version": "2.1", "id": identity,
                       "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                       "name": user, "identity_class": "individual"}),
                vote.to_stix(&opinion_id, &identity, &draft.report_id),
            ];
            // The vote is recorded before it is stored: a refused vote stores nothing.
            save(store.as_ref(), &file, Some(revision)).await?;
            let org = store.organisation(&voter.organisation).await?;
            store_objects(
                data,
                &store,
                objects,
                Provenance {
                    organisation: voter.organisation.clone(),
                    organisation_id: org.map(|o| o.id),
                    submitted_at: now.clone(),
                    default_tlp: geneva_stix::Tlp::Amber,
                    recipients: Recipients::default(),
                },
            )
            .await?;
            audit(
                store.as_ref(),
                "case-vote",
                &case,
                format!("{user}: {}", opinion.as_str()),
            )
            .await?;
            println!("{}", file.tally().sentence());
        }
        CaseCommand::Release { case, id } => {
            let (mut file, revision) = load(store.as_ref(), &case).await?;
            if !file.released.contains(&id) {
                file.released.push(id.clone());
            }
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(store.as_ref(), "case-release", &case, id).await?;
        }
        CaseCommand::Publish { case, json } => {
            let (mut file, mut revision) = load(store.as_ref(), &case).await?;
            if let Some(p) = &file.published {
                // Idempotent: publishing again tells what was published.
                print_published(&case, p, json);
                return Ok(ExitCode::SUCCESS);
            }
            if file.case.status != Status::Vote {
                bail!(
                    "{case} is {}: a finding is published after a vote",
                    file.case.status.as_str()
                );
            }
            let tally = file.tally();
            if !tally.carried {
                bail!("the vote did not carry: {}", tally.sentence());
            }
            let at = match &file.publishing_at {
                Some(at) => at.clone(),
                None => {
                    file.publishing_at = Some(now.clone());
                    revision = save(store.as_ref(), &file, Some(revision)).await?;
                    now.clone()
                }
            };
            let draft = file.draft.clone().expect("a carried vote has a draft");
            let mut subjects = Vec::new();
            for id in &file.case.subjects {
                let version = store.get(id, &Viewer::Operator).await?;
                let tlp = version.map(|v| v.tlp).unwrap_or(geneva_stix::Tlp::Red);
                subjects.push(EvidenceItem {
                    id: id.clone(),
                    summary: String::new(),
                    disclosure: Disclosure {
                        tlp,
                        released: file.released.contains(id),
                    },
                });
            }
            let finding = DraftFinding {
                case_id: case.clone(),
                title: draft.title.clone(),
                subjects,
                actor: draft.actor.clone(),
                sponsor_state: draft.sponsor_state.clone(),
                likelihood: draft.likelihood.clone(),
                probability: draft.probability,
                confidence: draft.confidence.clone(),
                norms: draft.norms.clone(),
                evidence: Vec::new(),
                supersedes: file.supersedes.clone(),
            };
            let body = derived_id("identity", &["geneva-body"]);
            let mut n = 0;
            let mut objects = compose_finding(&finding, &tally, &body, &at, |kind| {
                n += 1;
                if kind == "report" {
                    draft.report_id.clone()
                } else {
                    derived_id(kind, &[&case, &draft.report_id, &n.to_string()])
                }
            })?;
            objects.insert(
                0,
                json!({"type": "identity", "spec_version": "2.1", "id": body,
                       "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                       "name": "Digital Geneva Convention attribution panel", "identity_class": "organization",
                       "object_marking_refs": [geneva_stix::Tlp::Clear.marking_id()]}),
            );
            let ids: Vec<String> = objects
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect();
            store_objects(
                data,
                &store,
                objects,
                Provenance {
                    organisation: "local".into(),
                    organisation_id: None,
                    submitted_at: at.clone(),
                    default_tlp: geneva_stix::Tlp::Clear,
                    recipients: Recipients::default(),
                },
            )
            .await?;
            let published = Published {
                at: at.clone(),
                report: draft.report_id.clone(),
                objects: ids,
            };
            file.transition(Status::Published, "operator", &at, None)?;
            file.published = Some(published.clone());
            save(store.as_ref(), &file, Some(revision)).await?;
            audit(
                store.as_ref(),
                "case-publish",
                &case,
                draft.report_id.clone(),
            )
            .await?;
            print_published(&case, &published, json);
        }
        CaseCommand::Show { case, json } => {
            let (file, revision) = load(store.as_ref(), &case).await?;
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
async fn store_objects(
    data: &super::StoreLocation,
    store: &Arc<dyn Store>,
    objects: Vec<Value>,
    provenance: Provenance,
) -> anyhow::Result<()> {
    let bundle = json!({"type": "bundle", "id": derived_id("bundle", &[&provenance.submitted_at]), "objects": objects});
    let prepared = geneva_stix::prepare(
        &serde_json::to_vec(&bundle)?,
        &geneva_stix::PrepareOptions::default(),
    )
    .map_err(|e| anyhow::anyhow!("the panel's objects are not valid STIX: {e:?}"))?;
    let log = super::log::open_log(data, Arc::clone(store), true).await?;
    store.import(prepared.objects, provenance).await?;
    super::log::integrate_or_explain(&log, true).await?;
    Ok(())
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
