//! The console's correction queue: the persons' requests about records of the officer's
//! agency, read as `GET /v1/corrections` reads them (the `correct` action for the stated
//! purpose, one log entry per person listed), with an answer form per open request (as `POST
//! /v1/corrections/{id}/answer`). A role that may not answer sees a clear refusal.

use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dprofile_pipeline::corrections::Verdict;
use dprofile_policy::{AccessRequest, Action};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::persons::title_of;
use super::{Console, FieldError, errors_context, page, see_other};
use crate::ApiContext;
use crate::problem::ApiError;
use crate::routes::corrections::{CorrectionBody, QueueFilter, agency_queue, answer_request};
use crate::web::session::OfficerPage;

/// Most requests the queue page lists.
const QUEUE_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    answered: Option<i64>,
}

/// The purposes of the officer's role under which it may answer correction requests.
fn answering_purposes(context: &ApiContext, console: &Console) -> Vec<String> {
    let policy = &context.state.policy;
    policy
        .purposes_of(&console.caller.role)
        .into_iter()
        .filter(|purpose| {
            policy
                .decide(&AccessRequest {
                    role: &console.caller.role,
                    agency: &console.caller.agency,
                    purpose,
                    case_ref: Some("any"),
                    action: Action::Correct,
                })
                .is_ok()
        })
        .map(str::to_owned)
        .collect()
}

/// `/officer/corrections`: the agency's queue.
pub(super) async fn queue(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Query(query): Query<QueueQuery>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    queue_page(
        &context,
        &console,
        query.answered,
        None,
        &[],
        StatusCode::OK,
    )
    .await
}

async fn queue_page(
    context: &ApiContext,
    console: &Console,
    answered: Option<i64>,
    failed: Option<(i64, &AnswerForm)>,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let purpose = match console.require_case(context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let answering = answering_purposes(context, console);
    if answering.is_empty() {
        // Logged like the API's refusal: the same decision, through the same function.
        let refused = agency_queue(
            context,
            console.caller.clone(),
            purpose,
            QueueFilter {
                status: None,
                overdue: false,
                after_id: 0,
                limit: 1,
            },
        )
        .await;
        let message = match refused {
            Err(error) => error.to_string(),
            Ok(_) => String::new(),
        };
        return page(
            "officer/corrections.html",
            console.context(
                "corrections",
                json!({
                    "refusal": format!(
                        "Your role ({}) may not answer correction requests: they are answered by officers whose role holds the correction-handling grant. {message}",
                        console.caller.role
                    ),
                    "answering": answering,
                    "requests": [],
                    "answered": null,
                }),
            ),
            StatusCode::FORBIDDEN,
        );
    }
    let rows = agency_queue(
        context,
        console.caller.clone(),
        purpose,
        QueueFilter {
            status: None,
            overdue: false,
            after_id: 0,
            limit: QUEUE_PAGE,
        },
    )
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(ApiError::Refused(refusal)) => {
            return page(
                "officer/corrections.html",
                console.context(
                    "corrections",
                    json!({
                        "refusal": format!(
                            "{} — correction requests are answered for the purpose {}: change the purpose to it.",
                            refusal.message,
                            answering.join(" or ")
                        ),
                        "answering": answering,
                        "requests": [],
                        "answered": null,
                    }),
                ),
                StatusCode::FORBIDDEN,
            );
        }
        Err(error) => return console.error(error),
    };
    let now = context.state.clock.now();
    let requests: Vec<Json> = rows
        .into_iter()
        .map(|row| CorrectionBody::of(row, now))
        .map(|request| {
            let form = failed
                .filter(|(id, _)| *id == request.id)
                .map(|(_, form)| json!({ "verdict": form.verdict, "answer": form.answer }));
            json!({
                "id": request.id,
                "person_id": request.person_id,
                "record_id": request.record_id,
                "source": request.source,
                "source_ref": request.source_ref,
                "category": request.category.as_deref().map(title_of),
                "fields": request.fields,
                "explanation": request.explanation,
                "filed_at": request.filed_at.date_naive().to_string(),
                "due_at": request.due_at.date_naive().to_string(),
                "status": request.status,
                "answerable": request.status == "open" || request.status == "overdue",
                "answer": request.answer,
                "form": form,
            })
        })
        .collect();
    let mut fields = json!({
        "refusal": null,
        "answering": answering,
        "requests": requests,
        "answered": answered,
        "failed_id": failed.map(|(id, _)| id),
    });
    if let (Some(target), Json::Object(errors)) = (fields.as_object_mut(), errors_context(errors)) {
        target.extend(errors);
    }
    page(
        "officer/corrections.html",
        console.context("corrections", fields),
        status,
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AnswerForm {
    verdict: Option<String>,
    #[serde(default)]
    answer: String,
}

/// Answers one request, as `POST /v1/corrections/{id}/answer`, by the signed-in officer.
pub(super) async fn answer(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let mut console = Console::new(officer, &context, &headers, &uri);
    console.here = "/officer/corrections".to_owned();
    let purpose = match console.require_case(&context) {
        Ok(purpose) => purpose,
        Err(form) => return *form,
    };
    let Ok(request_id) = id.parse::<i64>() else {
        return console.error(ApiError::NotFound(format!(
            "correction request `{id}` does not exist"
        )));
    };
    let verdict = match form.verdict.as_deref() {
        Some("accept") => Verdict::Accept,
        Some("reject") => Verdict::Reject,
        _ => {
            let error = FieldError::new(
                "verdict",
                "Answer is required: choose Accept (the record will be corrected) or Reject (with the reason)",
            );
            return queue_page(
                &context,
                &console,
                None,
                Some((request_id, &form)),
                &[error],
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    match answer_request(
        &context,
        console.caller.clone(),
        purpose,
        request_id,
        verdict,
        form.answer.trim().to_owned(),
    )
    .await
    {
        Ok(_) => see_other(&format!("/officer/corrections?answered={request_id}")),
        Err(ApiError::InvalidBody { errors, detail }) => {
            let message = errors
                .first()
                .map_or(detail, |violation| violation.message.clone());
            let error = FieldError::new("answer", format!("Answer text: {message}"));
            queue_page(
                &context,
                &console,
                None,
                Some((request_id, &form)),
                &[error],
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(error) => console.error(error),
    }
}
