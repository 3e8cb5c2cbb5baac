//! `/taxii2/`: TAXII 2.1 over the store, for member systems (MISP, OpenCTI,
//! commercial platforms) that speak it. One API root; its collections are
//! views of the store by TLP level and by sharing group, and the access
//! rules decide what each caller sees in them, exactly as on `/api/v1`.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geneva_access::{Principal, Scope};
use geneva_stix::Tlp;
use geneva_store::{
    Cursor, NewAuditEntry, Provenance, RequestStatus, SharingGroup, StoreError, StoredVersion,
    VersionPage, VersionQuery, VersionSelect,
};
use geneva_taxii::{
    ApiRoot, Collection, Collections, Discovery, ErrorMessage, Manifest, ManifestRecord, MediaKind,
    ObjectFilter, STIX_MEDIA_TYPE, Status, StatusDetail, TAXII_MEDIA_TYPE, VersionMatch, Versions,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::AppState;
use crate::api::{audit_reads, audit_revealed, require_read, viewer_of};
use crate::page_cache::{CachedPage, PageKey};

/// The one API root's name in URLs.
const API_ROOT: &str = "geneva";
/// Most objects (or manifest entries, or versions) on one page.
const MAX_PAGE: usize = 1_000;

/// A collection: a view of the store at one TLP level, of everything, or of
/// what was released to one sharing group.
#[derive(Clone)]
struct CollectionView {
    id: Cow<'static, str>,
    alias: Cow<'static, str>,
    title: Cow<'static, str>,
    description: Cow<'static, str>,
    tlp: Option<Tlp>,
    /// Reports come in here (and only here); it serves nothing back.
    intake: bool,
    /// A sharing group's collection: the group and its member organisations.
    group: Option<(i64, Vec<i64>)>,
}

/// Sharing groups' collections are numbered after the fixed ones' prefix:
/// stable as long as the group exists.
const GROUP_COLLECTION_PREFIX: &str = "9d7c8c7e-4a8e-4f3c-9d43-";

impl CollectionView {
    fn of_group(group: &SharingGroup) -> CollectionView {
        CollectionView {
            id: Cow::Owned(format!("{GROUP_COLLECTION_PREFIX}{:012x}", group.id)),
            alias: Cow::Owned(format!("group-{}", group.id)),
            title: Cow::Owned(format!("Sharing group {}", group.name)),
            description: Cow::Owned(format!(
                "Released to the sharing group {}: its members see it under the access rules.",
                group.name
            )),
            tlp: None,
            intake: false,
            group: Some((group.id, group.members.clone())),
        }
    }
}

/// Fixed ids, so that clients may keep them across restarts and upgrades.
const COLLECTIONS: &[CollectionView] = &[
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c01"),
        alias: Cow::Borrowed("clear"),
        title: Cow::Borrowed("TLP:CLEAR"),
        description: Cow::Borrowed("What the body publishes to everyone; no credentials needed."),
        tlp: Some(Tlp::Clear),
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c02"),
        alias: Cow::Borrowed("green"),
        title: Cow::Borrowed("TLP:GREEN"),
        description: Cow::Borrowed("Shared with the community of members."),
        tlp: Some(Tlp::Green),
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c03"),
        alias: Cow::Borrowed("amber"),
        title: Cow::Borrowed("TLP:AMBER"),
        description: Cow::Borrowed("Released to your organisation or a group it belongs to."),
        tlp: Some(Tlp::Amber),
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c04"),
        alias: Cow::Borrowed("amber-strict"),
        title: Cow::Borrowed("TLP:AMBER+STRICT"),
        description: Cow::Borrowed("Released to your organisation only."),
        tlp: Some(Tlp::AmberStrict),
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c05"),
        alias: Cow::Borrowed("red"),
        title: Cow::Borrowed("TLP:RED"),
        description: Cow::Borrowed("Released to you by name."),
        tlp: Some(Tlp::Red),
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c06"),
        alias: Cow::Borrowed("all"),
        title: Cow::Borrowed("Everything you may see"),
        description: Cow::Borrowed("Every level at once, as the access rules allow."),
        tlp: None,
        intake: false,
        group: None,
    },
    CollectionView {
        id: Cow::Borrowed("9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c07"),
        alias: Cow::Borrowed("intake"),
        title: Cow::Borrowed("Intake"),
        description: Cow::Borrowed(
            "Where members report: objects posted here are stored as your \
                      organisation's submission, under their TLP markings (AMBER when unmarked).",
        ),
        tlp: None,
        intake: true,
        group: None,
    },
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/{root}/", get(api_root))
        .route("/taxii2/{root}/collections/", get(collections))
        .route("/taxii2/{root}/collections/{collection}/", get(collection))
        .route(
            "/taxii2/{root}/collections/{collection}/objects/",
            get(objects).post(add_objects),
        )
        .route("/taxii2/{root}/status/{status}/", get(status))
        .route(
            "/taxii2/{root}/collections/{collection}/objects/{object}/",
            get(object).delete(delete_object),
        )
        .route(
            "/taxii2/{root}/collections/{collection}/objects/{object}/versions/",
            get(versions),
        )
        .route(
            "/taxii2/{root}/collections/{collection}/manifest/",
            get(manifest),
        )
}

