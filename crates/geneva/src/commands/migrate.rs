//! `geneva migrate`: copy a whole instance — directory, tokens, every object
//! version with its provenance, the audit log — into an empty database, then
//! verify that every version and hash arrived.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use geneva_stix::{PrepareOptions, prepare};
use geneva_store::{Provenance, Recipients, Store, VersionRecord, Viewer};
use serde_json::json;

use super::{StoreLocation, open_store};

const PAGE: usize = 5000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance to copy: sqlite:PATH or postgres://…
    #[arg(long)]
    from: String,
    /// An empty database to copy into: postgres://… or sqlite:PATH
    #[arg(long)]
    to: String,
    #[arg(long)]
    json: bool,
}

async fn open(url: &str, create: bool) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let location = StoreLocation {
        data: std::path::PathBuf::from("."),
        database: Some(url.to_owned()),
        log_key: None,
    };
    open_store(&location, create).await
}

/// What identifies a stored version and its provenance, independent of database ids.
type Fingerprint = (
    String,
    Option<String>,
    [u8; 32],
    String,
    String,
    String,
    bool,
    Option<u64>,
);

fn fingerprint(r: &VersionRecord) -> Fingerprint {
    let v = &r.version;
    (
        v.id.clone(),
        v.version.clone(),
        v.sha256,
        v.organisation.clone(),
        v.submitted_at.clone(),
        v.tlp.as_str().to_owned(),
        v.revoked,
        v.leaf_index,
    )
}

async fn all_records(store: &dyn Store) -> anyhow::Result<Vec<VersionRecord>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.version_records(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.seq;
        out.extend(page);
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = open(&args.from, false)
        .await
        .context("opening the source")?;
    let target = open(&args.to, true).await.context("opening the target")?;
    if target.stats(&Viewer::Operator).await?.versions > 0
        || !target.organisations().await?.is_empty()
    {
        bail!("the target already holds data; migrate into an empty database");
    }

    // The directory: database ids differ between the two, names do not.
    let mut orgs: HashMap<i64, i64> = HashMap::new();
    for o in source.organisations().await? {
        orgs.insert(
            o.id,
            target
                .add_organisation(&o.name, o.kind, o.country.clone())
                .await?
                .id,
        );
    }
    let mut users: HashMap<i64, i64> = HashMap::new();
    for u in source.users().await? {
        users.insert(
            u.id,
            target.add_user(&u.name, orgs[&u.organisation]).await?.id,
        );
    }
    let mut groups: HashMap<i64, i64> = HashMap::new();
    for g in source.groups().await? {
        let members: Vec<i64> = g.members.iter().map(|m| orgs[m]).collect();
        groups.insert(g.id, target.add_group(&g.name, &members).await?.id);
    }
    let mut tokens = 0;
    for record in source.tokens().await? {
        let (_, hash) = source
            .token(&record.id)
            .await?
            .context("a token vanished during the migration")?;
        let moved = geneva_store::TokenRecord {
            organisation: orgs[&record.organisation],
            user: record.user.map(|u| users[&u]),
            ..record
        };
        target.add_token(&moved, hash).await?;
        tokens += 1;
    }

    // The transparency log's blinding secret and witnesses: with them, and
    // versions replayed in leaf order, the target's tree is the source's, leaf
    // for leaf, and the source's key signs the very same checkpoints there.
    let secret = source.log_secret([0; 32]).await?;
    target.log_secret(secret).await?;
    for witness in source.log_witnesses().await? {
        target.log_add_witness(&witness).await?;
    }

    // Object versions, in leaf order, batched by identical provenance and
    // increasing id (the order an import stores a batch in).
    let mut records = all_records(source.as_ref()).await?;
    records.sort_by_key(|r| (r.version.leaf_index.unwrap_or(u64::MAX), r.seq));
    let remap = |r: &Recipients| Recipients {
        organisations: r
            .organisations
            .iter()
            .filter_map(|o| orgs.get(o).copied())
            .collect(),
        groups: r
            .groups
            .iter()
            .filter_map(|g| groups.get(g).copied())
            .collect(),
        users: r
            .users
            .iter()
            .filter_map(|u| users.get(u).copied())
            .collect(),
    };
    let mut start = 0;
    while start < records.len() {
        let first = &records[start];
        let same = |r: &VersionRecord| {
            r.version.organisation == first.version.organisation
                && r.organisation_id == first.organisation_id
                && r.version.submitted_at == first.version.submitted_at
                && r.version.tlp == first.version.tlp
                && r.recipients == first.recipients
        };
        let end = records[start..]
            .iter()
            .enumerate()
            .position(|(i, r)| {
                !same(r) || (i > 0 && r.version.id <= records[start + i - 1].version.id)
            })
            .map_or(records.len(), |n| start + n);
        let batch: Vec<serde_json::Value> = records[start..end]
            .iter()
            .map(|r| serde_json::from_str(&r.version.canonical))
            .collect::<Result<_, _>>()?;
        let bundle = serde_json::to_vec(
            &json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": batch}),
        )?;
        let prepared = prepare(&bundle, &PrepareOptions::default())
            .context("a stored object no longer validates")?;
        let provenance = Provenance {
            organisation: first.version.organisation.clone(),
            organisation_id: first.organisation_id.map(|o| orgs[&o]),
            submitted_at: first.version.submitted_at.clone(),
            default_tlp: first.version.tlp,
            recipients: remap(&first.recipients),
        };
        target.import(prepared.objects, provenance).await?;
        start = end;
    }

    // The audit log, entry for entry.
    let mut after = 0;
    let mut audit = 0;
    loop {
        let page = source.audit_log(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        audit += page.len();
        target
            .audit(page.into_iter().map(|e| e.entry).collect())
            .await?;
    }

    // Verify: the same versions, hashes and provenance on both sides.
    let mut expected: Vec<Fingerprint> = records.iter().map(fingerprint).collect();
    let mut arrived: Vec<Fingerprint> = all_records(target.as_ref())
        .await?
        .iter()
        .map(fingerprint)
        .collect();
    expected.sort();
    arrived.sort();
    if expected != arrived {
        let missing = expected.iter().filter(|f| !arrived.contains(f)).count();
        bail!(
            "verification failed: {} versions in the source, {} in the target, {missing} missing or altered",
            expected.len(),
            arrived.len()
        );
    }
    if args.json {
        println!(
            "{}",
            json!({"organisations": orgs.len(), "users": users.len(), "groups": groups.len(), "tokens": tokens,
                   "versions": expected.len(), "audit_entries": audit, "verified": true})
        );
    } else {
        println!(
            "copied {} organisations, {} users, {} groups, {tokens} tokens, {} object versions and {audit} audit entries; every version, hash and log leaf verified\n\
             run `geneva log checkpoint` on the target with the source log's key (--log-signing-key): its tree is the source's, leaf for leaf",
            orgs.len(),
            users.len(),
            groups.len(),
            expected.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
