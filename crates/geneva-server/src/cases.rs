//! `/api/v1/cases`: the panel's steps over HTTP, the same as `geneva case`
//! (`geneva_analysis::cases`) and with the same rules. Reading cases and
//! their work needs the `analyse` or `vote` scope (case files hold notes
//! and votes, which are the panel's until published); opening, assigning,
//! drafting, moving and publishing need `analyse`; voting needs `vote` and
//! a user's token, and counts as that user; releasing an item for
//! publication is its owner's: the organisation that submitted it (scope
//! `submit`), or an operator.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use geneva_access::{Principal, Scope};
use geneva_analysis::cases::{self, CaseOpError, NewCase, NewDraft, Publication, ToStore, Who};
use geneva_panel::{CaseFile, Supersedes};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::require;
use crate::error::ApiError;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", get(list).post(open))
        .route("/api/v1/cases/{id}", get(show))
        .route("/api/v1/cases/{id}/members", post(assign))
        .route("/api/v1/cases/{id}/notes", post(note))
        .route("/api/v1/cases/{id}/examine", post(examine))
        .route("/api/v1/cases/{id}/draft", post(draft))
        .route("/api/v1/cases/{id}/status", post(status))
        .route("/api/v1/cases/{id}/votes", post(vote))
        .route("/api/v1/cases/{id}/releases", post(release))
        .route("/api/v1/cases/{id}/publish", post(publish))
}

fn op_error(e: CaseOpError) -> ApiError {
    match e {
        CaseOpError::Store(s) => ApiError::from(s),
        CaseOpError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
        CaseOpError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
        CaseOpError::Rules(r) => ApiError::new(StatusCode::CONFLICT, "case_rules", r.to_string()),
        CaseOpError::Lifecycle(r) => {
            ApiError::new(StatusCode::CONFLICT, "case_rules", r.to_string())
        }
        CaseOpError::Finding(r) => ApiError::new(StatusCode::CONFLICT, "case_rules", r.to_string()),
        other => {
            tracing::error!(error = %other, "case step failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the case step failed; the server log has details",
            )
        }
    }
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(format!("bad request body: {}", e.body_text())))
}

/// Reading a case: its notes and votes are the panel's.
fn require_panel(principal: &Principal) -> Result<(), ApiError> {
    if principal.has(Scope::Analyse) || principal.has(Scope::Vote) {
        Ok(())
    } else {
        require(principal, Scope::Analyse)
    }
}

/// Who acts: the token's user if it has one, else its organisation.
async fn who(state: &AppState, principal: &Principal) -> Result<Who, ApiError> {
    let Principal::Member {
        organisation_name,
        user,
        ..
    } = principal
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this needs a token",
        ));
    };
    let name = match user {
        Some(u) => state
            .store
            .users()
            .await?
            .into_iter()
            .find(|x| x.id == *u)
            .map(|x| x.name)
            .unwrap_or_else(|| organisation_name.clone()),
        None => organisation_name.clone(),
    };
    Ok(Who {
        name,
        actor: crate::api::actor_of(principal),
        channel: "api",
    })
}

fn now() -> String {
    geneva_stix::timestamp::now_rfc3339()
}

fn file_json(file: &CaseFile) -> Value {
    let mut v = serde_json::to_value(file).unwrap_or(Value::Null);
    v["tally"] = serde_json::to_value(file.tally()).unwrap_or(Value::Null);
    v
}

/// Stores a step's objects like a submission: validated, all or nothing,
/// then into the log.
async fn store_objects(state: &AppState, to_store: ToStore) -> Result<(), ApiError> {
    let prepared = to_store.prepare().map_err(op_error)?;
    state.store.import(prepared, to_store.provenance).await?;
    crate::integrate_pending(&state.log).await;
    Ok(())
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let out: Vec<Value> = list_cases(&state, &principal)
        .await?
        .into_iter()
        .map(|file| {
            json!({"case": file.case.id, "title": file.case.title,
                   "status": file.case.status.as_str(), "subjects": file.case.subjects})
        })
        .collect();
    Ok(Json(json!({"cases": out})))
}

