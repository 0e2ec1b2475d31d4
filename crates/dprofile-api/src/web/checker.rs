//! The checker's page, public: a share code with the birth date, or a photo of a QR pass, answered with the verdict and only the purpose's fields.
//!
//! A share code is checked by the very function behind `POST /v1/share-codes/check`
//! ([`check_share_code`]): the same rate limit per address, the same rules, the same entry in
//! the holder's access log. A QR pass is read from the uploaded PNG with the decoder of
//! `dprofile verify --image` and verified as an offline verifier would, against the trust list
//! and status list the registry publishes (signed, and checked against the root key here too):
//! the pass carries its own claims, so nothing is read from the store and nothing is logged —
//! a pass check is offline by design, wherever it runs.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use dprofile_pass::{PassView, QrError, RejectReason, StatusListToken, TrustList, Verdict};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::i18n::{self, LANG_COOKIE};
use super::session::set_cookie;
use super::templates::{WebError, render};
use crate::problem::ApiError;
use crate::routes::share_codes::{CheckShareCode, PurposeView, check_share_code};
use crate::share_codes::ShareCodeError;
use crate::{ApiContext, run_blocking};

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[(
    "checker/check.html",
    include_str!("../../templates/checker/check.html"),
)];

/// Largest upload of a pass picture: a phone photo saved as PNG fits; anything larger is not a
/// pass worth decoding on the server.
const MAX_PASS_IMAGE_BYTES: usize = 4 * 1024 * 1024;

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
        .route("/check", get(page))
        .route("/check/code", post(check_code))
        .route(
            "/check/pass",
            // The multipart envelope around the largest picture.
            post(check_pass).layer(DefaultBodyLimit::max(MAX_PASS_IMAGE_BYTES + 64 * 1024)),
        )
}

#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// What the share-code form had, sent back so that a correction keeps the rest.
#[derive(Debug, Default, Deserialize, Serialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    checker: String,
}

/// An error next to a field: the field, the rule it broke, the message id (what to do).
#[derive(Debug, Serialize)]
struct FieldError {
    field: &'static str,
    rule: String,
    message: &'static str,
}

/// One line of a verdict: a message id for the label and the value as shown.
#[derive(Debug, Serialize)]
struct Fact {
    label: &'static str,
    value: FactValue,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum FactValue {
    YesNo(bool),
    Date(String),
    Text(String),
    List(Vec<String>),
}

/// What the page says after a check.
#[derive(Debug, Serialize)]
struct Outcome {
    /// `share_code` or `pass`.
    source: &'static str,
    /// `valid`, `refused` (the code or pass holds, the answer is no) or `rejected` (not
    /// confirmed at all).
    verdict: &'static str,
    /// The message id of the headline.
    headline: &'static str,
    /// The message id saying why, for a rejection.
    reason: Option<&'static str>,
    /// The purpose (share code) or view (pass) as a message id.
    scope: Option<&'static str>,
    facts: Vec<Fact>,
    checked_on: Option<String>,
}

/// Renders the page with whatever the last check left.
fn show(
    lang: &'static str,
    status: StatusCode,
    form: &CodeForm,
    errors: &[FieldError],
    outcome: Option<&Outcome>,
    set_lang: bool,
) -> Result<Response, WebError> {
    let error_of = |field: &str| errors.iter().find(|error| error.field == field);
    let page = render(
        "checker/check.html",
        lang,
        context! {
            form => form,
            code_error => error_of("code"),
            birth_date_error => error_of("birth_date"),
            checker_error => error_of("checker"),
            pass_error => error_of("pass"),
            form_error => error_of("form"),
            outcome => outcome,
            max_upload_mib => (MAX_PASS_IMAGE_BYTES / (1024 * 1024)) as i64,
        },
    )?;
    let mut response = (status, page).into_response();
    if set_lang {
        response.headers_mut().insert(
            header::SET_COOKIE,
            set_cookie(LANG_COOKIE, lang, Some(365 * 24 * 3600)),
        );
    }
    Ok(response)
}

/// `GET /check`: the two ways to check; `?lang=` switches the language (and keeps it).
async fn page(Query(query): Query<LangQuery>, headers: HeaderMap) -> Result<Response, WebError> {
    let lang = i18n::negotiate(query.lang.as_deref(), &headers);
    let switched = query.lang.as_deref().and_then(i18n::known_locale).is_some();
    show(
        lang,
        StatusCode::OK,
        &CodeForm::default(),
        &[],
        None,
        switched,
    )
}

fn address_of(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())
}

