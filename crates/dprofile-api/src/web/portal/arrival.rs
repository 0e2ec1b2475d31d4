//! Notice of a planned arrival (visa-free entry): the person gives the dates, the purpose and
//! the address of stay, and the notice lands in the registry as a record of its own — category
//! `planned_arrival`, source `portal` (what the person declares through the registry's
//! portal) — through the ingest pipeline, like any agency's record, with its access-log entry
//! in the same transaction.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Duration;
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::payload::parse_payload;
use dprofile_domain::{Category, Rule, Violation};
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_pipeline::profile::Profile;
use dprofile_pipeline::{IngestOptions, Line};
use dprofile_store::{Outcome, PersonId};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::sign_in::iso_date;
use super::{FormProblem, Lang, PageQuery, chrome, page};
use crate::problem::ApiError;
use crate::routes::me::{PERSON_ROLE, read_own_profile};
use crate::web::session::PersonPage;
use crate::web::templates::{WebError, render};
use crate::{ApiContext, run_blocking};

/// The `source` of what the person declares through the portal.
pub(crate) const PORTAL_SOURCE: &str = "portal";
/// The purpose of the person's own notice in the access log.
pub(crate) const ARRIVAL_PURPOSE: &str = "arrival_notice";
/// The purposes the form offers (the migration registration's, as the host will register).
const PURPOSES: [&str; 7] = [
    "tourism", "private", "work", "study", "business", "official", "other",
];

/// The form as typed, kept to show it again with the errors.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ArrivalForm {
    #[serde(default)]
    arrival_on: String,
    #[serde(default)]
    departure_on: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    address_region: String,
    #[serde(default)]
    address_city: String,
    #[serde(default)]
    address_street: String,
    #[serde(default)]
    checkpoint: String,
}

#[derive(Debug, Serialize)]
struct NoticeView {
    record_id: i64,
    arrival: String,
    departure: String,
    purpose: String,
    address: String,
    sent: String,
}

pub(crate) async fn arrival_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = PageQuery::of(query);
    let lang = Lang::of_page(&query, &headers);
    let sent = query
        .sent
        .as_deref()
        .and_then(|text| text.parse::<i64>().ok());
    let html = arrival_view(
        &context,
        person,
        lang,
        &ArrivalForm::default(),
        sent,
        &FormProblem::default(),
    )
    .await?;
    Ok(page(lang, html))
}

