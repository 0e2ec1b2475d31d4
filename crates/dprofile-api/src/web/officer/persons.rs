//! The console's person pages: search, the profile with its statuses, and the person's history
//! with the merge and split forms. Each calls the API route's own function, so the policy
//! decision and the access-log entry are the API's.

use axum::extract::{Form, OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dprofile_pipeline::corrections::{CorrectionDesk, CorrectionState};
use dprofile_pipeline::profile::{Fact, Profile, ProfileLookup};
use dprofile_pipeline::review::Officer;
use dprofile_store::PersonId;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::{Console, FieldError, check_reason, errors_context, page, see_other};
use crate::auth::authorize_review;
use crate::problem::ApiError;
use crate::routes::decisions::{merge_persons, split_merge};
use crate::routes::persons::{SearchQuery, read_profile, search_persons};
use crate::routes::status::allowed_statuses;
use crate::web::session::OfficerPage;
use crate::wire::LinkDecisionBody;
use crate::{ApiContext, run_blocking};

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    document: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
}

fn search_form(console: &Console, form: &SearchForm, results: Json, errors: &[FieldError]) -> Json {
    let mut fields = json!({ "form": form, "results": results });
    if let (Some(target), Json::Object(errors)) = (fields.as_object_mut(), errors_context(errors)) {
        target.extend(errors);
    }
    console.context("search", fields)
}

/// `/officer`: the search form (after the purpose and case are stated).
pub(super) async fn search_page(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    if let Err(form) = console.require_case(&context) {
        return *form;
    }
    page(
        "officer/search.html",
        search_form(&console, &SearchForm::default(), Json::Null, &[]),
        StatusCode::OK,
    )
}

