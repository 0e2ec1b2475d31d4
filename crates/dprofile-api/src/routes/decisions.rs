//! Officers' identity decisions on persons: merge two persons, split a merge, and read a
//! person's history of link decisions with who decided, when, why and on what evidence.
//!
//! Until authentication comes, the officer names themself in the request body (`actor`); the
//! name is kept with the decision as written.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use dprofile_domain::{Rule, Violation};
use dprofile_pipeline::review::{DecisionError, Officer};
use dprofile_store::PersonId;
use serde_json::Value;

use crate::auth::{Caller, Principal};
use crate::problem::{ApiError, Problem};
use crate::routes::persons::parse_person_id;
use crate::routes::records::read_body_limited;
use crate::wire::{DecisionCreatedBody, HistoryBody, LinkDecisionBody, MergeRequest, SplitRequest};
use crate::{ApiContext, run_blocking};

/// Longest `actor`: an officer's login or service name, not a text.
const ACTOR_MAX_CHARS: usize = 200;
/// Longest `reason`: a few sentences an officer writes. Every history read returns it, and
/// it is kept forever, so it is bounded well below the record limit.
const REASON_MAX_CHARS: usize = 2000;

/// A decision request's JSON object, read field by field so that every refusal names its
/// field (`/actor`, `/reason`, …) and all of a body's mistakes are reported at once.
pub(crate) struct DecisionFields {
    object: serde_json::Map<String, Value>,
    violations: Vec<Violation>,
}

