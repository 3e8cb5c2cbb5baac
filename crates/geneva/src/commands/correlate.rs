//! `geneva correlate ID` and `geneva campaigns`: what an object shares with
//! the rest of the store, and the clusters that shared evidence forms.

use std::path::PathBuf;
use std::process::ExitCode;

use geneva_correlate::Config;
use geneva_store::Viewer;

use super::open_store;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// More warning lists: files of IP addresses, ranges, domains or hashes, one a line.
    #[arg(long = "warning-list", value_name = "FILE")]
    warning_lists: Vec<PathBuf>,
    /// A value shared by more items than this is flagged, not linked.
    #[arg(long, default_value_t = Config::default().max_items_per_value)]
    max_items: usize,
    /// Lowest ssdeep score that links two files.
    #[arg(long, default_value_t = Config::default().ssdeep_min_score)]
    ssdeep_min: u32,
    /// Largest TLSH distance that links two files.
    #[arg(long, default_value_t = Config::default().tlsh_max_distance)]
    tlsh_max: u32,
    #[arg(long)]
    json: bool,
}

impl Options {
    fn config(&self) -> Config {
        Config {
            max_items_per_value: self.max_items,
            ssdeep_min_score: self.ssdeep_min,
            tlsh_max_distance: self.tlsh_max,
            ..Config::default()
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CorrelateArgs {
    /// A report, incident, grouping, observed-data, indicator or cyber-observable id.
    id: String,
    #[command(flatten)]
    options: Options,
}

pub async fn correlate(
    data: &super::StoreLocation,
    args: CorrelateArgs,
) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let index = super::open_index(data, store.clone())?;
    let lists =
        geneva_analysis::warning_lists(&args.options.warning_lists).map_err(anyhow::Error::msg)?;
    let Some(found) = geneva_analysis::correlate(
        &index,
        &Viewer::Operator,
        &args.id,
        args.options.config(),
        lists,
    )
    .await?
    else {
        eprintln!("error: no object with id {:?}", args.id);
        return Ok(ExitCode::FAILURE);
    };
    // Correlating reads what every linked item holds: one audit entry a call.
    store
        .audit(vec![geneva_store::NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: super::members::cli_actor(),
            action: "correlate".into(),
            channel: "cli".into(),
            target: Some(found.id.clone()),
            detail: format!("{} links", found.links.len()),
        }])
        .await?;
    if args.options.json {
        println!("{}", serde_json::to_string_pretty(&found.to_json())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} ({} observables)", found.id, found.observables.len());
    if found.links.is_empty() {
        println!("  shares nothing with anything else in the store");
    }
    let json = found.to_json();
    for link in json["links"].as_array().into_iter().flatten() {
        println!(
            "  {}  weight {}",
            link["id"].as_str().unwrap_or(""),
            link["weight"]
        );
        for r in link["reasons"].as_array().into_iter().flatten() {
            let what = match r["kind"].as_str().unwrap_or("") {
                "same-value" => format!("same {}", r["value"].as_str().unwrap_or("")),
                "address-in-range" => format!(
                    "{} is in {}",
                    r["address"].as_str().unwrap_or(""),
                    r["range"].as_str().unwrap_or("")
                ),
                "same-registrable-domain" => format!(
                    "{} and {} are both under {}",
                    r["ours"].as_str().unwrap_or(""),
                    r["theirs"].as_str().unwrap_or(""),
                    r["registrable_domain"].as_str().unwrap_or("")
                ),
                "url-host" => format!(
                    "{} is on {}",
                    r["url"].as_str().unwrap_or(""),
                    r["host"].as_str().unwrap_or("")
                ),
                "ssdeep" => format!(
                    "ssdeep {} with {} (score {})",
                    r["ours"].as_str().unwrap_or(""),
                    r["theirs"].as_str().unwrap_or(""),
                    r["score"]
                ),
                "tlsh" => format!(
                    "TLSH distance {} to {}",
                    r["distance"],
                    r["theirs"].as_str().unwrap_or("")
                ),
                other => other.to_owned(),
            };
            println!("    - {what}");
        }
    }
    for n in json["noise"].as_array().into_iter().flatten() {
        match n["kind"].as_str() {
            Some("warning-list") => println!(
                "  (not linked: {} is on warning list {})",
                n["value"].as_str().unwrap_or(""),
                n["list"].as_str().unwrap_or("")
            ),
            _ => println!(
                "  (not linked: {} is shared by more than {} items: over-correlating)",
                n["value"].as_str().unwrap_or(""),
                args.options.max_items
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn campaigns(data: &super::StoreLocation, options: Options) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let index = super::open_index(data, store)?;
    let lists =
        geneva_analysis::warning_lists(&options.warning_lists).map_err(anyhow::Error::msg)?;
    let found =
        geneva_analysis::campaigns(&index, &Viewer::Operator, options.config(), lists).await?;
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&geneva_analysis::campaigns_json(&found))?
        );
    } else if found.campaigns.is_empty() && found.communities.is_empty() {
        println!("no clusters: no two items share evidence");
    } else {
        for c in &found.campaigns {
            println!("{} ({} members, strong links)", c.id, c.members.len());
            for m in &c.members {
                println!("  {m}");
            }
        }
        for c in &found.communities {
            println!(
                "{} ({} members, weak links weighing {:.2})",
                c.id,
                c.members.len(),
                c.weight
            );
            for m in &c.members {
                println!("  {m}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