/// A failed TAXII request: a TAXII error message with its status.
pub(crate) struct TaxiiError(StatusCode, &'static str, String);

impl TaxiiError {
    fn not_found(what: impl Into<String>) -> Self {
        TaxiiError(StatusCode::NOT_FOUND, "Not Found", what.into())
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let TaxiiError(status, title, description) = self;
        let body = ErrorMessage::new(status.as_u16(), title, description);
        let mut response = taxii_json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"geneva\", Bearer realm=\"geneva\""),
            );
        }
        response
    }
}

impl From<crate::error::ApiError> for TaxiiError {
    fn from(e: crate::error::ApiError) -> Self {
        let title = match e.status {
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not Found",
            StatusCode::BAD_REQUEST => "Bad Request",
            _ => "Error",
        };
        TaxiiError(e.status, title, e.message)
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor(why) => TaxiiError(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                format!("query parameter next: {why}"),
            ),
            other => {
                tracing::error!(error = %other, "TAXII request failed in the store");
                TaxiiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "the store could not answer; the server log has the cause".into(),
                )
            }
        }
    }
}

fn taxii_json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(TAXII_MEDIA_TYPE),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Every TAXII answer is TAXII JSON: a client that cannot take it gets 406.
fn negotiate(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let accept = headers
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    if geneva_taxii::accepts(accept, MediaKind::Taxii) {
        Ok(())
    } else {
        Err(TaxiiError(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable",
            format!("this server answers {TAXII_MEDIA_TYPE}; send that in Accept"),
        ))
    }
}

fn check_root(root: &str) -> Result<(), TaxiiError> {
    if root == API_ROOT {
        Ok(())
    } else {
        Err(TaxiiError::not_found(format!(
            "no API root {root:.80}; the API root is /taxii2/{API_ROOT}/"
        )))
    }
}

fn can_read(principal: &Principal, c: &CollectionView) -> bool {
    if c.intake {
        return false;
    }
    match (&c.group, principal) {
        (_, Principal::Anonymous) => c.group.is_none() && c.tlp == Some(Tlp::Clear),
        (Some((_, members)), Principal::Member { organisation, .. }) => {
            principal.has(Scope::Admin) || members.contains(organisation)
        }
        (None, Principal::Member { .. }) => true,
    }
}

fn can_write(principal: &Principal, c: &CollectionView) -> bool {
    c.intake && principal.has(Scope::Submit)
}

/// The collection named by id (or alias): a fixed one or a sharing group's.
async fn named(state: &AppState, name: &str) -> Result<CollectionView, TaxiiError> {
    if let Some(c) = COLLECTIONS.iter().find(|c| c.id == name || c.alias == name) {
        return Ok(c.clone());
    }
    let group = name
        .strip_prefix(GROUP_COLLECTION_PREFIX)
        .filter(|hex| hex.len() == 12)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .or_else(|| name.strip_prefix("group-")?.parse::<i64>().ok());
    if let Some(id) = group
        && let Some(g) = state.store.groups().await?.iter().find(|g| g.id == id)
    {
        return Ok(CollectionView::of_group(g));
    }
    Err(TaxiiError::not_found(format!("no collection {name:.80}")))
}

/// Why a caller may not read a collection.
fn unreadable(c: &CollectionView) -> String {
    match c.group {
        Some(_) => format!(
            "collection {} is a sharing group's that your organisation is not in",
            c.alias
        ),
        None => format!("collection {} needs a member's token", c.alias),
    }
}