/// `POST /check/code`: the share-code check, as the API makes it.
async fn check_code(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, WebError> {
    let lang = i18n::negotiate(None, request.headers());
    let address = address_of(&request);
    let form = match axum::Form::<CodeForm>::from_request(request, &context).await {
        Ok(axum::Form(form)) => form,
        Err(_) => CodeForm::default(),
    };
    let body = CheckShareCode {
        code: form.code.clone(),
        birth_date: form.birth_date.clone(),
        checker: Some(form.checker.clone()),
    };
    match check_share_code(&context, &address, body).await {
        Ok(answer) => {
            let outcome = share_code_outcome(&answer.purpose, answer.status, answer.checked_on);
            show(lang, StatusCode::OK, &form, &[], Some(&outcome), false)
        }
        Err(ApiError::InvalidBody { errors, .. }) => {
            let field_errors: Vec<FieldError> = errors
                .iter()
                .map(|violation| {
                    let (field, message) = match violation.pointer.trim_start_matches('/') {
                        "code" => ("code", "check-error-code"),
                        "birth_date" => ("birth_date", "check-error-birth-date"),
                        "checker" => ("checker", "check-error-checker"),
                        _ => ("form", "check-error-form"),
                    };
                    FieldError {
                        field,
                        rule: violation.rule.clone(),
                        message,
                    }
                })
                .collect();
            show(
                lang,
                StatusCode::BAD_REQUEST,
                &form,
                &field_errors,
                None,
                false,
            )
        }
        Err(ApiError::ShareCode(error)) => {
            let (reason, status) = match error {
                ShareCodeError::NoMatch => ("check-reason-no-match", StatusCode::NOT_FOUND),
                ShareCodeError::Expired => ("check-reason-code-expired", StatusCode::GONE),
                ShareCodeError::Revoked => ("check-reason-code-revoked", StatusCode::GONE),
                ShareCodeError::Locked => ("check-reason-code-locked", StatusCode::LOCKED),
            };
            let outcome = Outcome {
                source: "share_code",
                verdict: "rejected",
                headline: "check-verdict-not-confirmed",
                reason: Some(reason),
                scope: None,
                facts: Vec::new(),
                checked_on: None,
            };
            show(lang, status, &form, &[], Some(&outcome), false)
        }
        Err(ApiError::RateLimited { .. }) => show(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            &form,
            &[FieldError {
                field: "form",
                rule: "rate_limited".to_owned(),
                message: "check-error-rate-limited",
            }],
            None,
            false,
        ),
        Err(error) => Err(error.into()),
    }
}

fn yes(label: &'static str, value: bool) -> Fact {
    Fact {
        label,
        value: FactValue::YesNo(value),
    }
}

fn day(date: NaiveDate) -> FactValue {
    FactValue::Date(date.format("%Y-%m-%d").to_string())
}

/// The verdict of a share code: exactly the fields of the purpose's view.
fn share_code_outcome(purpose: &str, view: PurposeView, checked_on: NaiveDate) -> Outcome {
    let mut facts = Vec::new();
    let granted = match view {
        PurposeView::Work(work) => {
            facts.push(yes("check-fact-right-to-work", work.right_to_work));
            if let Some(name) = work.name {
                facts.push(Fact {
                    label: "check-fact-name",
                    value: FactValue::Text(name),
                });
            }
            if let Some(until) = work.valid_until {
                facts.push(Fact {
                    label: "check-fact-valid-until",
                    value: day(until),
                });
            }
            if !work.conditions.is_empty() {
                facts.push(Fact {
                    label: "check-fact-conditions",
                    value: FactValue::List(work.conditions),
                });
            }
            if let Some(photo) = work.photo_reference {
                facts.push(Fact {
                    label: "check-fact-photo-reference",
                    value: FactValue::Text(photo),
                });
            }
            work.right_to_work
        }
        PurposeView::Rent(rent) => {
            facts.push(yes("check-fact-right-to-rent", rent.right_to_rent));
            if let Some(until) = rent.lawful_stay_until {
                facts.push(Fact {
                    label: "check-fact-lawful-stay-until",
                    value: day(until),
                });
            }
            rent.right_to_rent
        }
        PurposeView::Other(other) => {
            facts.push(yes("check-fact-lawful-stay", other.lawful_stay));
            other.lawful_stay
        }
    };
    Outcome {
        source: "share_code",
        verdict: if granted { "valid" } else { "refused" },
        headline: if granted {
            "check-verdict-confirmed"
        } else {
            "check-verdict-refused"
        },
        reason: None,
        scope: Some(match purpose {
            "work" => "check-purpose-work",
            "rent" => "check-purpose-rent",
            _ => "check-purpose-other",
        }),
        facts,
        checked_on: Some(checked_on.format("%Y-%m-%d").to_string()),
    }
}

/// Why an uploaded picture gave no pass to verify.
enum PassFailure {
    /// The upload itself (no file, too big, not a form).
    Upload(&'static str, &'static str),
    Qr(QrError),
    Verdict(RejectReason),
}

/// `POST /check/pass`: the picture of a QR pass, decoded and verified offline.
async fn check_pass(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, WebError> {
    let lang = i18n::negotiate(None, request.headers());
    let address = address_of(&request);
    let now = context.state.clock.now();
    let form = CodeForm::default();
    let error = |failure_rule: &str, message: &'static str, status: StatusCode| {
        show(
            lang,
            status,
            &form,
            &[FieldError {
                field: "pass",
                rule: failure_rule.to_owned(),
                message,
            }],
            None,
            false,
        )
    };
    // Decoding a picture costs the server: the same per-address budget as share-code checks,
    // counted apart from them.
    if context
        .state
        .share_codes
        .checks_by_address
        .hit(&format!("pass {address}"), now)
        .is_err()
    {
        return error(
            "rate_limited",
            "check-error-rate-limited",
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let image = match read_upload(request, &context).await {
        Ok(bytes) => bytes,
        Err(PassFailure::Upload(rule, message)) => {
            return error(rule, message, StatusCode::BAD_REQUEST);
        }
        Err(_) => return error("upload", "check-error-upload", StatusCode::BAD_REQUEST),
    };
    let passes = context
        .state
        .passes
        .clone()
        .ok_or(ApiError::PassesUnavailable)?;
    let result = run_blocking(move || -> Result<Result<_, PassFailure>, ApiError> {
        let text = match dprofile_pass::decode_png(&image) {
            Ok(text) => text,
            Err(error) => return Ok(Err(PassFailure::Qr(error))),
        };
        // The lists as a verifier would fetch them: signed, and checked against the root key.
        let trust_bytes = passes.signed_trust_list(now);
        let status_bytes = passes.signed_status_list(now)?;
        let trust_list =
            TrustList::from_signed(&trust_bytes, &passes.root_key()).map_err(|error| {
                tracing::error!(%error, "the registry's own trust list does not verify");
                ApiError::PassesUnavailable
            })?;
        let status_list =
            StatusListToken::from_signed(&status_bytes, &trust_list).map_err(|error| {
                tracing::error!(%error, "the registry's own status list does not verify");
                ApiError::PassesUnavailable
            })?;
        Ok(
            match dprofile_pass::verify(&text, &trust_list, &status_list, now) {
                Verdict::Valid(pass) => Ok(pass.claims),
                Verdict::Rejected(rejection) => Err(PassFailure::Verdict(rejection.reason)),
            },
        )
    })
    .await?;
    match result {
        Ok(claims) => {
            let outcome = pass_outcome(&claims);
            show(lang, StatusCode::OK, &form, &[], Some(&outcome), false)
        }
        Err(PassFailure::Qr(QrError::Image(_))) => error(
            "image.unreadable",
            "check-error-image-unreadable",
            StatusCode::BAD_REQUEST,
        ),
        Err(PassFailure::Qr(QrError::NotFound)) => {
            error("image.no_qr", "check-error-no-qr", StatusCode::BAD_REQUEST)
        }
        Err(PassFailure::Qr(_)) => error(
            "image.qr_undecodable",
            "check-error-qr-undecodable",
            StatusCode::BAD_REQUEST,
        ),
        Err(PassFailure::Upload(rule, message)) => error(rule, message, StatusCode::BAD_REQUEST),
        Err(PassFailure::Verdict(reason)) => {
            let outcome = Outcome {
                source: "pass",
                verdict: "rejected",
                headline: "check-verdict-not-confirmed",
                reason: Some(reject_message(reason)),
                scope: None,
                facts: Vec::new(),
                checked_on: None,
            };
            show(lang, StatusCode::OK, &form, &[], Some(&outcome), false)
        }
    }
}

/// The picture's bytes from the multipart form (field `pass`).
async fn read_upload(request: Request, context: &ApiContext) -> Result<Vec<u8>, PassFailure> {
    let not_a_form = PassFailure::Upload("upload", "check-error-upload");
    let mut multipart = Multipart::from_request(request, context)
        .await
        .map_err(|_| not_a_form)?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err(PassFailure::Upload("required", "check-error-no-file")),
            Err(error) => {
                return Err(if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    PassFailure::Upload("length", "check-error-too-large")
                } else {
                    PassFailure::Upload("upload", "check-error-upload")
                });
            }
        };
        if field.name() != Some("pass") {
            continue;
        }
        let bytes = field.bytes().await.map_err(|error| {
            if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
                PassFailure::Upload("length", "check-error-too-large")
            } else {
                PassFailure::Upload("upload", "check-error-upload")
            }
        })?;
        if bytes.is_empty() {
            return Err(PassFailure::Upload("required", "check-error-no-file"));
        }
        if bytes.len() > MAX_PASS_IMAGE_BYTES {
            return Err(PassFailure::Upload("length", "check-error-too-large"));
        }
        return Ok(bytes.to_vec());
    }
}

