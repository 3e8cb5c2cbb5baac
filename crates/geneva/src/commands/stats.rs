//! `geneva stats`: what the store holds, by type and TLP level.

use std::process::ExitCode;

use geneva_store::Viewer;
use serde_json::json;

use super::open_store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(data: &super::StoreLocation, args: Args) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let stats = store.stats(&Viewer::Operator).await?;
    if args.json {
        let by_type: serde_json::Map<_, _> = stats
            .objects_by_type
            .iter()
            .map(|(t, n)| (t.clone(), json!(n)))
            .collect();
        let by_tlp: serde_json::Map<_, _> = stats
            .by_tlp
            .iter()
            .map(|(t, n)| (t.label().to_string(), json!(n)))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "objects": stats.objects, "versions": stats.versions, "revoked": stats.revoked,
                "by_type": by_type, "by_tlp": by_tlp,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("objects   {:>8}", stats.objects);
    println!("versions  {:>8}", stats.versions);
    println!("revoked   {:>8}", stats.revoked);
    println!();
    for (t, n) in &stats.objects_by_type {
        println!("  {t:<28} {n:>8}");
    }
    println!();
    for (t, n) in &stats.by_tlp {
        println!("  {:<28} {n:>8}", t.label());
    }
    Ok(ExitCode::SUCCESS)
}