/// 401 for a caller who has not said who they are, 403 for one who has.
fn refused(principal: &Principal, why: String) -> TaxiiError {
    match principal {
        Principal::Anonymous => TaxiiError(StatusCode::UNAUTHORIZED, "Unauthorized", why),
        _ => TaxiiError(StatusCode::FORBIDDEN, "Forbidden", why),
    }
}

/// The collection named by id (or alias), if the caller may read it.
async fn find_collection(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<CollectionView, TaxiiError> {
    let found = named(state, name).await?;
    if can_read(principal, &found) {
        Ok(found)
    } else if found.intake {
        Err(refused(
            principal,
            "the intake collection takes reports and serves nothing back".into(),
        ))
    } else {
        Err(refused(principal, unreadable(&found)))
    }
}

/// What every read of a collection checks first: the caller takes TAXII
/// JSON, may read, names our API root and a collection it may read.
async fn readable_collection(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    root: &str,
    name: &str,
) -> Result<CollectionView, TaxiiError> {
    negotiate(headers)?;
    require_read(principal)?;
    check_root(root)?;
    find_collection(state, principal, name).await
}

fn describe(principal: &Principal, c: &CollectionView) -> Collection {
    Collection {
        id: c.id.to_string(),
        title: c.title.to_string(),
        description: Some(c.description.to_string()),
        alias: Some(c.alias.to_string()),
        can_read: can_read(principal, c),
        can_write: can_write(principal, c),
        media_types: vec![STIX_MEDIA_TYPE.to_owned()],
    }
}

async fn discovery(
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    require_read(&principal)?;
    let root = format!("/taxii2/{API_ROOT}/");
    Ok(taxii_json(
        StatusCode::OK,
        &Discovery {
            title: "Geneva".into(),
            description: Some(
                "Evidence and findings of the Digital Geneva Convention's attribution body.".into(),
            ),
            contact: None,
            default: Some(root.clone()),
            api_roots: vec![root],
        },
    ))
}

async fn api_root(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    require_read(&principal)?;
    check_root(&root)?;
    Ok(taxii_json(
        StatusCode::OK,
        &ApiRoot {
            title: "Geneva".into(),
            description: Some(
                "Collections by TLP level and sharing group; what you see follows the access rules.".into(),
            ),
            versions: vec![TAXII_MEDIA_TYPE.to_owned()],
            max_content_length: state.config.max_body_bytes as u64,
        },
    ))
}

async fn collections(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    require_read(&principal)?;
    check_root(&root)?;
    let groups: Vec<CollectionView> = match principal {
        Principal::Anonymous => Vec::new(),
        _ => state
            .store
            .groups()
            .await?
            .iter()
            .map(CollectionView::of_group)
            .collect(),
    };
    Ok(taxii_json(
        StatusCode::OK,
        &Collections {
            collections: COLLECTIONS
                .iter()
                .chain(&groups)
                .filter(|c| can_read(&principal, c) || can_write(&principal, c))
                .map(|c| describe(&principal, c))
                .collect(),
        },
    ))
}

async fn collection(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    require_read(&principal)?;
    check_root(&root)?;
    let c = named(&state, &name).await?;
    if !can_read(&principal, &c) && !can_write(&principal, &c) {
        return Err(refused(&principal, unreadable(&c)));
    }
    Ok(taxii_json(StatusCode::OK, &describe(&principal, &c)))
}

/// The store query a request's filters and the collection's scope make.
fn version_query(
    scope: &CollectionView,
    uri: &Uri,
    id: Option<&str>,
) -> Result<(VersionQuery, ObjectFilter), TaxiiError> {
    let filter = ObjectFilter::parse(uri.query().unwrap_or(""), MAX_PAGE)
        .map_err(|e| TaxiiError(StatusCode::BAD_REQUEST, "Bad Request", e.to_string()))?;
    let mut select = VersionSelect::default();
    for v in &filter.versions {
        match v {
            VersionMatch::Last => select.last = true,
            VersionMatch::First => select.first = true,
            VersionMatch::All => select.all = true,
            VersionMatch::At(t) => select.at.push(t.clone()),
        }
    }
    let ids = match id {
        Some(id) => vec![id.to_owned()],
        None => filter.ids.clone(),
    };
    Ok((
        VersionQuery {
            tlp: scope.tlp,
            group: scope.group.as_ref().map(|(id, _)| *id),
            ids,
            types: filter.types.clone(),
            spec_versions: filter.spec_versions.clone(),
            added_after_ms: filter.added_after.as_ref().map(geneva_taxii::unix_millis),
            select,
            after: filter.next.clone().map(Cursor),
            limit: filter.limit,
        },
        filter,
    ))
}

/// Reads a page for the caller, auditing what it reveals above GREEN.
async fn read_page(
    state: &AppState,
    principal: &Principal,
    query: &VersionQuery,
) -> Result<VersionPage, TaxiiError> {
    let page = state
        .store
        .list_versions(query, &viewer_of(principal))
        .await?;
    audit_reads(state, principal, "taxii", &page.items).await?;
    Ok(page)
}

/// `X-TAXII-Date-Added-First` and `-Last` for a page that has items.
fn with_date_headers(response: Response, items: &[StoredVersion]) -> Response {
    with_added_dates(
        response,
        items.first().map(|v| v.submitted_at.as_str()),
        items.last().map(|v| v.submitted_at.as_str()),
    )
}

fn with_added_dates(mut response: Response, first: Option<&str>, last: Option<&str>) -> Response {
    let dates = [
        ("x-taxii-date-added-first", first),
        ("x-taxii-date-added-last", last),
    ];
    for (name, date) in dates {
        if let Some(value) = date.and_then(|d| HeaderValue::from_str(d).ok()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A page of objects as a TAXII envelope, straight from the stored JSON.
fn envelope_page(page: &VersionPage) -> CachedPage {
    let body = geneva_taxii::envelope_bytes(
        page.next.is_some(),
        page.next.as_ref().map(|c| c.0.as_str()),
        page.items.iter().map(|v| v.canonical.as_str()),
    );
    CachedPage::new(page, Bytes::from(body))
}

fn envelope(page: &CachedPage) -> Response {
    with_added_dates(
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(TAXII_MEDIA_TYPE),
            )],
            page.body.clone(),
        )
            .into_response(),
        page.date_added_first.as_deref(),
        page.date_added_last.as_deref(),
    )
}

/// A page of objects for the caller: from the page cache when the store has
/// not changed since it was filed (audited again all the same), else read,
/// audited and filed under the generation read before it.
async fn objects_page(
    state: &AppState,
    principal: &Principal,
    query: VersionQuery,
) -> Result<Arc<CachedPage>, TaxiiError> {
    if !state.pages.enabled() {
        return Ok(Arc::new(envelope_page(
            &read_page(state, principal, &query).await?,
        )));
    }
    let generation = state.store.read_generation().await?;
    let key = PageKey {
        viewer: viewer_of(principal),
        query,
    };
    if let Some(hit) = state.pages.get(generation, &key) {
        audit_revealed(
            state,
            principal,
            "taxii",
            hit.audited
                .iter()
                .map(|a| (a.id.as_str(), a.tlp, a.version.as_deref())),
        )
        .await?;
        return Ok(hit);
    }
    let page = Arc::new(envelope_page(
        &read_page(state, principal, &key.query).await?,
    ));
    state.pages.put(generation, key, Arc::clone(&page));
    Ok(page)
}

async fn objects(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let scope = readable_collection(&state, &principal, &headers, &root, &name).await?;
    let (query, _) = version_query(&scope, &uri, None)?;
    let page = objects_page(&state, &principal, query).await?;
    Ok(envelope(&page))
}

async fn object(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let scope = readable_collection(&state, &principal, &headers, &root, &name).await?;
    let (query, _) = version_query(&scope, &uri, Some(&id))?;
    let page = read_page(&state, &principal, &query).await?;
    if page.items.is_empty() && query.after.is_none() {
        return Err(TaxiiError::not_found(format!(
            "no object {id:.120} in collection {} that you may see",
            scope.alias
        )));
    }
    Ok(envelope(&envelope_page(&page)))
}

async fn versions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let scope = readable_collection(&state, &principal, &headers, &root, &name).await?;
    let (mut query, _) = version_query(&scope, &uri, Some(&id))?;
    // The versions endpoint lists every version; match[version] does not apply.
    query.select = VersionSelect {
        all: true,
        ..Default::default()
    };
    let page = read_page(&state, &principal, &query).await?;
    if page.items.is_empty() && query.after.is_none() {
        return Err(TaxiiError::not_found(format!(
            "no object {id:.120} in collection {} that you may see",
            scope.alias
        )));
    }
    let body = Versions {
        more: page.next.is_some(),
        next: page.next.as_ref().map(|c| c.0.clone()),
        versions: page
            .items
            .iter()
            .map(|v| v.version.clone().unwrap_or_else(|| v.submitted_at.clone()))
            .collect(),
    };
    Ok(with_date_headers(
        taxii_json(StatusCode::OK, &body),
        &page.items,
    ))
}