/// The message id for a rejected pass.
fn reject_message(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::MalformedPrefix
        | RejectReason::MalformedBase45
        | RejectReason::MalformedZlib
        | RejectReason::MalformedCose
        | RejectReason::MalformedClaims => "check-reason-pass-malformed",
        RejectReason::UnknownKey => "check-reason-pass-unknown-key",
        RejectReason::Tampered => "check-reason-pass-tampered",
        RejectReason::KeyNotValidAtIssuance => "check-reason-pass-key-not-valid",
        RejectReason::NotYetValid => "check-reason-pass-not-yet-valid",
        RejectReason::Expired => "check-reason-pass-expired",
        RejectReason::Revoked => "check-reason-pass-revoked",
        RejectReason::StatusUnknown => "check-reason-pass-status-unknown",
    }
}

/// The verdict of a valid pass: what its view carries, nothing else.
fn pass_outcome(claims: &dprofile_pass::PassClaims) -> Outcome {
    let status = &claims.status;
    let mut facts = vec![yes("check-fact-lawful-stay", status.lawful_stay)];
    if let Some(basis) = &status.stay_basis {
        facts.push(Fact {
            label: "check-fact-stay-basis",
            value: FactValue::Text(basis.clone()),
        });
    }
    if let Some(until) = status.stay_until {
        facts.push(Fact {
            label: "check-fact-lawful-stay-until",
            value: day(until),
        });
    }
    facts.push(yes("check-fact-right-to-work", status.right_to_work));
    if let Some(until) = status.work_until {
        facts.push(Fact {
            label: "check-fact-valid-until",
            value: day(until),
        });
    }
    if let Some(identity) = &claims.identity {
        facts.push(Fact {
            label: "check-fact-name",
            value: FactValue::Text(identity.name.clone()),
        });
        facts.push(Fact {
            label: "check-fact-birth-date",
            value: FactValue::Text(identity.birth_date.clone()),
        });
        facts.push(Fact {
            label: "check-fact-document",
            value: FactValue::Text(identity.document_number.clone()),
        });
    }
    facts.push(Fact {
        label: "check-fact-pass-expires",
        value: day(claims.expires_at.date_naive()),
    });
    Outcome {
        source: "pass",
        verdict: "valid",
        headline: "check-verdict-pass-valid",
        reason: None,
        scope: Some(match claims.view {
            PassView::StatusOnly => "check-view-status-only",
            PassView::StatusIdentity => "check-view-status-identity",
        }),
        facts,
        checked_on: Some(claims.issued_at.date_naive().format("%Y-%m-%d").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message the page can show, in every language: a verdict with each kind of fact
    /// and an error on every field.
    #[test]
    fn the_page_renders_in_every_language_with_no_missing_message() {
        let form = CodeForm::default();
        let errors = [
            ("code", "check-error-code"),
            ("birth_date", "check-error-birth-date"),
            ("checker", "check-error-checker"),
            ("pass", "check-error-no-qr"),
            ("form", "check-error-rate-limited"),
        ]
        .map(|(field, message)| FieldError {
            field,
            rule: "format".to_owned(),
            message,
        });
        let outcome = share_code_outcome(
            "work",
            PurposeView::Work(crate::routes::share_codes::WorkView {
                right_to_work: true,
                conditions: vec!["only in region 77".to_owned()],
                valid_until: NaiveDate::from_ymd_opt(2026, 12, 31),
                name: Some("ABDULLAYEV RUSTAM".to_owned()),
                photo_reference: None,
            }),
            NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date"),
        );
        for lang in i18n::LOCALES {
            let response = show(lang, StatusCode::OK, &form, &errors, Some(&outcome), true)
                .unwrap_or_else(|_| panic!("the page renders in {lang}"));
            let html = futures_util::FutureExt::now_or_never(axum::body::to_bytes(
                response.into_body(),
                usize::MAX,
            ))
            .and_then(Result::ok)
            .expect("the body");
            let html = String::from_utf8_lossy(&html);
            assert!(!html.contains('⟦'), "{lang} lacks a message: {html}");
            assert!(html.contains(&format!("<html lang=\"{lang}\">")));
        }
    }
}