impl DecisionFields {
    pub(crate) fn parse(bytes: &[u8]) -> Result<DecisionFields, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| {
            ApiError::invalid_decision_field(
                "",
                Rule::JsonSyntax,
                "the body is not JSON: send an object with `actor` and `reason`",
            )
        })?;
        match value {
            Value::Object(object) => Ok(DecisionFields {
                object,
                violations: Vec::new(),
            }),
            _ => Err(ApiError::invalid_decision_field(
                "",
                Rule::NotAnObject,
                "the body is not a JSON object: send one with `actor` and `reason`",
            )),
        }
    }

    fn refuse(&mut self, name: &str, rule: Rule, message: impl Into<String>) {
        self.violations
            .push(Violation::new(format!("/{name}"), rule, message));
    }

    /// The field's value; a missing or null one is refused.
    pub(crate) fn required(&mut self, name: &str) -> Option<Value> {
        match self.object.get(name) {
            Some(value) if !value.is_null() => Some(value.clone()),
            _ => {
                self.refuse(name, Rule::Required, format!("`{name}` is required"));
                None
            }
        }
    }

    /// A non-blank string of at most `max_chars` characters, trimmed.
    fn text(&mut self, name: &str, max_chars: usize, what_it_says: &str) -> Option<String> {
        let value = self.required(name)?;
        let Some(text) = value.as_str() else {
            self.refuse(name, Rule::Type, format!("`{name}` must be a string"));
            return None;
        };
        let text = text.trim();
        if text.is_empty() {
            self.refuse(
                name,
                Rule::Required,
                format!("`{name}` is empty: {what_it_says}"),
            );
            return None;
        }
        if text.chars().count() > max_chars {
            self.refuse(
                name,
                Rule::Length,
                format!("`{name}` is longer than {max_chars} characters"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    /// An integer id.
    fn id(&mut self, name: &str) -> Option<i64> {
        let value = self.required(name)?;
        let id = value.as_i64();
        if id.is_none() {
            self.refuse(name, Rule::Type, format!("`{name}` must be an integer id"));
        }
        id
    }

    /// Who decides and why; both are kept with the decision. An officer's session decides as
    /// that officer (`officer:<login>`): `actor` may be left out, and one naming anyone else
    /// is refused. An agency key (a case system deciding for its officer) names the officer in
    /// `actor`; the access log keeps the key beside it.
    pub(crate) fn officer(&mut self, caller: &Caller) -> Option<Officer> {
        let left_out = self.object.get("actor").is_none_or(Value::is_null);
        let actor = match &caller.principal {
            Principal::Officer { .. } if left_out => Some(caller.actor()),
            Principal::Officer { .. } => self.signed_in_actor(&caller.actor()),
            Principal::ApiKey { .. } => self.text("actor", ACTOR_MAX_CHARS, "say who decides"),
        };
        let reason = self.text("reason", REASON_MAX_CHARS, "say why");
        Some(Officer {
            actor: actor?,
            reason: reason?,
        })
    }

    /// The `actor` an officer's session wrote, which must be the officer signed in.
    fn signed_in_actor(&mut self, signed_in: &str) -> Option<String> {
        let named = self.text("actor", ACTOR_MAX_CHARS, "leave it out")?;
        if named != signed_in {
            self.refuse(
                "actor",
                Rule::Enum,
                format!(
                    "`actor` names {named}, but this session is {signed_in}'s: an officer \
                     decides as themself (leave `actor` out)"
                ),
            );
            return None;
        }
        Some(named)
    }

    /// Records a refusal of a field read by the caller.
    pub(crate) fn refuse_field(&mut self, name: &str, rule: Rule, message: impl Into<String>) {
        self.refuse(name, rule, message);
    }

    /// The parsed request, or every violation found. `parsed` is `None` only when a field
    /// was refused, which always leaves a violation.
    pub(crate) fn finish<T>(self, parsed: Option<T>) -> Result<T, ApiError> {
        if !self.violations.is_empty() {
            let detail = self
                .violations
                .iter()
                .map(|violation| violation.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ApiError::InvalidDecision {
                detail,
                errors: self.violations,
            });
        }
        parsed.ok_or(ApiError::Internal)
    }
}

/// Reads the decision request body under the per-record limit: a decision is a few fields.
pub(crate) async fn read_decision_fields(
    context: &ApiContext,
    headers: &HeaderMap,
    body: Body,
) -> Result<DecisionFields, ApiError> {
    let bytes = read_body_limited(body, headers, context.state.config.max_record_bytes).await?;
    DecisionFields::parse(&bytes)
}

fn person_from_path(path: Result<Path<String>, PathRejection>) -> Result<PersonId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::NotFound("no such person".to_owned()))?;
    parse_person_id(&text)
}

/// The desk's errors, with a refusal that can only concern one field (the officer was checked
/// before) pointed at that field.
fn desk_error(error: DecisionError, pointer: &str, rule: Rule) -> ApiError {
    match error {
        DecisionError::Invalid(message) => ApiError::invalid_decision_field(pointer, rule, message),
        other => ApiError::from(other),
    }
}

/// Merges the person `from` into this one.
///
/// Everything `from` holds (keys, identifiers, names) moves to this person; `from` then
/// redirects here. The decision is kept with the actor, reason and what moved, so that a split
/// can undo it exactly. The actor is the signed-in officer for an officer's session (`actor` may be left out); an
/// agency key names the officer in `actor`.
#[utoipa::path(
    post,
    path = "/v1/persons/{id}/merge",
    operation_id = "merge_persons",
    tag = "decisions",
    params(("id" = i64, Path, description = "The person that stays.")),
    request_body(content = MergeRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Merged; the decision's id.", body = DecisionCreatedBody),
        (status = 400, description = "Not JSON, `actor` or `reason` missing or empty, `from` not an id or the same person (`invalid_decision`, with pointers).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One of the persons was merged into another; the detail names the person to use (`decision_conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the per-record limit.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn merge(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let into = person_from_path(path)?;
    let mut fields = read_decision_fields(&context, &headers, body).await?;
    let from = fields.id("from");
    let officer = fields.officer(&caller);
    let (from, officer) = fields.finish(from.zip(officer))?;
    let decision_id = merge_persons(&context, into, from, officer).await?;
    Ok((
        StatusCode::CREATED,
        Json(DecisionCreatedBody { decision_id }),
    )
        .into_response())
}

/// Undoes a merge of this person: the merged person gets back exactly what the merge moved,
/// and the two are never linked automatically again.
///
/// The actor is the signed-in officer for an officer's session (`actor` may be left out); an
/// agency key names the officer in `actor`.
#[utoipa::path(
    post,
    path = "/v1/persons/{id}/split",
    operation_id = "split_merge",
    tag = "decisions",
    params(("id" = i64, Path, description = "Either person of the merge.")),
    request_body(content = SplitRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Split; the decision's id.", body = DecisionCreatedBody),
        (status = 400, description = "Not JSON, `actor` or `reason` missing or empty, or `merge_decision_id` not a merge of this person (`invalid_decision`, with pointers).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person or decision.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The merge was already split, or a later merge must be split first (`decision_conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the per-record limit.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn split(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let person_id = person_from_path(path)?;
    let mut fields = read_decision_fields(&context, &headers, body).await?;
    let merge_decision_id = fields.id("merge_decision_id");
    let officer = fields.officer(&caller);
    let (merge_decision_id, officer) = fields.finish(merge_decision_id.zip(officer))?;
    let decision_id = split_merge(&context, person_id, merge_decision_id, officer).await?;
    Ok((
        StatusCode::CREATED,
        Json(DecisionCreatedBody { decision_id }),
    )
        .into_response())
}

/// A person's link decisions, oldest first: automatic merges, officers' merges and splits,
/// review confirmations and rejections, each with who decided, when, why and the evidence.
///
/// A person merged into another keeps its own history here (no redirect): the merge that
/// ended it is part of it.
#[utoipa::path(
    get,
    path = "/v1/persons/{id}/history",
    operation_id = "person_history",
    tag = "decisions",
    params(("id" = i64, Path, description = "Person id.")),
    responses(
        (status = 200, description = "The decisions, oldest first.", body = HistoryBody),
        (status = 404, description = "No such person.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn history(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<HistoryBody>, ApiError> {
    let person_id = person_from_path(path)?;
    let store = context.state.store.clone();
    let decisions = run_blocking(move || {
        if store.person(person_id)?.is_none() {
            return Err(ApiError::NotFound(format!(
                "person {person_id} does not exist"
            )));
        }
        Ok(store.person_decisions(person_id)?)
    })
    .await?;
    Ok(Json(HistoryBody {
        decisions: decisions.into_iter().map(LinkDecisionBody::from).collect(),
    }))
}

/// Merges person `from` into `into` by `officer`, for the API and the officers' console alike.
pub(crate) async fn merge_persons(
    context: &ApiContext,
    into: PersonId,
    from: PersonId,
    officer: Officer,
) -> Result<i64, ApiError> {
    let desk = context.state.identity_desk.clone();
    run_blocking(move || {
        desk.merge(into, from, &officer)
            .map_err(|error| desk_error(error, "/from", Rule::Range))
    })
    .await
}

/// Splits merge `merge_decision_id` of the person the officer is looking at, for the API and
/// the officers' console alike: a merge that is not about that person is refused as a mistyped
/// id.
pub(crate) async fn split_merge(
    context: &ApiContext,
    person_id: PersonId,
    merge_decision_id: i64,
    officer: Officer,
) -> Result<i64, ApiError> {
    let store = context.state.store.clone();
    let desk = context.state.identity_desk.clone();
    run_blocking(move || -> Result<i64, ApiError> {
        if store.person(person_id)?.is_none() {
            return Err(ApiError::NotFound(format!(
                "person {person_id} does not exist"
            )));
        }
        // The path names the person the officer is looking at: a merge of someone else is a
        // mistyped id, not something to undo from here.
        if let Some(decision) = store.decision(merge_decision_id)?
            && decision.person_id != person_id
            && decision.other_person_id != Some(person_id)
        {
            return Err(ApiError::invalid_decision_field(
                "/merge_decision_id",
                Rule::Range,
                format!(
                    "decision {merge_decision_id} is not about person {person_id}: take the id from this person's history"
                ),
            ));
        }
        desk.split(merge_decision_id, &officer)
            .map_err(|error| desk_error(error, "/merge_decision_id", Rule::Enum))
    })
    .await
}
