//! `geneva kb import|list` (the attribution knowledge base, kept in the
//! store) and `geneva attribute FILE` (rank candidate perpetrators of the
//! incident a STIX bundle describes).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use geneva_analysis::knowledge;
use geneva_attribution::{Attribution, Attributor};
use serde_json::{Value, json};

use super::{display_name, open_store, read_input};

/// Knowledge-base files are large (ATT&CK is 26 MB) but not unbounded.
const KB_LIMIT: u64 = knowledge::MAX_SOURCE_BYTES;
/// An incident bundle to attribute.
const INCIDENT_LIMIT: u64 = 64 << 20;

#[derive(Debug, clap::Subcommand)]
pub enum KbCommand {
    /// Import an ATT&CK STIX bundle or the MISP threat-actor galaxy; a newer
    /// release replaces the one kept.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The kept sources.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AttributeArgs {
    /// A STIX 2.1 bundle describing one incident or campaign (`-` for stdin).
    #[arg(required_unless_present = "incident", conflicts_with = "incident")]
    file: Option<PathBuf>,
    /// A stored incident or campaign instead: what it uses and targets, and the
    /// infrastructure it shares with items already attributed.
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    /// Which incident or campaign, when the bundle holds several.
    #[arg(long)]
    subject: Option<String>,
    /// Attribute against this ATT&CK bundle instead of the imported knowledge
    /// base (and without the store: no shared infrastructure).
    #[arg(long, conflicts_with = "incident")]
    kb: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub async fn kb(data: &super::StoreLocation, command: KbCommand) -> anyhow::Result<ExitCode> {
    match command {
        KbCommand::Import { files, json } => {
            let store = open_store(data, true).await?;
            let mut out = Vec::new();
            for file in files {
                let name = display_name(&file);
                let started = Instant::now();
                let bytes = read_input(&file, KB_LIMIT).with_context(|| name.clone())?;
                let now = geneva_stix::timestamp::now_unix_millis();
                let checked = knowledge::check(bytes, now).with_context(|| name.clone())?;
                let changed = knowledge::keep(store.as_ref(), &checked)
                    .await
                    .with_context(|| name.clone())?;
                let seconds = started.elapsed().as_secs_f64();
                let info = &checked.source.info;
                if !json {
                    println!(
                        "{name}: {} {} ({}), {} actors, {} campaigns{}{} in {seconds:.2} s",
                        info.kind,
                        info.name,
                        info.version.as_deref().unwrap_or("no version"),
                        checked.actors,
                        checked.campaigns,
                        checked.merge.as_ref().map_or(String::new(), |m| format!(
                            " ({} by ATT&CK id, {} by alias, {} new when merged alone)",
                            m.by_attack_id, m.by_alias, m.added
                        )),
                        if changed {
                            "; kept"
                        } else {
                            "; already kept, unchanged"
                        },
                    );
                }
                out.push(json!({
                    "file": name, "kind": info.kind, "name": info.name, "version": info.version,
                    "sha256": info.sha256, "actors": checked.actors, "campaigns": checked.campaigns,
                    "changed": changed, "seconds": seconds,
                }));
            }
            if json {
                println!("{}", Value::Array(out));
            }
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::List { json } => {
            let store = open_store(data, false).await?;
            let sources = store.knowledge_sources().await?;
            if json {
                let list: Vec<Value> = sources
                    .iter()
                    .map(|s| {
                        json!({"kind": s.kind, "name": s.name, "version": s.version,
                               "sha256": s.sha256, "size": s.size, "imported_ms": s.imported_ms})
                    })
                    .collect();
                println!("{}", Value::Array(list));
            } else if sources.is_empty() {
                println!("no knowledge base imported (geneva kb import FILE)");
            } else {
                for s in sources {
                    println!(
                        "{} {} {} {} bytes sha256:{}",
                        s.kind,
                        s.name,
                        s.version.as_deref().unwrap_or("-"),
                        s.size,
                        s.sha256
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The attributor: the ATT&CK bundle named by `kb`, else the knowledge base
/// kept in the store; `None` when there is neither.
pub(crate) async fn attributor_for(
    data: &super::StoreLocation,
    kb: Option<&std::path::Path>,
) -> anyhow::Result<Option<Attributor>> {
    match kb {
        Some(path) => {
            let bytes = read_input(path, KB_LIMIT)
                .and_then(|bytes| Ok(knowledge::source_json(bytes)?))
                .with_context(|| display_name(path))?;
            let kb = geneva_kb::KnowledgeBase::from_attack(&bytes)
                .with_context(|| format!("{} is not an ATT&CK bundle", display_name(path)))?;
            Ok(Some(Attributor::new(kb)))
        }
        None => {
            let store = open_store(data, false).await?;
            Ok(knowledge::attributor(store.as_ref()).await?)
        }
    }
}

/// What an incident is: a stored one, or the objects of a bundle file.
pub(crate) enum Incident<'a> {
    Stored(&'a str),
    Bundle {
        name: &'a str,
        objects: &'a [Value],
        subject: Option<&'a str>,
        /// Attributed against a named knowledge-base file alone: no store,
        /// so no shared infrastructure.
        without_store: bool,
    },
}

/// Reads an incident bundle file into its objects.
pub(crate) fn incident_objects(file: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let name = display_name(file);
    let bytes = read_input(file, INCIDENT_LIMIT).with_context(|| name.clone())?;
    geneva_stix::input::objects_as_values(&bytes, INCIDENT_LIMIT).with_context(|| name.clone())
}

/// The attribution of an incident, as the operator sees it; a stored one is
/// audited (attributing reads what it and its linked items hold).
pub(crate) async fn attribution_of(
    data: &super::StoreLocation,
    attributor: &Attributor,
    incident: Incident<'_>,
) -> anyhow::Result<Attribution> {
    match incident {
        Incident::Stored(id) => {
            let store = open_store(data, false).await?;
            let index = super::open_index(data, store.clone())?;
            let Some(result) = geneva_analysis::attribution::attribute_stored(
                &index,
                &geneva_store::Viewer::Operator,
                id,
                attributor,
                geneva_correlate::Config::default(),
                geneva_correlate::WarningLists::builtin(),
            )
            .await?
            else {
                bail!("no object with id {id:?}");
            };
            store
                .audit(vec![geneva_store::NewAuditEntry {
                    at: geneva_stix::timestamp::now_rfc3339(),
                    actor: super::members::cli_actor(),
                    action: "attribute".into(),
                    channel: "cli".into(),
                    target: Some(id.to_owned()),
                    detail: format!("{} candidates", result.candidates.len()),
                }])
                .await?;
            Ok(result)
        }
        Incident::Bundle {
            name,
            objects,
            subject,
            without_store,
        } => {
            let evidence = if without_store {
                geneva_attribution::from_stix(objects, subject, attributor.knowledge_base())
                    .with_context(|| name.to_owned())?
            } else {
                let store = open_store(data, false).await?;
                let index = super::open_index(data, store)?;
                geneva_analysis::attribution::bundle_evidence(
                    &index,
                    &geneva_store::Viewer::Operator,
                    objects,
                    subject,
                    attributor,
                    geneva_correlate::Config::default(),
                    geneva_correlate::WarningLists::builtin(),
                )
                .await
                .with_context(|| name.to_owned())?
            };
            Ok(attributor.attribute(&evidence))
        }
    }
}

pub async fn attribute(
    data: &super::StoreLocation,
    args: AttributeArgs,
) -> anyhow::Result<ExitCode> {
    let Some(attributor) = attributor_for(data, args.kb.as_deref()).await? else {
        bail!(
            "no knowledge base: import one first (geneva kb import enterprise-attack.json), or name one with --kb"
        );
    };
    let result = match (&args.file, &args.incident) {
        (_, Some(id)) => attribution_of(data, &attributor, Incident::Stored(id)).await?,
        (Some(file), None) => {
            let name = display_name(file);
            let objects = incident_objects(file)?;
            attribution_of(
                data,
                &attributor,
                Incident::Bundle {
                    name: &name,
                    objects: &objects,
                    subject: args.subject.as_deref(),
                    without_store: args.kb.is_some(),
                },
            )
            .await?
        }
        (None, None) => bail!("name an incident file or --incident ID"),
    };
    if args.json {
        println!("{}", result.report());
    } else {
        print_attribution(&result);
    }
    Ok(ExitCode::SUCCESS)
}

/// The five strongest contributions, one a line, marked with `sign`.
fn print_contributions(sign: char, list: &[geneva_attribution::Contribution]) {
    for x in list.iter().take(5) {
        println!(
            "   {sign} {:+.2} {} {}: {}",
            x.effect, x.kind, x.evidence, x.reason
        );
    }
}

fn print_attribution(result: &Attribution) {
    println!("{}", result.likelihood_sentence());
    println!("{}", result.confidence_sentence());
    for w in &result.warnings {
        println!("WARNING: {w}");
    }
    println!(
        "\nnot in the knowledge base: {:.1}% ({})",
        result.not_in_knowledge_base * 100.0,
        result.not_in_knowledge_base_likelihood
    );
    println!(
        "weight of the hypothesis that this is tradecraft wholly new to a known actor: {:.1}%",
        result.new_tradecraft * 100.0
    );
    for (n, c) in result.candidates.iter().enumerate() {
        println!(
            "\n{}. {}{}{}: {:.1}% ({})",
            n + 1,
            c.actor,
            c.attack_id
                .as_ref()
                .map_or(String::new(), |id| format!(" [{id}]")),
            c.sponsor
                .as_ref()
                .map_or(String::new(), |s| format!(", suspected sponsor {s}")),
            c.probability * 100.0,
            c.likelihood
        );
        print_contributions('+', &c.raised);
        print_contributions('-', &c.lowered);
        if let Some(new) = &c.if_new_tradecraft {
            println!(
                "   if this is tradecraft new to it ({:.1} points of its {:.1}%; score {:.2}):",
                c.from_new_tradecraft * 100.0,
                c.probability * 100.0,
                new.score
            );
            print_contributions('~', &new.contributions);
        }
    }
    println!("\nAnalysis of competing hypotheses (C consistent, I inconsistent, · neutral):");
    println!("   {}", result.ach.hypotheses.join(" | "));
    for row in &result.ach.rows {
        let cells: Vec<&str> = row
            .bearings
            .iter()
            .map(|b| match b {
                geneva_attribution::Bearing::Consistent => "C",
                geneva_attribution::Bearing::Inconsistent => "I",
                geneva_attribution::Bearing::Neutral => "·",
            })
            .collect();
        println!(
            "   {} {}{}",
            cells.join(" "),
            row.evidence,
            if row.strong { " (strong)" } else { "" }
        );
    }
    if !result.evidence.unrecognised.is_empty() {
        println!(
            "\nnot in the knowledge base, not used: {}",
            result.evidence.unrecognised.join(", ")
        );
    }
}
