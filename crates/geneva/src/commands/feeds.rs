//! `geneva feeds add|list|remove`: remote TAXII 2.1 collections that
//! `geneva serve` pulls on a schedule, each run resuming after the last date
//! added the one before saw.

use std::process::ExitCode;

use anyhow::{Context, bail};
use geneva_stix::Tlp;
use geneva_store::NewFeed;
use serde_json::json;

use super::open_store;

#[derive(Debug, clap::Subcommand)]
pub enum FeedsCommand {
    /// Pull a remote collection on a schedule, while `geneva serve` runs.
    Add(AddArgs),
    /// The feeds: where each resumes and how its last run went.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop pulling a feed (what it brought stays).
    Remove { id: i64 },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The remote API root, e.g. https://cti.example.org/taxii2/feeds/
    url: String,
    /// The collection's id on the remote server.
    #[arg(long)]
    collection: String,
    /// User name for HTTP Basic.
    #[arg(long)]
    user: Option<String>,
    /// The environment variable of `geneva serve` that holds the password
    /// (never stored).
    #[arg(long, value_name = "VARIABLE", default_value = "GENEVA_TAXII_PASSWORD")]
    password_env: String,
    /// How often: seconds, or a number with s, m, h or d (15m, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_every)]
    every: i64,
    /// Allow private, loopback and link-local addresses (a server on this network).
    #[arg(long)]
    allow_private: bool,
    /// Record the objects as this member organisation's submission (default: `local`).
    #[arg(long = "as", value_name = "ORG")]
    organisation: Option<String>,
    /// TLP level recorded for objects that carry no TLP marking.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// Start after this date added (default: the collection's beginning).
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    json: bool,
}

/// `90`, `90s`, `15m`, `1h`, `1d` as seconds; at least one second.
fn parse_every(text: &str) -> Result<i64, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 15m, 1h or 1d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    match n.checked_mul(unit) {
        Some(secs) if (1..=366 * 86_400).contains(&secs) => Ok(secs),
        _ => Err(format!("{text:?}: between 1 second and a year")),
    }
}

pub async fn run(data: &super::StoreLocation, command: FeedsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FeedsCommand::Add(args) => add(data, args).await,
        FeedsCommand::List { json } => list(data, json).await,
        FeedsCommand::Remove { id } => {
            let store = open_store(data, false).await?;
            if store.remove_feed(id).await? {
                println!("feed {id} removed; what it pulled stays");
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no feed {id} (see `geneva feeds list`)")
            }
        }
    }
}

async fn add(data: &super::StoreLocation, args: AddArgs) -> anyhow::Result<ExitCode> {
    if !(args.url.starts_with("https://") || args.url.starts_with("http://")) {
        bail!("{}: a feed's URL is an http or https API root", args.url);
    }
    if let Some(since) = &args.since {
        geneva_stix::Timestamp::parse(since)
            .map_err(|e| anyhow::anyhow!("--since {since}: {e}"))?;
    }
    let store = open_store(data, true).await?;
    // The organisation must exist now, not at the first run.
    super::submitter(store.as_ref(), args.organisation.as_deref()).await?;
    let feed = store
        .add_feed(&NewFeed {
            url: args.url,
            collection: args.collection,
            password_env: args.user.as_ref().map(|_| args.password_env.clone()),
            user: args.user,
            every_secs: args.every,
            allow_private: args.allow_private,
            organisation: args.organisation,
            tlp: args.tlp,
            since: args.since,
        })
        .await
        .context("cannot add the feed")?;
    if args.json {
        println!("{}", feed_json(&feed));
    } else {
        println!(
            "feed {}: {} collection {}, every {} s; `geneva serve` pulls it",
            feed.id, feed.spec.url, feed.spec.collection, feed.spec.every_secs
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn feed_json(f: &geneva_store::Feed) -> serde_json::Value {
    json!({
        "id": f.id,
        "url": f.spec.url,
        "collection": f.spec.collection,
        "user": f.spec.user,
        "password_env": f.spec.password_env,
        "every_secs": f.spec.every_secs,
        "allow_private": f.spec.allow_private,
        "as": f.spec.organisation,
        "tlp": f.spec.tlp.as_str(),
        "resumes_after": f.last_added,
        "next_run_ms": f.next_run_ms,
        "last_run_ms": f.last_run_ms,
        "last_objects": f.last_objects,
        "last_error": f.last_error,
    })
}

async fn list(data: &super::StoreLocation, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let feeds = store.feeds().await?;
    if json {
        println!(
            "{}",
            serde_json::Value::Array(feeds.iter().map(feed_json).collect())
        );
        return Ok(ExitCode::SUCCESS);
    }
    if feeds.is_empty() {
        println!("no feeds (add one with `geneva feeds add URL --collection ID`)");
    }
    for f in &feeds {
        let last = match (&f.last_run_ms, &f.last_error) {
            (None, _) => "not run yet".to_owned(),
            (Some(_), Some(error)) => format!("last run failed: {error}"),
            (Some(_), None) => format!("last run brought {} objects", f.last_objects),
        };
        println!(
            "{}\t{} collection {}\tevery {} s\tresumes after {}\t{last}",
            f.id,
            f.spec.url,
            f.spec.collection,
            f.spec.every_secs,
            f.last_added.as_deref().unwrap_or("(the beginning)")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(super::parse_every("90"), Ok(90));
        assert_eq!(super::parse_every("90s"), Ok(90));
        assert_eq!(super::parse_every("15m"), Ok(900));
        assert_eq!(super::parse_every("1h"), Ok(3600));
        assert_eq!(super::parse_every("2d"), Ok(172_800));
        for bad in ["", "0", "m", "5w", "-1m", "99999999999999999999d", "400d"] {
            assert!(super::parse_every(bad).is_err(), "{bad}");
        }
    }
}