/// Every case, for a panel member.
pub(crate) async fn list_cases(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<CaseFile>, ApiError> {
    require_panel(principal)?;
    Ok(state
        .store
        .cases()
        .await?
        .into_iter()
        .filter_map(|record| serde_json::from_str::<CaseFile>(&record.document).ok())
        .collect())
}

/// One case, for a panel member, with its revision.
pub(crate) async fn show_case(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(CaseFile, u64), ApiError> {
    require_panel(principal)?;
    let (file, revision) = cases::load(state.store.as_ref(), id)
        .await
        .map_err(op_error)?;
    Ok((file, revision))
}

async fn show(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (file, revision) = show_case(&state, &principal, &id).await?;
    let mut v = file_json(&file);
    v["revision"] = json!(revision);
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenBody {
    pub title: String,
    pub subjects: Vec<String>,
    #[serde(default)]
    pub sponsors: Vec<String>,
    pub corrects: Option<String>,
    pub retracts: Option<String>,
    /// Default 5.
    pub quorum: Option<usize>,
    /// [numerator, denominator]; default [2, 3].
    pub majority: Option<(usize, usize)>,
    /// Which conflicts recuse; default all.
    pub conflicts: Option<geneva_panel::ConflictRules>,
}

pub(crate) async fn open_case(
    state: &AppState,
    principal: &Principal,
    b: OpenBody,
) -> Result<CaseFile, ApiError> {
    require(principal, Scope::Analyse)?;
    if b.corrects.is_some() && b.retracts.is_some() {
        return Err(ApiError::bad_request("corrects or retracts, not both"));
    }
    let supersedes = Supersedes::from_choice(b.corrects, b.retracts);
    let who = who(state, principal).await?;
    cases::open(
        state.store.as_ref(),
        &crate::api::viewer_of(principal),
        &who,
        NewCase {
            title: b.title,
            subjects: b.subjects,
            sponsors: b.sponsors,
            supersedes,
            voting: Some(geneva_panel::VotingRules {
                quorum: b.quorum.unwrap_or(5),
                majority: b.majority.unwrap_or((2, 3)),
            }),
            conflicts: b.conflicts,
        },
    )
    .await
    .map_err(op_error)
}

async fn open(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    json: Result<Json<OpenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require(&principal, Scope::Analyse)?;
    let file = open_case(&state, &principal, body(json)?).await?;
    Ok((StatusCode::CREATED, Json(file_json(&file))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembersBody {
    pub users: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftBody {
    pub title: String,
    pub actor: Option<String>,
    pub actor_name: Option<String>,
    pub sponsor: Option<String>,
    pub probability: f64,
    pub confidence: String,
    /// norm id → verdict; absent: from the subjects' assessments.
    #[serde(default)]
    pub norms: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteBody {
    pub opinion: String,
    pub explanation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    pub id: String,
}

/// A step on a case, as the API and the workspace take it.
pub(crate) enum Step {
    Assign(MembersBody),
    Note(NoteBody),
    Examine,
    Draft(DraftBody),
    Status(StatusBody),
    Vote(VoteBody),
    Release(ReleaseBody),
}

/// Takes one step on case `id` as `principal`, with the rules of each.
pub(crate) async fn step(
    state: &AppState,
    principal: &Principal,
    id: &str,
    step: Step,
) -> Result<CaseFile, ApiError> {
    match step {
        Step::Assign(b) => {
            require(principal, Scope::Analyse)?;
            let who = who(state, principal).await?;
            cases::assign(state.store.as_ref(), &who, id, &b.users)
                .await
                .map_err(op_error)
        }
        Step::Note(b) => {
            require_panel(principal)?;
            let who = who(state, principal).await?;
            cases::note(state.store.as_ref(), &who, id, &b.text, &now())
                .await
                .map_err(op_error)
        }
        Step::Examine => examine_case(state, principal, id).await,
        Step::Draft(b) => {
            require(principal, Scope::Analyse)?;
            let actor = match (b.actor, b.actor_name) {
                (Some(a), Some(n)) => Some((a, n)),
                (None, None) => None,
                _ => return Err(ApiError::bad_request("actor and actor_name go together")),
            };
            let who = who(state, principal).await?;
            cases::draft(
                state.store.as_ref(),
                &who,
                id,
                NewDraft {
                    title: b.title,
                    actor,
                    sponsor: b.sponsor,
                    probability: b.probability,
                    confidence: b.confidence,
                    norms: b.norms.into_iter().collect(),
                },
                &now(),
            )
            .await
            .map_err(op_error)
        }
        Step::Status(b) => {
            require(principal, Scope::Analyse)?;
            let who = who(state, principal).await?;
            cases::transition(state.store.as_ref(), &who, id, &b.status, &now(), b.reason)
                .await
                .map_err(op_error)
        }
        Step::Vote(b) => {
            require(principal, Scope::Vote)?;
            let Principal::Member { user: Some(_), .. } = principal else {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "a vote is a panel member's: use the member's own user token",
                ));
            };
            let who = who(state, principal).await?;
            let (file, to_store) = cases::vote(
                state.store.as_ref(),
                &who,
                id,
                &who.name.clone(),
                &b.opinion,
                b.explanation,
                &now(),
            )
            .await
            .map_err(op_error)?;
            store_objects(state, to_store).await?;
            Ok(file)
        }
        Step::Release(b) => release_item(state, principal, id, b).await,
    }
}

async fn assign(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<MembersBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&principal, Scope::Analyse)?;
    let file = step(&state, &principal, &id, Step::Assign(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

async fn note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<NoteBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require_panel(&principal)?;
    let file = step(&state, &principal, &id, Step::Note(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

/// Attaches each subject's attribution (if a knowledge base is imported)
/// and norm assessment, as the caller may see them.
async fn examine(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let file = step(&state, &principal, &id, Step::Examine).await?;
    Ok(Json(file_json(&file)))
}

async fn examine_case(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<CaseFile, ApiError> {
    require(principal, Scope::Analyse)?;
    let who = who(state, principal).await?;
    let viewer = crate::api::viewer_of(principal);
    let (file, _) = cases::load(state.store.as_ref(), id)
        .await
        .map_err(op_error)?;
    let catalogue = geneva_norms::Catalogue::shipped();
    let attributor = crate::attribution::attributor_if_any(state).await?;
    let mut analyses = Vec::new();
    for subject in &file.case.subjects {
        let Some(objects) =
            geneva_analysis::attribution::stored_objects(state.store.as_ref(), &viewer, subject)
                .await
                .map_err(crate::attribution::analysis_error)?
        else {
            return Err(ApiError::not_found(subject));
        };
        let facts = geneva_norms::Facts::from_stix(&objects, Some(subject)).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-facts", e.to_string())
        })?;
        let attribution = match &attributor {
            Some(a) => geneva_analysis::attribution::attribute_stored(
                &state.index,
                &viewer,
                subject,
                a,
                state.config.correlation.clone(),
                state.config.warning_lists.clone(),
            )
            .await
            .map_err(crate::attribution::analysis_error)?,
            None => None,
        };
        analyses.push(cases::analysis(
            &catalogue,
            subject,
            facts,
            attribution.as_ref(),
            &now(),
        ));
    }
    cases::attach_analyses(state.store.as_ref(), &who, id, analyses)
        .await
        .map_err(op_error)
}

async fn draft(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<DraftBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&principal, Scope::Analyse)?;
    let file = step(&state, &principal, &id, Step::Draft(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

async fn status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<StatusBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&principal, Scope::Analyse)?;
    let file = step(&state, &principal, &id, Step::Status(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

async fn vote(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<VoteBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&principal, Scope::Vote)?;
    let file = step(&state, &principal, &id, Step::Vote(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

async fn release(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    json: Result<Json<ReleaseBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&principal, Scope::Submit).or_else(|_| require(&principal, Scope::Admin))?;
    let file = step(&state, &principal, &id, Step::Release(body(json)?)).await?;
    Ok(Json(file_json(&file)))
}

async fn release_item(
    state: &AppState,
    principal: &Principal,
    id: &str,
    b: ReleaseBody,
) -> Result<CaseFile, ApiError> {
    // Releasing is the owner's decision, not the panel's: the organisation
    // that submitted the item, or the instance's operators.
    require(principal, Scope::Submit).or_else(|_| require(principal, Scope::Admin))?;
    if !principal.has(Scope::Admin) {
        let Principal::Member {
            organisation_name, ..
        } = principal
        else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this needs a token",
            ));
        };
        let owned = state
            .store
            .versions(&b.id, &crate::api::viewer_of(principal))
            .await?
            .iter()
            .any(|v| &v.organisation == organisation_name);
        if !owned {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "only the organisation that submitted {} may release it for publication",
                    b.id
                ),
            ));
        }
    }
    let who = who(state, principal).await?;
    cases::release(state.store.as_ref(), &who, id, &b.id)
        .await
        .map_err(op_error)
}

/// Publishes case `id`'s finding (idempotent: a repeat answers with the
/// finding already published).
pub(crate) async fn publish_case(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<geneva_panel::Published, ApiError> {
    require(principal, Scope::Analyse)?;
    let who = who(state, principal).await?;
    Ok(
        match cases::prepare_publication(state.store.as_ref(), id, &now())
            .await
            .map_err(op_error)?
        {
            Publication::Done(p) => p,
            Publication::Ready {
                file,
                revision,
                to_store,
                published,
            } => {
                store_objects(state, to_store).await?;
                cases::finish_publication(
                    state.store.as_ref(),
                    &who,
                    *file,
                    revision,
                    published.clone(),
                )
                .await
                .map_err(op_error)?;
                published
            }
        },
    )
}

async fn publish(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let published = publish_case(&state, &principal, &id).await?;
    Ok(Json(
        json!({"case": id, "report": published.report, "at": published.at,
                   "objects": published.objects, "url": format!("/findings/{}", published.report)}),
    ))
}
