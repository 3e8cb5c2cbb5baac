//! `geneva org|user|group|token|audit`: the member directory and the audit log.

use std::process::ExitCode;

use anyhow::{Context, bail};
use geneva_access::{ApiToken, CountryCode, OrgKind, Scope, Scopes, TokenId};
use geneva_store::{NewAuditEntry, Store, TokenRecord};
use serde_json::json;

use super::open_store;

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Register a member organisation.
    Add {
        name: String,
        /// state (or government CERT), company, panel, vendor, researcher
        #[arg(long)]
        kind: OrgKind,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        country: Option<CountryCode>,
        #[arg(long)]
        json: bool,
    },
    /// List organisations.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user to an organisation.
    Add {
        name: String,
        #[arg(long)]
        org: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Create a sharing group: a named set of organisations.
    Add {
        name: String,
        /// A member organisation (repeatable).
        #[arg(long = "member", value_name = "ORG", required = true)]
        members: Vec<String>,
    },
    /// List sharing groups.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once and only its hash is kept.
    Create {
        #[arg(long)]
        org: String,
        /// The user the token acts for (needed to read TLP:RED addressed to that user).
        #[arg(long)]
        user: Option<String>,
        /// What the token may do (repeatable): read, submit, analyse, vote, admin.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<Scope>,
        /// A note to recognise the token by.
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once, by its id (the 12 hex digits after gva_).
    Revoke { id: String },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Show entries after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: u64,
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

/// The audit log's name for whoever runs the CLI on the server.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn cli_audit(action: &str, target: Option<String>, detail: String) -> NewAuditEntry {
    NewAuditEntry {
        at: geneva_stix::timestamp::now_rfc3339(),
        actor: cli_actor(),
        action: action.into(),
        channel: "cli".into(),
        target,
        detail,
    }
}

/// Organisation names by id, for listings that show who owns what.
async fn organisation_names(
    store: &dyn Store,
) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    Ok(store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

async fn organisation_id(store: &dyn Store, name: &str) -> anyhow::Result<i64> {
    match store.organisation(name).await? {
        Some(o) => Ok(o.id),
        None => {
            bail!("no organisation named {name:?} (add it with `geneva org add {name} --kind …`)")
        }
    }
}

pub async fn org(data: &super::StoreLocation, command: OrgCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, true).await?;
    match command {
        OrgCommand::Add {
            name,
            kind,
            country,
            json,
        } => {
            if name.trim().is_empty() || name.len() > 200 {
                bail!("an organisation name needs 1-200 characters");
            }
            let org = store.add_organisation(&name, kind, country).await?;
            store
                .audit(vec![cli_audit(
                    "org-add",
                    Some(name.clone()),
                    kind.to_string(),
                )])
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"id": org.id, "name": org.name, "kind": org.kind.as_str(), "country": org.country.map(|c| c.to_string())})
                );
            } else {
                println!("added organisation {} ({})", org.name, org.kind);
            }
        }
        OrgCommand::List { json } => {
            let orgs = store.organisations().await?;
            if json {
                let list: Vec<_> = orgs
                    .iter()
                    .map(|o| json!({"id": o.id, "name": o.name, "kind": o.kind.as_str(), "country": o.country.as_ref().map(|c| c.to_string())}))
                    .collect();
                println!("{}", json!(list));
            } else {
                for o in orgs {
                    println!(
                        "{:<32} {:<10} {}",
                        o.name,
                        o.kind,
                        o.country.map(|c| c.to_string()).unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn user(data: &super::StoreLocation, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, true).await?;
    let UserCommand::Add { name, org } = command;
    let org_id = organisation_id(store.as_ref(), &org).await?;
    store.add_user(&name, org_id).await?;
    store
        .audit(vec![cli_audit(
            "user-add",
            Some(name.clone()),
            format!("organisation {org}"),
        )])
        .await?;
    println!("added user {name} to {org}");
    Ok(ExitCode::SUCCESS)
}

pub async fn group(data: &super::StoreLocation, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, true).await?;
    match command {
        GroupCommand::Add { name, members } => {
            let mut ids = Vec::with_capacity(members.len());
            for m in &members {
                ids.push(organisation_id(store.as_ref(), m).await?);
            }
            store.add_group(&name, &ids).await?;
            store
                .audit(vec![cli_audit(
                    "group-add",
                    Some(name.clone()),
                    members.join(","),
                )])
                .await?;
            println!(
                "added sharing group {name} with {} organisation(s)",
                ids.len()
            );
        }
        GroupCommand::List { json } => {
            let names = organisation_names(store.as_ref()).await?;
            let name_of = |id: i64| names.get(&id).cloned().unwrap_or_default();
            let groups = store.groups().await?;
            if json {
                let list: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        let mut names: Vec<String> =
                            g.members.iter().map(|m| name_of(*m)).collect();
                        names.sort();
                        json!({"name": g.name, "members": names})
                    })
                    .collect();
                println!("{}", json!(list));
            } else {
                for g in groups {
                    let mut names: Vec<String> = g.members.iter().map(|m| name_of(*m)).collect();
                    names.sort();
                    println!("{:<24} {}", g.name, names.join(", "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(data: &super::StoreLocation, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(data, true).await?;
    match command {
        TokenCommand::Create {
            org,
            user,
            scopes,
            label,
            json,
        } => {
            let org_id = organisation_id(store.as_ref(), &org).await?;
            let user_id = match &user {
                None => None,
                Some(name) => {
                    let u = store
                        .user(name)
                        .await?
                        .with_context(|| format!("no user named {name:?}"))?;
                    if u.organisation != org_id {
                        bail!("user {name:?} does not belong to {org:?}");
                    }
                    Some(u.id)
                }
            };
            let token = ApiToken::generate()?;
            let record = TokenRecord {
                id: token.id.clone(),
                organisation: org_id,
                user: user_id,
                scopes: Scopes::new(scopes),
                label,
                created_at: geneva_stix::timestamp::now_rfc3339(),
                revoked_at: None,
            };
            store.add_token(&record, token.hash()).await?;
            store
                .audit(vec![cli_audit(
                    "token-create",
                    Some(record.id.to_string()),
                    format!("{org} scopes {}", record.scopes),
                )])
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"id": record.id.as_str(), "token": token.reveal(), "organisation": org, "scopes": record.scopes.to_string()})
                );
            } else {
                println!("{}", token.reveal());
                eprintln!(
                    "token {} for {org} ({}); this is the only time it is shown",
                    record.id, record.scopes
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let id = TokenId::parse(id.trim_start_matches("gva_"))
                .context("a token id is the 12 hex digits after gva_")?;
            if !store
                .revoke_token(&id, &geneva_stix::timestamp::now_rfc3339())
                .await?
            {
                bail!("no token with id {id}");
            }
            store
                .audit(vec![cli_audit(
                    "token-revoke",
                    Some(id.to_string()),
                    String::new(),
                )])
                .await?;
            println!("revoked token {id}");
        }
        TokenCommand::List { json } => {
            let names = organisation_names(store.as_ref()).await?;
            let name_of = |id: i64| names.get(&id).cloned().unwrap_or_default();
            let tokens = store.tokens().await?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({"id": t.id.as_str(), "organisation": name_of(t.organisation), "scopes": t.scopes.to_string(),
                               "label": t.label, "created_at": t.created_at, "revoked_at": t.revoked_at})
                    })
                    .collect();
                println!("{}", json!(list));
            } else {
                for t in tokens {
                    let state = t
                        .revoked_at
                        .as_deref()
                        .map(|r| format!("revoked {r}"))
                        .unwrap_or_else(|| "active".into());
                    println!(
                        "{}  {:<24} {:<28} {:<20} {}",
                        t.id,
                        name_of(t.organisation),
                        t.scopes.to_string(),
                        state,
                        t.label
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(data: &super::StoreLocation, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(data, false).await?;
    let entries = store.audit_log(args.after, args.limit).await?;
    if args.json {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({"seq": e.seq, "at": e.entry.at, "actor": e.entry.actor, "action": e.entry.action,
                       "channel": e.entry.channel, "target": e.entry.target, "detail": e.entry.detail})
            })
            .collect();
        println!("{}", json!(list));
    } else {
        for e in entries {
            let e2 = &e.entry;
            println!(
                "{:>6} {} {:<8} {:<14} {:<40} {} {}",
                e.seq,
                e2.at,
                e2.channel,
                e2.action,
                e2.actor,
                e2.target.as_deref().unwrap_or("-"),
                e2.detail
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
