//! `geneva show`: one object, its current version or its whole history.

use std::process::ExitCode;

use geneva_store::{StoredVersion, Viewer};
use serde_json::{Value, json};

use super::open_store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// STIX identifier, e.g. intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c
    id: String,
    /// Show every stored version, oldest first.
    #[arg(long)]
    versions: bool,
    /// Print JSON (metadata and object) instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(data: &super::StoreLocation, args: Args) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let versions = if args.versions {
        store.versions(&args.id, &Viewer::Operator).await?
    } else {
        store
            .get(&args.id, &Viewer::Operator)
            .await?
            .into_iter()
            .collect()
    };
    if versions.is_empty() {
        eprintln!("error: no object with id {:?}", args.id);
        return Ok(ExitCode::FAILURE);
    }
    let restricted: Vec<geneva_store::NewAuditEntry> = versions
        .iter()
        .filter(|v| v.tlp >= geneva_stix::Tlp::Amber)
        .map(|v| geneva_store::NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: super::members::cli_actor(),
            action: "read".into(),
            channel: "cli".into(),
            target: Some(v.id.clone()),
            detail: format!("{} version {}", v.tlp, v.version.as_deref().unwrap_or("-")),
        })
        .collect();
    if !restricted.is_empty() {
        store.audit(restricted).await?;
    }
    if args.json {
        let items: Vec<Value> = versions
            .iter()
            .map(as_json)
            .collect::<anyhow::Result<_>>()?;
        let out = if args.versions {
            json!({"id": args.id, "versions": items})
        } else {
            items.into_iter().next().unwrap_or_default()
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (i, v) in versions.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let mut flags = Vec::new();
        if v.current {
            flags.push("current");
        }
        if v.revoked {
            flags.push("REVOKED");
        }
        println!("{} ({})", v.id, v.object_type);
        println!(
            "  version     {} {}",
            v.version.as_deref().unwrap_or("(observable)"),
            if flags.is_empty() {
                String::new()
            } else {
                format!("[{}]", flags.join(", "))
            }
        );
        println!("  tlp         {}", v.tlp);
        println!("  submitted   {} by {}", v.submitted_at, v.organisation);
        println!("  sha256      {}", hex::encode(v.sha256));
        let object: Value = serde_json::from_str(&v.canonical)?;
        println!("{}", serde_json::to_string_pretty(&object)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn as_json(v: &StoredVersion) -> anyhow::Result<Value> {
    Ok(json!({
        "id": v.id, "type": v.object_type, "version": v.version, "current": v.current, "revoked": v.revoked,
        "tlp": v.tlp.label(), "sha256": hex::encode(v.sha256), "submitted_by": v.organisation,
        "submitted_at": v.submitted_at, "object": serde_json::from_str::<Value>(&v.canonical)?,
    }))
}