async fn manifest(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let scope = readable_collection(&state, &principal, &headers, &root, &name).await?;
    let (query, _) = version_query(&scope, &uri, None)?;
    // A manifest names versions without revealing content: no audit entry.
    let page = state
        .store
        .list_versions(&query, &viewer_of(&principal))
        .await?;
    let body = Manifest {
        more: page.next.is_some(),
        next: page.next.as_ref().map(|c| c.0.clone()),
        objects: page
            .items
            .iter()
            .map(|v| ManifestRecord {
                id: v.id.clone(),
                date_added: v.submitted_at.clone(),
                version: v.version.clone().unwrap_or_else(|| v.submitted_at.clone()),
                media_type: Some(STIX_MEDIA_TYPE.to_owned()),
            })
            .collect(),
    };
    Ok(with_date_headers(
        taxii_json(StatusCode::OK, &body),
        &page.items,
    ))
}

/// What a POST names of each object, for its status entries.
#[derive(Deserialize)]
struct Named {
    id: Option<serde_json::Value>,
    modified: Option<serde_json::Value>,
    created: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct IncomingEnvelope {
    objects: Box<RawValue>,
}

fn detail(named: &Named, index: usize, message: Option<String>) -> StatusDetail {
    let text =
        |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.as_str()).map(str::to_owned);
    StatusDetail {
        id: text(&named.id).unwrap_or_else(|| format!("objects[{index}]")),
        version: text(&named.modified)
            .or_else(|| text(&named.created))
            .unwrap_or_default(),
        message,
    }
}