/// A search is a POST (the identifiers stay out of addresses and histories); a GET of its
/// address (after signing in again) goes back to the form.
pub(super) async fn search_again(_officer: OfficerPage) -> Response {
    see_other("/officer")
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Searches as `GET /v1/persons` does: by document, identifier, or name with birth date;
/// every person found is in the access log with the stated purpose and case.
pub(super) async fn search(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Form(form): Form<SearchForm>,
) -> Response {
    let mut console = Console::new(officer, &context, &headers, &uri);
    console.here = "/officer".to_owned();
    let purpose = match console.require_case(&context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let query = SearchQuery {
        document: non_empty(&form.document),
        identifier: non_empty(&form.identifier),
        name: non_empty(&form.name),
        birth_date: non_empty(&form.birth_date),
    };
    match search_persons(&context, console.caller.clone(), purpose, query).await {
        Ok(persons) => page(
            "officer/search.html",
            search_form(&console, &form, json!(persons), &[]),
            StatusCode::OK,
        ),
        Err(ApiError::InvalidQuery { detail, errors }) => {
            let field_errors: Vec<FieldError> = if errors.is_empty() {
                vec![FieldError::new(
                    "document",
                    "Fill in one way to search: a document number, an identifier, or a name with a birth date",
                )]
            } else {
                errors
                    .iter()
                    .map(|violation| {
                        let field = violation.pointer.trim_start_matches('/');
                        FieldError::new(field, field_message(field, &violation.message))
                    })
                    .collect()
            };
            tracing::debug!(%detail, "a console search was refused");
            page(
                "officer/search.html",
                search_form(&console, &form, Json::Null, &field_errors),
                StatusCode::BAD_REQUEST,
            )
        }
        Err(error) => console.error(error),
    }
}

/// The API's message with the field named as the form labels it.
fn field_message(field: &str, message: &str) -> String {
    let label = match field {
        "document" => "Document number",
        "identifier" => "Identifier",
        "name" => "Name",
        "birth_date" => "Birth date",
        other => other,
    };
    format!("{label}: {message}")
}

/// One fact as the profile page shows it.
#[derive(Debug, Serialize)]
struct FactView {
    fields: Vec<(String, String)>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    record_id: i64,
    source: String,
    source_ref: String,
    revision: u32,
    received_at: String,
    observed_at: Option<String>,
    disputed: Vec<DisputeView>,
}

#[derive(Debug, Serialize)]
struct DisputeView {
    request_id: i64,
    since: String,
    fields: Vec<String>,
    status: String,
}

#[derive(Debug, Serialize)]
struct CategoryView {
    code: String,
    title: String,
    facts: Vec<FactView>,
}

/// A value of a record's `data` as text: strings as they are, anything else as compact JSON.
fn display_value(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

pub(super) fn title_of(code: &str) -> String {
    let mut title = code.replace('_', " ");
    if let Some(first) = title.get(..1) {
        let upper = first.to_uppercase();
        title.replace_range(..1, &upper);
    }
    title
}

fn fact_view(fact: &Fact) -> FactView {
    let fields = match &fact.data {
        Json::Object(object) => object
            .iter()
            .map(|(name, value)| (title_of(name), display_value(value)))
            .collect(),
        other => vec![("Data".to_owned(), display_value(other))],
    };
    FactView {
        fields,
        valid_from: fact.valid_from.map(|date| date.to_string()),
        valid_to: fact.valid_to.map(|date| date.to_string()),
        record_id: fact.cited.record_id,
        source: fact.cited.source.clone(),
        source_ref: fact.cited.source_ref.clone(),
        revision: fact.cited.revision,
        received_at: fact.cited.received_at.date_naive().to_string(),
        observed_at: fact
            .cited
            .observed_at
            .map(|instant| instant.date_naive().to_string()),
        disputed: fact
            .disputed
            .iter()
            .map(|marker| DisputeView {
                request_id: marker.correction_id,
                since: marker.since.date_naive().to_string(),
                fields: marker.fields.clone(),
                status: marker.status.code().to_owned(),
            })
            .collect(),
    }
}

/// The ways the sources wrote the person's identity, as lines of text.
pub(super) fn identity_lines(identity: &[Json]) -> Vec<Json> {
    identity
        .iter()
        .map(|written| {
            let names: Vec<String> = written
                .get("names")
                .and_then(Json::as_array)
                .map(|names| {
                    names
                        .iter()
                        .map(|name| {
                            let parts: Vec<&str> = ["family", "given", "patronymic"]
                                .iter()
                                .filter_map(|part| name.get(*part).and_then(Json::as_str))
                                .collect();
                            parts.join(" ")
                        })
                        .filter(|name| !name.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let text = |field: &str| {
                written
                    .get(field)
                    .and_then(Json::as_str)
                    .unwrap_or("—")
                    .to_owned()
            };
            json!({
                "names": names.join(" / "),
                "birth_date": text("birth_date"),
                "sex": text("sex"),
                "citizenship": text("citizenship"),
            })
        })
        .collect()
}

fn profile_context(profile: &Profile) -> Json {
    let categories: Vec<CategoryView> = profile
        .facts
        .iter()
        .map(|(code, facts)| CategoryView {
            code: code.clone(),
            title: title_of(code),
            facts: facts.iter().map(fact_view).collect(),
        })
        .collect();
    json!({
        "person_id": profile.person_id,
        "identifiers": profile.identifiers,
        "identity": identity_lines(&profile.identity),
        "categories": categories,
    })
}

fn person_id_of(text: &str) -> Result<PersonId, ApiError> {
    crate::routes::persons::parse_person_id(text)
}

/// `/officer/persons/{id}`: the profile as the policy shows it for the stated purpose, read
/// and logged as `GET /v1/persons/{id}`, with the statuses computed from the same facts.
pub(super) async fn profile(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    let purpose = match console.require_case(&context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let person_id = match person_id_of(&id) {
        Ok(person_id) => person_id,
        Err(error) => return console.error(error),
    };
    let read = read_profile(
        &context,
        console.caller.clone(),
        purpose,
        person_id,
        None,
        None,
    )
    .await;
    match read {
        Ok((ProfileLookup::Found(profile), allowance)) => {
            let statuses = allowed_statuses(&context, person_id, &profile, &allowance);
            let mut fields = profile_context(&profile);
            if let Some(object) = fields.as_object_mut() {
                object.insert("report".to_owned(), json!(statuses));
            }
            page(
                "officer/person.html",
                console.context("person", fields),
                StatusCode::OK,
            )
        }
        Ok((ProfileLookup::Merged { into }, _)) => see_other(&format!("/officer/persons/{into}")),
        Ok((ProfileLookup::NotFound, _)) => console.error(ApiError::NotFound(format!(
            "person {person_id} does not exist"
        ))),
        Err(error) => console.error(error),
    }
}

/// `/officer/persons/{id}/history`: the person's link decisions (automatic links, merges,
/// splits, review verdicts) and correction requests, behind the review desk's gate (as `GET
/// /v1/persons/{id}/history`), with the merge and split forms.
pub(super) async fn history(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    history_page(&context, &console, &id, None, &[], StatusCode::OK).await
}

async fn history_page(
    context: &ApiContext,
    console: &Console,
    id: &str,
    form: Option<&DecisionForm>,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let purpose = match console.require_case(context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let person_id = match person_id_of(id) {
        Ok(person_id) => person_id,
        Err(error) => return console.error(error),
    };
    if let Err(error) = authorize_review(context, console.caller.clone(), purpose).await {
        return console.error(error);
    }
    let work_context = context.clone();
    let loaded = run_blocking(move || {
        let store = work_context.state.store.as_ref();
        let Some(person) = store.person(person_id)? else {
            return Err(ApiError::NotFound(format!(
                "person {person_id} does not exist"
            )));
        };
        let decisions = store.person_decisions(person_id)?;
        let desk = CorrectionDesk {
            store,
            config: &work_context.state.config.corrections,
        };
        let corrections = desk.of_person(person_id)?;
        Ok::<_, ApiError>((person, decisions, corrections))
    })
    .await;
    let (person, decisions, corrections) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return console.error(error),
    };
    let now = context.state.clock.now();
    let decisions: Vec<LinkDecisionBody> =
        decisions.into_iter().map(LinkDecisionBody::from).collect();
    let splittable: Vec<i64> = decisions
        .iter()
        .filter(|decision| decision.kind == "merge")
        .map(|decision| decision.id)
        .collect();
    let decisions: Vec<Json> = decisions
        .iter()
        .map(|decision| {
            json!({
                "id": decision.id,
                "kind": decision.kind,
                "person_id": decision.person_id,
                "other_person_id": decision.other_person_id,
                "record_id": decision.record_id,
                "actor": decision.actor,
                "reason": decision.reason,
                "decided_at": decision.decided_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "evidence": evidence_summary(&decision.evidence),
            })
        })
        .collect();
    // The history shows the requests without their texts, as `dprofile corrections list`
    // does: what was disputed and how it stands, not what the person wrote.
    let corrections: Vec<Json> = corrections
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "record_id": row.record_id,
                "source": row.source,
                "source_ref": row.source_ref,
                "category": row.category.as_deref().map(title_of),
                "fields": row.fields,
                "filed_at": row.filed_at.date_naive().to_string(),
                "status": CorrectionState::of(row, now).code(),
            })
        })
        .collect();
    let form = form.cloned().unwrap_or_default();
    let mut fields = json!({
        "person_id": person_id,
        "merged_into": person.merged_into,
        "decisions": decisions,
        "splittable": splittable,
        "corrections": corrections,
        "form": form,
    });
    if let (Some(target), Json::Object(errors)) = (fields.as_object_mut(), errors_context(errors)) {
        target.extend(errors);
    }
    page(
        "officer/history.html",
        console.context("person", fields),
        status,
    )
}

/// A decision's evidence in a line: what a merge moved, or the evidence's own reason.
fn evidence_summary(evidence: &Json) -> String {
    if let Some(moves) = evidence.get("moves") {
        let count = |field: &str| {
            moves
                .get(field)
                .and_then(Json::as_array)
                .map_or(0, Vec::len)
        };
        return format!(
            "moved {} record keys, {} identifiers, {} name rows; {} persons redirected",
            count("key_ids"),
            count("identifiers"),
            count("name_keys_moved"),
            count("redirected_persons")
        );
    }
    match evidence {
        Json::Null => String::new(),
        Json::Object(object) if object.is_empty() => String::new(),
        other => other.to_string(),
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    merge_decision_id: String,
    #[serde(default)]
    reason: String,
}

fn id_field(field: &str, label: &str, text: &str) -> Result<i64, FieldError> {
    text.trim().parse::<i64>().map_err(|_| {
        FieldError::new(
            field,
            format!("{label} must be a number: copy it from the search results or the history"),
        )
    })
}

/// Where a desk refusal belongs on the form.
fn desk_field_error(error: ApiError, field: &str) -> Result<FieldError, ApiError> {
    match error {
        ApiError::InvalidDecision { detail, .. } => Ok(FieldError::new(field, detail)),
        other => Err(other),
    }
}

/// Merges another person into this one, as `POST /v1/persons/{id}/merge`, by the signed-in
/// officer.
pub(super) async fn merge(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let mut console = Console::new(officer, &context, &headers, &uri);
    console.here = format!("/officer/persons/{id}/history");
    decide_on_person(&context, &console, &id, form, DeskAction::Merge).await
}

/// Splits one of this person's merges, as `POST /v1/persons/{id}/split`, by the signed-in
/// officer.
pub(super) async fn split(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let mut console = Console::new(officer, &context, &headers, &uri);
    console.here = format!("/officer/persons/{id}/history");
    decide_on_person(&context, &console, &id, form, DeskAction::Split).await
}

#[derive(Clone, Copy)]
enum DeskAction {
    Merge,
    Split,
}

async fn decide_on_person(
    context: &ApiContext,
    console: &Console,
    id: &str,
    form: DecisionForm,
    action: DeskAction,
) -> Response {
    let purpose = match console.require_case(context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let person_id = match person_id_of(id) {
        Ok(person_id) => person_id,
        Err(error) => return console.error(error),
    };
    let (id_field_name, reason_field) = match action {
        DeskAction::Merge => ("from", "merge_reason"),
        DeskAction::Split => ("merge_decision_id", "split_reason"),
    };
    let other = match action {
        DeskAction::Merge => id_field("from", "Person to merge in", &form.from),
        DeskAction::Split => id_field(
            "merge_decision_id",
            "Merge to undo",
            &form.merge_decision_id,
        ),
    };
    let reason = check_reason(reason_field, Some(&form.reason));
    let (other, reason) = match (other, reason) {
        (Ok(other), Ok(reason)) => (other, reason),
        (other, reason) => {
            let errors: Vec<FieldError> =
                [other.err(), reason.err()].into_iter().flatten().collect();
            return history_page(
                context,
                console,
                id,
                Some(&form),
                &errors,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if let Err(error) = authorize_review(context, console.caller.clone(), purpose).await {
        return console.error(error);
    }
    // The actor is the signed-in officer, never a field of the form.
    let officer = Officer {
        actor: console.caller.actor(),
        reason,
    };
    let decided = match action {
        DeskAction::Merge => merge_persons(context, person_id, other, officer).await,
        DeskAction::Split => split_merge(context, person_id, other, officer).await,
    };
    match decided {
        Ok(_) => see_other(&format!("/officer/persons/{person_id}/history")),
        Err(error) => match desk_field_error(error, id_field_name) {
            Ok(field_error) => {
                history_page(
                    context,
                    console,
                    id,
                    Some(&form),
                    &[field_error],
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            Err(error) => console.error(error),
        },
    }
}