async fn arrival_view(
    context: &ApiContext,
    person: PersonId,
    lang: Lang,
    form: &ArrivalForm,
    sent: Option<i64>,
    problem: &FormProblem,
) -> Result<Html<String>, WebError> {
    let profile = read_own_profile(context, person).await?;
    let notices: Vec<NoticeView> = profile
        .facts
        .get(Category::PlannedArrival.code())
        .into_iter()
        .flatten()
        .rev()
        .map(|fact| {
            let text = |pointer: &str| {
                fact.data
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let date = |pointer: &str| {
                chrono::NaiveDate::parse_from_str(&text(pointer), "%Y-%m-%d")
                    .map(|date| lang.date(date))
                    .unwrap_or_default()
            };
            NoticeView {
                record_id: fact.cited.record_id,
                arrival: date("/arrival_on"),
                departure: date("/departure_on"),
                purpose: lang.name_of("portal-value", &text("/purpose")),
                address: format!(
                    "{}, {} ({})",
                    text("/address/city"),
                    text("/address/street"),
                    text("/address/region")
                ),
                sent: lang.date(fact.cited.received_at.date_naive()),
            }
        })
        .collect();
    let sent_notice = sent
        .filter(|id| notices.iter().any(|notice| notice.record_id == *id))
        .map(|_| lang.text("portal-arrival-sent"));
    let purposes: Vec<(String, String)> = PURPOSES
        .iter()
        .map(|code| ((*code).to_owned(), lang.name_of("portal-value", code)))
        .collect();
    render(
        "portal/arrival.html",
        lang.code,
        context! {
            form => form,
            purposes => purposes,
            notices => notices,
            sent => sent_notice,
            max_days => dprofile_domain::payload::MAX_PLANNED_STAY_DAYS,
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(true, "arrival", "/my/arrival", &[])
        },
    )
}

pub(crate) async fn arrival_submit(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    parts: Parts,
    Form(form): Form<ArrivalForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let today = context.state.clock.now().date_naive();
    let data = match checked_data(&form, today) {
        Ok(data) => data,
        Err(violations) => {
            let problem = FormProblem::from_violations(lang, &violations);
            return again(&context, person, lang, &form, &problem).await;
        }
    };
    match send_notice(&context, person, data).await? {
        Ok(record_id) => Ok(Redirect::to(&format!("/my/arrival?sent={record_id}")).into_response()),
        Err(violations) => {
            let problem = FormProblem::from_violations(lang, &violations);
            again(&context, person, lang, &form, &problem).await
        }
    }
}

async fn again(
    context: &ApiContext,
    person: PersonId,
    lang: Lang,
    form: &ArrivalForm,
    problem: &FormProblem,
) -> Result<Response, WebError> {
    let html = arrival_view(context, person, lang, form, None, problem).await?;
    Ok((StatusCode::BAD_REQUEST, page(lang, html)).into_response())
}

/// The notice's `data` as the category reads it, or every field that is wrong: the empty
/// required ones all at once, then the category's own rules, then the portal's (the arrival is
/// not in the past).
fn checked_data(form: &ArrivalForm, today: chrono::NaiveDate) -> Result<Value, Vec<Violation>> {
    let required = [
        ("/data/arrival_on", &form.arrival_on),
        ("/data/departure_on", &form.departure_on),
        ("/data/purpose", &form.purpose),
        ("/data/address/region", &form.address_region),
        ("/data/address/city", &form.address_city),
        ("/data/address/street", &form.address_street),
    ];
    let missing: Vec<Violation> = required
        .iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(pointer, _)| Violation::new(*pointer, Rule::Required, "fill it in"))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut data = Map::new();
    data.insert("arrival_on".into(), json!(iso_date(&form.arrival_on)));
    data.insert("departure_on".into(), json!(iso_date(&form.departure_on)));
    data.insert("purpose".into(), json!(form.purpose.trim()));
    data.insert(
        "address".into(),
        json!({
            "region": form.address_region.trim(),
            "city": form.address_city.trim(),
            "street": form.address_street.trim(),
        }),
    );
    if !form.checkpoint.trim().is_empty() {
        data.insert("checkpoint".into(), json!(form.checkpoint.trim()));
    }
    let data = Value::Object(data);
    parse_payload(Category::PlannedArrival, &data).result?;
    let arrival = data["arrival_on"]
        .as_str()
        .and_then(|text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok());
    if arrival.is_some_and(|arrival| arrival < today) {
        return Err(vec![Violation::new(
            "/data/arrival_on",
            Rule::DateRange,
            "a planned arrival is today or later",
        )]);
    }
    Ok(data)
}

