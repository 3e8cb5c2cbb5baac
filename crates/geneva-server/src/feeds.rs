//! Feeds: remote TAXII 2.1 collections pulled on a schedule. Each run
//! resumes after the last date added the previous one saw and imports what
//! came like any submission: validated whole, all or nothing, into the
//! transparency log. `geneva taxii pull` runs the same code once.

use std::sync::Arc;
use std::time::Duration;

use geneva_stix::{DocumentError, PrepareOptions};
use geneva_store::{Feed, FeedRun, NewFeed, Provenance, Store, StoreError};
use serde_json::value::RawValue;

/// Why a pull did not import.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Pull(#[from] geneva_feeds::PullError),
    #[error("the password for {user} is read from {variable}, which is not set")]
    Password { user: String, variable: String },
    #[error("no organisation named {0:?}: add it with `geneva org add`")]
    Organisation(String),
    #[error("{origin}: {count} problems, nothing imported; the first: {first}")]
    Invalid {
        origin: String,
        count: usize,
        first: String,
    },
    #[error("{origin}: {error}")]
    Document { origin: String, error: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pull brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullSummary {
    pub pages: usize,
    pub objects: usize,
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Where the next pull resumes.
    pub last_added: Option<String>,
}

/// The objects as one bundle, for the import pipeline.
fn bundle_of(objects: &[Box<RawValue>]) -> Vec<u8> {
    let mut out = format!(
        r#"{{"type":"bundle","id":"bundle--{}","objects":["#,
        uuid::Uuid::new_v4()
    )
    .into_bytes();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(o.get().as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// Pulls `feed`'s collection after `since` and imports it, all or nothing,
/// as the feed's organisation's submission. `password` is the password of
/// the feed's user, when it has one.
pub async fn pull_once(
    store: &Arc<dyn Store>,
    log: &geneva_log::TransparencyLog,
    feed: &NewFeed,
    password: Option<String>,
    since: Option<&str>,
    max_objects: usize,
) -> Result<PullSummary, FeedError> {
    let (organisation, organisation_id) = match &feed.organisation {
        None => ("local".to_owned(), None),
        Some(name) => match store.organisation(name).await? {
            Some(org) => (org.name, Some(org.id)),
            None => return Err(FeedError::Organisation(name.clone())),
        },
    };
    let credentials = match (&feed.user, password) {
        (None, _) => None,
        (Some(user), Some(password)) => Some((user.clone(), password)),
        (Some(user), None) => {
            return Err(FeedError::Password {
                user: user.clone(),
                variable: feed
                    .password_env
                    .clone()
                    .unwrap_or_else(|| "(no variable named)".into()),
            });
        }
    };
    let target = geneva_feeds::connect(&feed.url, feed.allow_private, credentials).await?;
    let pulled = geneva_feeds::pull(&target, &feed.collection, since, max_objects).await?;
    let mut summary = PullSummary {
        pages: pulled.pages,
        objects: pulled.objects.len(),
        last_added: pulled.last_added.clone(),
        ..PullSummary::default()
    };
    if pulled.objects.is_empty() {
        return Ok(summary);
    }
    let origin = format!("{} collection {}", feed.url, feed.collection);
    let bytes = bundle_of(&pulled.objects);
    let options = PrepareOptions {
        max_document_bytes: bytes.len() as u64 + 1,
        ..PrepareOptions::default()
    };
    let prepared = tokio::task::spawn_blocking(move || geneva_stix::prepare(&bytes, &options))
        .await
        .map_err(|e| FeedError::Document {
            origin: origin.clone(),
            error: e.to_string(),
        })?
        .map_err(|e| match e {
            DocumentError::Invalid { issues, .. } => FeedError::Invalid {
                origin: origin.clone(),
                count: issues.len(),
                first: issues
                    .first()
                    .map(|i| {
                        format!(
                            "{} {}: {} ({})",
                            i.object_id.as_deref().unwrap_or("-"),
                            i.path,
                            i.message,
                            i.rule
                        )
                    })
                    .unwrap_or_default(),
            },
            other => FeedError::Document {
                origin: origin.clone(),
                error: other.to_string(),
            },
        })?;
    let imported = store
        .import(
            prepared.objects,
            Provenance {
                organisation,
                organisation_id,
                submitted_at: geneva_stix::timestamp::now_rfc3339(),
                default_tlp: feed.tlp,
                recipients: Default::default(),
            },
        )
        .await?;
    crate::integrate_pending(log).await;
    summary.new = imported.new;
    summary.updated = imported.updated;
    summary.unchanged = imported.unchanged;
    Ok(summary)
}

/// Most objects one scheduled run brings back; the next run goes on from there.
const MAX_OBJECTS_A_RUN: usize = 1_000_000;

/// Runs one due feed and records how it went.
async fn run_feed(store: &Arc<dyn Store>, log: &geneva_log::TransparencyLog, feed: &Feed) {
    let password = feed
        .spec
        .password_env
        .as_ref()
        .and_then(|v| std::env::var(v).ok());
    let started = geneva_stix::timestamp::now_unix_millis();
    let outcome = pull_once(
        store,
        log,
        &feed.spec,
        password,
        feed.last_added.as_deref(),
        MAX_OBJECTS_A_RUN,
    )
    .await;
    let run = match &outcome {
        Ok(summary) => {
            tracing::info!(
                feed = feed.id,
                url = %feed.spec.url,
                objects = summary.objects,
                new = summary.new,
                "feed pulled"
            );
            FeedRun {
                at_ms: started,
                last_added: summary.last_added.clone(),
                objects: summary.objects as i64,
                error: None,
            }
        }
        Err(e) => {
            tracing::warn!(feed = feed.id, url = %feed.spec.url, error = %e, "feed run failed");
            FeedRun {
                at_ms: started,
                last_added: None,
                objects: 0,
                error: Some(e.to_string()),
            }
        }
    };
    if let Err(e) = store.record_feed_run(feed.id, &run).await {
        tracing::error!(feed = feed.id, error = %e, "cannot record a feed run");
    }
}

/// Looks for due feeds every `tick` and runs them one after another, for
/// as long as the server runs.
pub(crate) fn spawn(store: Arc<dyn Store>, log: Arc<geneva_log::TransparencyLog>, tick: Duration) {
    tokio::spawn(async move {
        loop {
            match store
                .claim_due_feeds(geneva_stix::timestamp::now_unix_millis())
                .await
            {
                Ok(due) => {
                    for feed in &due {
                        run_feed(&store, &log, feed).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot read the feeds"),
            }
            tokio::time::sleep(tick).await;
        }
    });
}
