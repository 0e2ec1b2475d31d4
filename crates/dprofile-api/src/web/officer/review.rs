//! The console's review queue: open items (possible matches, identifier conflicts), one item
//! with its persons side by side and the per-field evidence, and the confirm / reject form.
//! Behind the review desk's gate (`authorize_review`, logged as the API's desk routes are), and
//! the decision is the identity desk's, with the signed-in officer as its actor.

use std::collections::BTreeSet;

use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dprofile_pipeline::review::{Officer, ReviewVerdict};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::persons::{identity_lines, title_of};
use super::{Console, FieldError, check_reason, errors_context, page, see_other};
use crate::auth::authorize_review;
use crate::problem::ApiError;
use crate::routes::review::load_review_detail;
use crate::web::session::OfficerPage;
use crate::wire::{ReviewItemBody, ReviewPersonBody};
use crate::{ApiContext, run_blocking};

/// Most open items the queue page lists (oldest first).
const QUEUE_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    decided: Option<i64>,
    status: Option<String>,
}

/// `/officer/review`: the open items, oldest first.
pub(super) async fn queue(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Query(query): Query<QueueQuery>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    let purpose = match console.require_case(&context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    if let Err(error) = authorize_review(&context, console.caller.clone(), purpose).await {
        return console.error(error);
    }
    let store = context.state.store.clone();
    let items = match run_blocking(move || store.review_items("open", QUEUE_PAGE)).await {
        Ok(items) => items,
        Err(error) => return console.error(error),
    };
    let items: Vec<Json> = items
        .into_iter()
        .map(ReviewItemBody::from)
        .map(|item| {
            json!({
                "id": item.id,
                "kind": item.kind,
                "kind_title": title_of(&item.kind),
                "person_ids": item.person_ids,
                "created_at": item.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
        })
        .collect();
    let decided = query.decided.map(|id| {
        json!({
            "id": id,
            "status": match query.status.as_deref() {
                Some("confirmed") => "confirmed: the persons are merged",
                Some("rejected") => "rejected: the persons stay apart for good",
                _ => "closed",
            },
        })
    });
    page(
        "officer/review_list.html",
        console.context("review", json!({ "items": items, "decided": decided })),
        StatusCode::OK,
    )
}

/// One row of the side-by-side table: a field, each person's values, and whether they agree.
fn comparison_row(label: &str, values: Vec<BTreeSet<String>>) -> Json {
    let known: Vec<&BTreeSet<String>> = values.iter().filter(|set| !set.is_empty()).collect();
    let agreement = if known.len() < 2 {
        "not comparable"
    } else if known.iter().skip(1).all(|set| !set.is_disjoint(known[0])) {
        "agree"
    } else {
        "differ"
    };
    json!({
        "label": label,
        "values": values.iter().map(|set| {
            if set.is_empty() { "—".to_owned() } else { set.iter().cloned().collect::<Vec<_>>().join("; ") }
        }).collect::<Vec<_>>(),
        "agreement": agreement,
    })
}

fn side_by_side(persons: &[ReviewPersonBody]) -> Vec<Json> {
    let identity_field = |field: &str| -> Vec<BTreeSet<String>> {
        persons
            .iter()
            .map(|person| {
                identity_lines(&person.identity)
                    .iter()
                    .filter_map(|line| line.get(field).and_then(Json::as_str))
                    .filter(|text| *text != "—" && !text.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    };
    let identifiers: Vec<BTreeSet<String>> = persons
        .iter()
        .map(|person| person.identifiers.iter().cloned().collect())
        .collect();
    let facts: Vec<BTreeSet<String>> = persons
        .iter()
        .map(|person| {
            person
                .fact_counts
                .iter()
                .map(|(category, count)| format!("{}: {count}", title_of(category)))
                .collect()
        })
        .collect();
    let mut rows = vec![
        comparison_row("Names as written", identity_field("names")),
        comparison_row("Birth date", identity_field("birth_date")),
        comparison_row("Sex", identity_field("sex")),
        comparison_row("Citizenship", identity_field("citizenship")),
        comparison_row("Identifiers", identifiers),
    ];
    // Fact counts describe how much is held, not who the person is: never "agree"/"differ".
    let mut held = comparison_row("Facts held", facts);
    if let Some(object) = held.as_object_mut() {
        object.insert("agreement".to_owned(), json!(""));
    }
    rows.push(held);
    rows
}

/// The evidence of an item: the resolver's per-field contributions for a possible match, the
/// conflicting identifiers for an identifier conflict.
fn evidence_view(evidence: &Json) -> Json {
    let reason = evidence.get("reason").map(|reason| match reason {
        Json::String(text) => title_of(text),
        other => other.to_string(),
    });
    let explanation = evidence.get("explanation");
    let contributions: Vec<Json> = explanation
        .and_then(|explanation| explanation.get("contributions"))
        .and_then(Json::as_array)
        .map(|contributions| {
            contributions
                .iter()
                .map(|contribution| {
                    let number = |field: &str| {
                        contribution
                            .get(field)
                            .and_then(Json::as_f64)
                            .unwrap_or_default()
                    };
                    let weight = number("weight");
                    json!({
                        "field": contribution.get("field").and_then(Json::as_str).map(title_of),
                        "level": contribution.get("level").and_then(Json::as_str).map(title_of),
                        "weight": format!("{weight:+.2}"),
                        "direction": if weight >= 0.0 { "for a match" } else { "against" },
                        "m": format!("{:.3}", number("m")),
                        "u": format!("{:.4}", number("u")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let figure = |field: &str| {
        explanation
            .and_then(|explanation| explanation.get(field))
            .and_then(Json::as_f64)
    };
    let conflicting: Vec<String> = evidence
        .get("conflicting_identifiers")
        .and_then(Json::as_array)
        .map(|identifiers| {
            identifiers
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    json!({
        "reason": reason,
        "contributions": contributions,
        "prior_weight": figure("prior_weight").map(|weight| format!("{weight:+.2}")),
        "match_weight": figure("match_weight").map(|weight| format!("{weight:+.2}")),
        "match_probability": figure("match_probability").map(|probability| format!("{:.1} %", probability * 100.0)),
        "conflicting_identifiers": conflicting,
        "linked_to": evidence.get("linked_to"),
    })
}

/// `/officer/review/{id}`: the item, its persons side by side, the evidence, the decision form.
pub(super) async fn item(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    item_page(
        &context,
        &console,
        &id,
        &DecisionForm::default(),
        &[],
        StatusCode::OK,
    )
    .await
}

fn item_id_of(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("review item `{text}` does not exist")))
}

async fn item_page(
    context: &ApiContext,
    console: &Console,
    id: &str,
    form: &DecisionForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let purpose = match console.require_case(context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let item_id = match item_id_of(id) {
        Ok(item_id) => item_id,
        Err(error) => return console.error(error),
    };
    if let Err(error) = authorize_review(context, console.caller.clone(), purpose).await {
        return console.error(error);
    }
    let store = context.state.store.clone();
    let detail = match run_blocking(move || load_review_detail(store.as_ref(), item_id)).await {
        Ok(detail) => detail,
        Err(error) => return console.error(error),
    };
    let mut fields = json!({
        "item": {
            "id": detail.item.id,
            "kind": detail.item.kind,
            "kind_title": title_of(&detail.item.kind),
            "status": detail.item.status,
            "record_id": detail.item.record_id,
            "created_at": detail.item.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
        "persons": detail.persons.iter().map(|person| json!({
            "person_id": person.person_id,
            "listed_as": person.listed_as,
        })).collect::<Vec<_>>(),
        "rows": side_by_side(&detail.persons),
        "evidence": evidence_view(&detail.item.evidence),
        "form": { "reason": form.reason },
    });
    if let (Some(target), Json::Object(errors)) = (fields.as_object_mut(), errors_context(errors)) {
        target.extend(errors);
    }
    page(
        "officer/review_item.html",
        console.context("review", fields),
        status,
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DecisionForm {
    decision: Option<String>,
    #[serde(default)]
    reason: String,
}

/// Confirms (merge) or rejects (apart for good) an item, as `POST /v1/review/{id}/decision`,
/// with the signed-in officer as the actor.
pub(super) async fn decide(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    let purpose = match console.require_case(&context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let item_id = match item_id_of(&id) {
        Ok(item_id) => item_id,
        Err(error) => return console.error(error),
    };
    let verdict = match form.decision.as_deref() {
        Some("confirm") => Ok((ReviewVerdict::Confirm, "confirmed")),
        Some("reject") => Ok((ReviewVerdict::Reject, "rejected")),
        _ => Err(FieldError::new(
            "decision",
            "Decision is required: press Confirm (one person) or Reject (different persons)",
        )),
    };
    let reason = check_reason("reason", Some(&form.reason));
    let ((verdict, status), reason) = match (verdict, reason) {
        (Ok(verdict), Ok(reason)) => (verdict, reason),
        (verdict, reason) => {
            let errors: Vec<FieldError> = [verdict.err(), reason.err()]
                .into_iter()
                .flatten()
                .collect();
            return item_page(
                &context,
                &console,
                &id,
                &form,
                &errors,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if let Err(error) = authorize_review(&context, console.caller.clone(), purpose).await {
        return console.error(error);
    }
    let officer = Officer {
        actor: console.caller.actor(),
        reason,
    };
    let desk = context.state.identity_desk.clone();
    let decided = run_blocking(move || {
        desk.decide(item_id, verdict, &officer)
            .map_err(ApiError::from)
    })
    .await;
    match decided {
        Ok(_) => see_other(&format!(
            "/officer/review?decided={item_id}&status={status}"
        )),
        Err(error) => console.error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_possible_match_shows_each_fields_contribution() {
        let evidence = json!({
            "reason": "between_thresholds",
            "explanation": {
                "prior_weight": -9.5,
                "match_weight": 3.25,
                "match_probability": 0.905,
                "contributions": [
                    {"field": "family_name", "level": "exact", "m": 0.9, "u": 0.001,
                     "weight": 9.81, "term_frequency_adjustment": 0.0},
                    {"field": "birth_date", "level": "different", "m": 0.05, "u": 0.9,
                     "weight": -4.17, "term_frequency_adjustment": 0.0},
                ],
            },
        });
        let view = evidence_view(&evidence);
        assert_eq!(view["reason"], "Between thresholds");
        assert_eq!(view["contributions"][0]["field"], "Family name");
        assert_eq!(view["contributions"][0]["weight"], "+9.81");
        assert_eq!(view["contributions"][0]["direction"], "for a match");
        assert_eq!(view["contributions"][1]["weight"], "-4.17");
        assert_eq!(view["contributions"][1]["direction"], "against");
        assert_eq!(view["match_probability"], "90.5 %");
        assert_eq!(view["conflicting_identifiers"], json!([]));
    }

    #[test]
    fn the_side_by_side_rows_say_whether_the_persons_agree() {
        let set = |values: &[&str]| values.iter().map(|value| (*value).to_owned()).collect();
        assert_eq!(
            comparison_row(
                "Birth date",
                vec![set(&["1991-07-14"]), set(&["1991-07-14", "1991"])]
            )["agreement"],
            "agree"
        );
        assert_eq!(
            comparison_row("Identifiers", vec![set(&["snils:1"]), set(&["snils:2"])])["agreement"],
            "differ"
        );
        let row = comparison_row("Sex", vec![set(&["M"]), set(&[])]);
        assert_eq!(row["agreement"], "not comparable");
        assert_eq!(row["values"][1], "—");
    }
}