/// `POST …/objects/` (TAXII 2.1 §5.5): an envelope of objects, taken whole
/// as one submission of the caller's organisation, answered 202 with a
/// status resource that stays readable at `status/{id}/`.
async fn add_objects(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    check_root(&root)?;
    let collection = named(&state, &name).await?;
    let Principal::Member {
        organisation,
        organisation_name,
        token,
        ..
    } = &principal
    else {
        return Err(refused(
            &principal,
            "reporting needs a member's token".into(),
        ));
    };
    if !principal.has(Scope::Submit) {
        return Err(refused(
            &principal,
            "this token lacks the submit scope".into(),
        ));
    }
    if !collection.intake {
        return Err(refused(
            &principal,
            format!(
                "collection {} is read-only; report to the intake collection",
                collection.alias
            ),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    if !geneva_taxii::is_taxii_content(content_type) {
        return Err(TaxiiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            format!("send an envelope as {TAXII_MEDIA_TYPE}"),
        ));
    }
    let envelope: IncomingEnvelope = serde_json::from_slice(&body).map_err(|e| {
        TaxiiError(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("the body is not a TAXII envelope with objects: {e}"),
        )
    })?;
    // Well-formed JSON and an envelope, but nothing a status could be kept
    // for: unprocessable, not malformed.
    let names: Vec<Named> = serde_json::from_str(envelope.objects.get()).map_err(|e| {
        TaxiiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Entity",
            format!("objects must be a list of JSON objects: {e}"),
        )
    })?;
    // The envelope's objects as a bundle, for the same pipeline as every import.
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--{}","objects":{}}}"#,
        uuid::Uuid::new_v4(),
        envelope.objects.get()
    );
    let options = geneva_stix::PrepareOptions {
        max_document_bytes: state.config.max_body_bytes as u64 + 128,
        ..Default::default()
    };
    let prepared =
        tokio::task::spawn_blocking(move || geneva_stix::prepare(bundle.as_bytes(), &options))
            .await
            .map_err(|e| {
                TaxiiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    e.to_string(),
                )
            })?;
    let request_timestamp = geneva_stix::timestamp::now_rfc3339();
    let total = names.len() as u64;
    let (successes, failures, audit_detail) = match prepared {
        Ok(prepared) => {
            let summary = state
                .store
                .import(
                    prepared.objects,
                    Provenance {
                        organisation: organisation_name.clone(),
                        organisation_id: Some(*organisation),
                        submitted_at: request_timestamp.clone(),
                        default_tlp: state.config.default_tlp,
                        recipients: Default::default(),
                    },
                )
                .await?;
            crate::integrate_pending(&state.log).await;
            let successes = names
                .iter()
                .enumerate()
                .map(|(i, n)| detail(n, i, None))
                .collect::<Vec<_>>();
            (successes, Vec::new(), format!("{summary:?}"))
        }
        Err(geneva_stix::DocumentError::Invalid { issues, .. }) => {
            // Taken whole or not at all: every object is a failure, those
            // with a fault saying what it is.
            let mut faults: std::collections::BTreeMap<usize, String> = Default::default();
            for issue in issues
                .iter()
                .filter(|i| i.severity == geneva_stix::Severity::Error)
            {
                if let Some(index) = issue.object_index {
                    faults.entry(index).or_insert_with(|| {
                        format!("{} ({}): {}", issue.path, issue.rule, issue.message)
                    });
                }
            }
            let refused = faults.len();
            let failures = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let message = faults.get(&i).cloned().unwrap_or_else(|| {
                        format!("not added: the envelope is taken whole and {refused} of its objects were refused")
                    });
                    detail(n, i, Some(message))
                })
                .collect::<Vec<_>>();
            (
                Vec::new(),
                failures,
                format!("refused: {refused} invalid objects"),
            )
        }
        Err(other) => {
            return Err(TaxiiError(
                if matches!(other, geneva_stix::DocumentError::TooLarge { .. }) {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                },
                "Bad Request",
                other.to_string(),
            ));
        }
    };
    let status = Status {
        id: uuid::Uuid::new_v4().to_string(),
        status: "complete".into(),
        request_timestamp: Some(request_timestamp.clone()),
        total_count: total,
        success_count: successes.len() as u64,
        successes,
        failure_count: failures.len() as u64,
        failures,
        pending_count: 0,
        pendings: Vec::new(),
    };
    let body = serde_json::to_string(&status).map_err(|e| {
        TaxiiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            e.to_string(),
        )
    })?;
    state
        .store
        .put_request_status(&RequestStatus {
            id: status.id.clone(),
            owner: Some(*organisation),
            created_at: request_timestamp.clone(),
            body,
        })
        .await?;
    state
        .store
        .audit(vec![NewAuditEntry {
            at: request_timestamp,
            actor: format!("org:{organisation_name} token:{token}"),
            action: if status.failure_count == 0 {
                "import"
            } else {
                "import-refused"
            }
            .into(),
            channel: "taxii".into(),
            target: Some(status.id.clone()),
            detail: audit_detail,
        }])
        .await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}

