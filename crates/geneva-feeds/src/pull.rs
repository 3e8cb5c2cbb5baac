//! Pulling a collection page by page, and pushing an envelope.

use geneva_taxii::{Status, TAXII_MEDIA_TYPE};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Target;

/// Largest page body accepted from a remote server.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// Objects asked for per page (servers may send fewer).
const PAGE_LIMIT: usize = 1_000;
/// Status polls after a POST answered `pending`.
const STATUS_POLLS: usize = 30;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("{url} answered {status}: {message}")]
    Status {
        status: u16,
        url: String,
        message: String,
    },
    #[error("{url} did not answer in TAXII 2.1: {why}")]
    Protocol { url: String, why: String },
    #[error("the collection holds more than {0} objects; raise the limit")]
    TooMany(usize),
}

/// What a pull brought back.
#[derive(Debug)]
pub struct Pulled {
    /// Every version, in the order the server added them.
    pub objects: Vec<Box<RawValue>>,
    pub pages: usize,
    /// `X-TAXII-Date-Added-Last` of the last page with objects: where the
    /// next pull resumes.
    pub last_added: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(default)]
    objects: Vec<Box<RawValue>>,
}

fn endpoint(target: &Target, segments: &[&str]) -> reqwest::Url {
    let mut url = target.base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments).push("");
    }
    url
}

/// The body of a successful TAXII answer, or what went wrong.
async fn taxii_body(
    response: reqwest::Response,
) -> Result<(reqwest::header::HeaderMap, Vec<u8>), PullError> {
    let url = response.url().to_string();
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| PullError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(PullError::Protocol {
                url,
                why: format!("an answer over {MAX_PAGE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .map(|v| {
                [v.get("title"), v.get("description")]
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        return Err(PullError::Status {
            status: status.as_u16(),
            url,
            message,
        });
    }
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !geneva_taxii::is_taxii_content(Some(content_type)) {
        return Err(PullError::Protocol {
            url,
            why: format!("content type {content_type:?}, not {TAXII_MEDIA_TYPE}"),
        });
    }
    Ok((headers, body))
}

/// Every version in `collection` added after `since`, following `next`
/// (or, from servers that send none, the last date added).
pub async fn pull(
    target: &Target,
    collection: &str,
    since: Option<&str>,
    max_objects: usize,
) -> Result<Pulled, PullError> {
    let url = endpoint(target, &["collections", collection, "objects"]);
    let mut pulled = Pulled {
        objects: Vec::new(),
        pages: 0,
        last_added: since.map(str::to_owned),
    };
    let mut next: Option<String> = None;
    loop {
        let mut request = target.client.get(url.clone()).query(&[
            ("match[version]", "all"),
            ("limit", &PAGE_LIMIT.to_string()),
        ]);
        match (&next, &pulled.last_added) {
            (Some(next), _) => {
                request = request.query(&[("next", next.as_str())]);
                if let Some(since) = since {
                    request = request.query(&[("added_after", since)]);
                }
            }
            (None, Some(after)) => request = request.query(&[("added_after", after.as_str())]),
            (None, None) => {}
        }
        let response = request
            .send()
            .await
            .map_err(|e| PullError::Unreachable(e.to_string()))?;
        let (headers, body) = taxii_body(response).await?;
        let page: Page = serde_json::from_slice(&body).map_err(|e| PullError::Protocol {
            url: url.to_string(),
            why: format!("not an envelope: {e}"),
        })?;
        pulled.pages += 1;
        let last_added = headers
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let progressed = !page.objects.is_empty();
        if pulled.objects.len() + page.objects.len() > max_objects {
            return Err(PullError::TooMany(max_objects));
        }
        pulled.objects.extend(page.objects);
        if last_added.is_some() {
            pulled.last_added = last_added;
        }
        if !page.more || !progressed {
            return Ok(pulled);
        }
        next = page.next;
    }
}

/// Posts an envelope to `collection` and waits for its status to complete.
pub async fn push(
    target: &Target,
    collection: &str,
    envelope: Vec<u8>,
) -> Result<Status, PullError> {
    let url = endpoint(target, &["collections", collection, "objects"]);
    let response = target
        .client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, TAXII_MEDIA_TYPE)
        .body(envelope)
        .send()
        .await
        .map_err(|e| PullError::Unreachable(e.to_string()))?;
    let (_, body) = taxii_body(response).await?;
    let mut status: Status = serde_json::from_slice(&body).map_err(|e| PullError::Protocol {
        url: url.to_string(),
        why: format!("not a status resource: {e}"),
    })?;
    for _ in 0..STATUS_POLLS {
        if status.status != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let url = endpoint(target, &["status", &status.id]);
        let response = target
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| PullError::Unreachable(e.to_string()))?;
        let (_, body) = taxii_body(response).await?;
        status = serde_json::from_slice(&body).map_err(|e| PullError::Protocol {
            url: url.to_string(),
            why: format!("not a status resource: {e}"),
        })?;
    }
    Ok(status)
}
