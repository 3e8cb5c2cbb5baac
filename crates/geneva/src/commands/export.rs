//! `geneva export`: the current view as one STIX 2.1 bundle, streamed page by page.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use geneva_stix::Timestamp;
use geneva_store::{ListQuery, Store, Viewer};

use super::open_store;

const PAGE: usize = 5000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only objects of this STIX type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Only objects whose modified (or created) is at or after this STIX timestamp.
    #[arg(long, value_parser = parse_timestamp)]
    since: Option<Timestamp>,
    /// Write to this file instead of standard output (written atomically).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).map_err(|e| format!("{s:?}: {e}"))
}

pub async fn run(data: &super::StoreLocation, args: Args) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let count = match &args.output {
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let n = write_bundle(store.as_ref(), &args, &mut out).await?;
            out.flush()?;
            n
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = dir.join(format!(
                ".{}.partial",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("export")
            ));
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let mut out = BufWriter::new(file);
            let n = write_bundle(store.as_ref(), &args, &mut out).await?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            n
        }
    };
    eprintln!("exported {} objects", count.total);
    if count.restricted > 0 {
        // One entry per export, not per object: a bulk export is one act of reading.
        store
            .audit(vec![geneva_store::NewAuditEntry {
                at: geneva_stix::timestamp::now_rfc3339(),
                actor: super::members::cli_actor(),
                action: "export".into(),
                channel: "cli".into(),
                target: args.output.as_ref().map(|p| p.display().to_string()),
                detail: format!(
                    "{} objects, {} of them TLP:AMBER or above; types {:?}, since {:?}",
                    count.total,
                    count.restricted,
                    args.types,
                    args.since.as_ref().map(|t| t.to_string())
                ),
            }])
            .await?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Exported {
    total: usize,
    restricted: usize,
}

async fn write_bundle(
    store: &dyn Store,
    args: &Args,
    out: &mut impl Write,
) -> anyhow::Result<Exported> {
    write!(
        out,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        uuid::Uuid::new_v4()
    )?;
    let mut query = ListQuery {
        types: args.types.clone(),
        since: args.since.clone(),
        after: None,
        limit: PAGE,
        newest_first: false,
    };
    let mut count = 0;
    let mut restricted = 0;
    loop {
        let page = store.list(&query, &Viewer::Operator).await?;
        for version in &page.items {
            if count > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"\n")?;
            // Canonical JSON is valid JSON: written as stored, byte for byte.
            out.write_all(version.canonical.as_bytes())?;
            count += 1;
            restricted += usize::from(version.tlp >= geneva_stix::Tlp::Amber);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    out.write_all(b"\n]}\n")?;
    Ok(Exported {
        total: count,
        restricted,
    })
}