/// Sends the notice through the ingest pipeline as a record of the person's, with its
/// access-log entry in the chunk's transaction; answers the record id, or the violations when
/// the pipeline refused the line (then it is in quarantine, as any refused record).
async fn send_notice(
    context: &ApiContext,
    person: PersonId,
    data: Value,
) -> Result<Result<i64, Vec<Violation>>, WebError> {
    let work_context = context.clone();
    let outcome = run_blocking(move || {
        let store = work_context.state.store.as_ref();
        let (person, profile) = crate::routes::status::load_current(store, person)?;
        let now = work_context.state.clock.now();
        let source_ref = format!(
            "portal-arrival-{person}-{}",
            (0..6)
                .map(|_| format!("{:02x}", rand::random::<u8>()))
                .collect::<String>()
        );
        let envelope = json!({
            "source": PORTAL_SOURCE,
            "source_ref": source_ref,
            "revision": 1,
            "action": "upsert",
            "category": Category::PlannedArrival.code(),
            "observed_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "valid_from": data["arrival_on"],
            "valid_to": data["departure_on"],
            "subject": subject_of(&profile),
            "data": data,
        });
        let line = Line {
            number: 1,
            bytes: envelope.to_string().into_bytes(),
        };
        let options = IngestOptions {
            origin: PORTAL_SOURCE.to_owned(),
            ..IngestOptions::default()
        };
        let access_log = work_context.state.access_log.clone();
        let results = work_context.state.ingestor.ingest_lines_and(
            vec![line],
            &options,
            &mut |tx, results| {
                let written: Vec<AccessRecord> = results
                    .iter()
                    .filter(|result| result.outcome == Outcome::Accepted)
                    .map(|result| AccessRecord {
                        entry: AccessEntry {
                            at: now,
                            actor: format!("person:{person}"),
                            agency: PERSON_ROLE.to_owned(),
                            role: PERSON_ROLE.to_owned(),
                            purpose: ARRIVAL_PURPOSE.to_owned(),
                            case_ref: Some(source_ref.clone()),
                            action: AccessAction::Write,
                            person: Some(result.person_id.unwrap_or(person)),
                            categories: vec![Category::PlannedArrival.code().to_owned()],
                            outcome: AccessOutcome::Allowed,
                        }
                        .normalised(),
                        disclosure_delay: Duration::zero(),
                    })
                    .collect();
                access_log.record_in(tx, &written).map(|_| ())
            },
        )?;
        Ok::<_, ApiError>(results)
    })
    .await?;
    let Some(result) = outcome.into_iter().next() else {
        return Err(WebError::Api(ApiError::Internal));
    };
    match (result.outcome, result.record_id) {
        (Outcome::Accepted, Some(record_id)) => Ok(Ok(record_id)),
        _ if !result.errors.is_empty() => Ok(Err(result.errors)),
        _ => {
            tracing::error!(?result, "a planned-arrival notice was not stored");
            Err(WebError::Api(ApiError::Internal))
        }
    }
}

/// Who the notice is about, as the registry knows the person: a name, the birth date, the
/// citizenship and sex a source wrote, and the passports and national ids that link it.
fn subject_of(profile: &Profile) -> Value {
    let mut subject = Map::new();
    let best = profile
        .identity
        .iter()
        .find(|identity| identity.get("names").is_some() && identity.get("birth_date").is_some())
        .or_else(|| profile.identity.first());
    if let Some(Value::Object(identity)) = best {
        for (key, value) in identity {
            subject.insert(key.clone(), value.clone());
        }
    }
    let documents: Vec<Value> = profile
        .identifiers
        .iter()
        .filter_map(|identifier| {
            let mut parts = identifier.splitn(3, ':');
            let (kind, country, number) = (parts.next()?, parts.next()?, parts.next()?);
            matches!(kind, "passport" | "national_id")
                .then(|| json!({"kind": kind, "country": country, "number": number}))
        })
        .collect();
    if !documents.is_empty() {
        subject.insert("documents".into(), Value::Array(documents));
    }
    Value::Object(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ArrivalForm {
        ArrivalForm {
            arrival_on: "2026-12-01".into(),
            departure_on: "20.12.2026".into(),
            purpose: "tourism".into(),
            address_region: "77".into(),
            address_city: "Москва".into(),
            address_street: "ул. Тверская, д. 1".into(),
            checkpoint: String::new(),
        }
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date")
    }

    #[test]
    fn a_notice_is_checked_by_the_category_and_the_calendar() {
        let data = checked_data(&form(), today()).expect("valid");
        assert_eq!(data["departure_on"], "2026-12-20");
        assert!(data.get("checkpoint").is_none());

        let empty = checked_data(&ArrivalForm::default(), today()).expect_err("empty");
        assert_eq!(empty.len(), 6, "every empty field at once: {empty:?}");

        let past = ArrivalForm {
            arrival_on: "2026-11-01".into(),
            ..form()
        };
        let refused = checked_data(&past, today()).expect_err("in the past");
        assert_eq!(refused[0].pointer, "/data/arrival_on");

        let long = ArrivalForm {
            departure_on: "2027-06-01".into(),
            ..form()
        };
        let refused = checked_data(&long, today()).expect_err("too long");
        assert_eq!(
            (refused[0].pointer.as_str(), refused[0].rule.as_str()),
            ("/data/departure_on", "range")
        );
    }
}