/// `GET {api-root}/status/{id}/`: readable by the organisation that posted
/// (and the operators); to anyone else it does not exist.
async fn status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    check_root(&root)?;
    let Principal::Member { organisation, .. } = &principal else {
        return Err(refused(
            &principal,
            "status resources need a member's token".into(),
        ));
    };
    require_read(&principal)?;
    let found = if id.len() <= 64 {
        state.store.request_status(&id).await?
    } else {
        None
    };
    match found {
        Some(s) if s.owner == Some(*organisation) || principal.has(Scope::Admin) => Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(TAXII_MEDIA_TYPE),
            )],
            s.body,
        )
            .into_response()),
        _ => Err(TaxiiError::not_found(format!("no status {id:.80}"))),
    }
}

/// Under `/taxii2/`, every error answers as a TAXII error message, whoever
/// produced it: authentication, the body limit, the timeout, an unknown path.
pub(crate) async fn errors_as_taxii(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let taxii = request.uri().path().starts_with("/taxii2");
    let response = next.run(request).await;
    let status = response.status();
    if !taxii
        || !(status.is_client_error() || status.is_server_error())
        || response.headers().get(header::CONTENT_TYPE)
            == Some(&HeaderValue::from_static(TAXII_MEDIA_TYPE))
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let description = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                text.chars().take(500).collect()
            }
        });
    let mut out = TaxiiError(
        status,
        status.canonical_reason().unwrap_or("Error"),
        description,
    )
    .into_response();
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// `DELETE …/objects/{id}/`: never permitted. What the body has recorded stays
/// recorded (the transparency log covers every version); an object is
/// withdrawn by submitting a revoked version of it instead.
async fn delete_object(
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    negotiate(&headers)?;
    Err(refused(
        &principal,
        "the record is append-only: withdraw an object by reporting a revoked version of it".into(),
    ))
}
