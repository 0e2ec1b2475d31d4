//! The person's own data: the whole profile (every fact with its source, dates and dispute
//! marker), who looked at it and why, and the correction requests (file one about a fact,
//! follow its status). Each read is the API's own: logged the same way, before it is shown.

use std::collections::BTreeSet;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http::request::Parts};
use dprofile_pipeline::profile::{Fact, Profile};
use minijinja::context;
use serde::Serialize;
use serde_json::Value;

use super::{FluentArg, FormProblem, Lang, PageQuery, chrome, page};
use crate::ApiContext;
use crate::routes::corrections::{
    CorrectionBody, FileCorrectionRequest, file_correction, my_corrections,
};
use crate::routes::me::{read_own_access_log, read_own_profile};
use crate::web::session::PersonPage;
use crate::web::templates::{WebError, render};

/// One fact as the page shows it.
#[derive(Debug, Serialize)]
struct FactView {
    record_id: i64,
    /// (label, value) pairs of the record's `data`, in the person's language.
    details: Vec<(String, String)>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    source: String,
    source_ref: String,
    received: String,
    disputed: bool,
    disputed_fields: String,
}

#[derive(Debug, Serialize)]
struct CategoryView {
    code: String,
    name: String,
    facts: Vec<FactView>,
}

#[derive(Debug, Serialize)]
struct IdentityView {
    names: Vec<String>,
    birth_dates: Vec<String>,
    citizenships: Vec<String>,
    identifiers: Vec<String>,
}

pub(crate) async fn profile_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let lang = Lang::of_page(&PageQuery::of(query), &headers);
    let profile = read_own_profile(&context, person).await?;
    let html = render(
        "portal/profile.html",
        lang.code,
        context! {
            identity => identity_view(lang, &profile),
            categories => categories_view(lang, &profile),
            ..chrome(true, "profile", "/my", &[])
        },
    )?;
    Ok(page(lang, html))
}

fn identity_view(lang: Lang, profile: &Profile) -> IdentityView {
    let mut names = Vec::new();
    let mut birth_dates = Vec::new();
    let mut citizenships = Vec::new();
    for identity in &profile.identity {
        for name in identity
            .get("names")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = ["family", "given", "patronymic"]
                .iter()
                .filter_map(|part| name.get(*part).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            if !text.is_empty() && !names.contains(&text) {
                names.push(text);
            }
        }
        if let Some(born) = identity.get("birth_date").and_then(Value::as_str) {
            let shown = show_text(lang, born);
            if !birth_dates.contains(&shown) {
                birth_dates.push(shown);
            }
        }
        if let Some(country) = identity.get("citizenship").and_then(Value::as_str)
            && !citizenships.iter().any(|known| known == country)
        {
            citizenships.push(country.to_owned());
        }
    }
    let identifiers = profile
        .identifiers
        .iter()
        .map(|identifier| match identifier.split_once(':') {
            Some((kind, rest)) => format!(
                "{} {}",
                lang.name_of("portal-identifier", kind),
                rest.replace(':', " ")
            ),
            None => identifier.clone(),
        })
        .collect();
    IdentityView {
        names,
        birth_dates,
        citizenships,
        identifiers,
    }
}

fn categories_view(lang: Lang, profile: &Profile) -> Vec<CategoryView> {
    profile
        .facts
        .iter()
        .map(|(code, facts)| CategoryView {
            code: code.clone(),
            name: lang.name_of("portal-category", code),
            facts: facts.iter().map(|fact| fact_view(lang, fact)).collect(),
        })
        .collect()
}

fn fact_view(lang: Lang, fact: &Fact) -> FactView {
    let mut details = Vec::new();
    if let Some(data) = fact.data.as_object() {
        for (key, value) in data {
            flatten(lang, key, value, &mut details);
        }
    }
    let disputed_fields: BTreeSet<String> = fact
        .disputed
        .iter()
        .flat_map(|marker| marker.fields.iter())
        .map(|pointer| field_label(lang, pointer))
        .collect();
    FactView {
        record_id: fact.cited.record_id,
        details,
        valid_from: fact.valid_from.map(|date| lang.date(date)),
        valid_to: fact.valid_to.map(|date| lang.date(date)),
        source: lang.name_of("portal-agency", &fact.cited.source),
        source_ref: fact.cited.source_ref.clone(),
        received: lang.date(fact.cited.received_at.date_naive()),
        disputed: !fact.disputed.is_empty(),
        disputed_fields: disputed_fields.into_iter().collect::<Vec<_>>().join(", "),
    }
}

/// A record field's name in the person's language, from its pointer (`/data/balance`).
fn field_label(lang: Lang, pointer: &str) -> String {
    let field = pointer
        .trim_start_matches('/')
        .trim_start_matches("data/")
        .trim_start_matches("subject/")
        .replace('/', "_");
    lang.name_of("portal-field", &field)
}

/// `data` as label–value pairs; nested objects (an address) as `address_city`, …
fn flatten(lang: Lang, key: &str, value: &Value, into: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Object(object) => {
            for (inner_key, inner) in object {
                flatten(lang, &format!("{key}_{inner_key}"), inner, into);
            }
        }
        other => into.push((lang.name_of("portal-field", key), show_value(lang, other))),
    }
}

/// A value in the person's language: dates and numbers in the locale's forms, yes and no,
/// code words (`patent`, `work`) by name where a message names them.
fn show_value(lang: Lang, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => lang.text("portal-yes"),
        Value::Bool(false) => lang.text("portal-no"),
        Value::Number(number) => match number.as_i64() {
            Some(whole) => crate::web::i18n::format_number(lang.code, whole),
            None => {
                let text = format!("{:.2}", number.as_f64().unwrap_or_default());
                if lang.code == "en" {
                    text
                } else {
                    text.replace('.', ",")
                }
            }
        },
        Value::String(text) => show_text(lang, text),
        Value::Array(items) => items
            .iter()
            .map(|item| show_value(lang, item))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => value.to_string(),
    }
}

fn show_text(lang: Lang, text: &str) -> String {
    if text.len() == 10
        && let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return lang.date(date);
    }
    if text.len() > 10
        && let Ok(at) = chrono::DateTime::parse_from_rfc3339(text)
    {
        return lang.date_time(at.with_timezone(&chrono::Utc));
    }
    let is_code = !text.is_empty()
        && text
            .chars()
            .all(|character| character.is_ascii_lowercase() || character == '_');
    if is_code {
        lang.name_of("portal-value", text)
    } else {
        text.to_owned()
    }
}

/// One access as the person reads it.
#[derive(Debug, Serialize)]
struct AccessView {
    when: String,
    agency: String,
    who: String,
    purpose: String,
    case_ref: String,
    action: String,
    categories: String,
    outcome: String,
    refused: bool,
}

pub(crate) async fn access_log_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let lang = Lang::of_page(&PageQuery::of(query), &headers);
    let entries = read_own_access_log(&context, person).await?;
    // Newest first: the person looks for what happened lately.
    let views: Vec<AccessView> = entries
        .iter()
        .rev()
        .map(|entry| {
            let who = match entry.actor.split_once(':') {
                Some(("officer", login)) => lang.text_with(
                    "portal-actor-officer",
                    &[("login", FluentArg::Text(login.to_owned()))],
                ),
                Some(("person", _)) => lang.text("portal-actor-you"),
                Some(("apikey", id)) => lang.text_with(
                    "portal-actor-system",
                    &[("id", FluentArg::Text(id.to_owned()))],
                ),
                Some(("share_code", _)) => lang.text("portal-actor-share-code"),
                _ => entry.actor.clone(),
            };
            let refused = entry.outcome.starts_with("refused");
            AccessView {
                when: lang.date_time(entry.at),
                agency: lang.name_of("portal-agency", &entry.agency),
                who: format!("{who} ({})", lang.name_of("portal-role", &entry.role)),
                purpose: lang.name_of("portal-purpose", &entry.purpose),
                case_ref: entry.case_ref.clone().unwrap_or_default(),
                action: lang.name_of("portal-action", &entry.action),
                categories: entry
                    .categories
                    .iter()
                    .map(|code| lang.name_of("portal-category", code))
                    .collect::<Vec<_>>()
                    .join(", "),
                outcome: if refused {
                    lang.text("portal-outcome-refused")
                } else {
                    lang.text("portal-outcome-allowed")
                },
                refused,
            }
        })
        .collect();
    let html = render(
        "portal/access_log.html",
        lang.code,
        context! {
            entries => views,
            count => i64::try_from(entries.len()).unwrap_or(i64::MAX),
            ..chrome(true, "access-log", "/my/access-log", &[])
        },
    )?;
    Ok(page(lang, html))
}

/// A request as the person follows it.
#[derive(Debug, Serialize)]
struct CorrectionView {
    id: i64,
    filed: String,
    due: String,
    category: String,
    agency: String,
    source_ref: String,
    fields: String,
    explanation: String,
    status: String,
    status_code: String,
    answer: String,
}

/// A field of the chosen fact the person may dispute.
#[derive(Debug, Serialize)]
struct FieldChoice {
    pointer: String,
    label: String,
    value: String,
    checked: bool,
}

/// A fact to choose in the form.
#[derive(Debug, Serialize)]
struct RecordChoice {
    id: i64,
    label: String,
    selected: bool,
}

pub(crate) async fn corrections_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = PageQuery::of(query);
    let lang = Lang::of_page(&query, &headers);
    let record = query.record.as_deref().and_then(|text| text.parse().ok());
    let sent = query
        .sent
        .as_deref()
        .and_then(|text| text.parse::<i64>().ok());
    let html = corrections_view(
        &context,
        person,
        lang,
        record,
        &[],
        "",
        sent,
        &FormProblem::default(),
    )
    .await?;
    Ok(page(lang, html))
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's state: the form as typed and what went wrong"
)]
async fn corrections_view(
    context: &ApiContext,
    person: dprofile_store::PersonId,
    lang: Lang,
    record: Option<i64>,
    checked: &[String],
    explanation: &str,
    sent: Option<i64>,
    problem: &FormProblem,
) -> Result<axum::response::Html<String>, WebError> {
    let profile = read_own_profile(context, person).await?;
    let requests = my_corrections(context, person).await?;
    let mut records = Vec::new();
    let mut fields = Vec::new();
    for (code, facts) in &profile.facts {
        for fact in facts {
            let selected = record == Some(fact.cited.record_id);
            records.push(RecordChoice {
                id: fact.cited.record_id,
                label: format!(
                    "{} — {} ({})",
                    lang.name_of("portal-category", code),
                    lang.name_of("portal-agency", &fact.cited.source),
                    fact.cited.source_ref
                ),
                selected,
            });
            if selected {
                fields = field_choices(lang, fact, checked);
            }
        }
    }
    let record_text = record.map(|id| id.to_string()).unwrap_or_default();
    let sent_view = sent.and_then(|id| requests.iter().find(|request| request.id == id));
    let notice_sent = sent_view.map(|request| {
        lang.text_with(
            "portal-corrections-sent",
            &[
                (
                    "agency",
                    FluentArg::Text(lang.name_of("portal-agency", &request.source)),
                ),
                (
                    "due",
                    FluentArg::Text(lang.date(request.due_at.date_naive())),
                ),
            ],
        )
    });
    render(
        "portal/corrections.html",
        lang.code,
        context! {
            requests => requests.iter().map(|request| correction_view(lang, request)).collect::<Vec<_>>(),
            records => records,
            record => record_text,
            chosen => record.is_some() && !fields.is_empty(),
            fields => fields,
            explanation => explanation,
            sent => notice_sent,
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(true, "corrections", "/my/corrections", &[])
        },
    )
}

fn field_choices(lang: Lang, fact: &Fact, checked: &[String]) -> Vec<FieldChoice> {
    let mut choices = Vec::new();
    if let Some(data) = fact.data.as_object() {
        for (key, value) in data {
            if value.is_null() {
                continue;
            }
            let pointer = format!("/data/{key}");
            choices.push(FieldChoice {
                checked: checked.contains(&pointer),
                pointer,
                label: lang.name_of("portal-field", key),
                value: show_value(lang, value),
            });
        }
    }
    for (key, date) in [("valid_from", fact.valid_from), ("valid_to", fact.valid_to)] {
        if let Some(date) = date {
            let pointer = format!("/{key}");
            choices.push(FieldChoice {
                checked: checked.contains(&pointer),
                pointer,
                label: lang.name_of("portal-field", key),
                value: lang.date(date),
            });
        }
    }
    choices
}

fn correction_view(lang: Lang, request: &CorrectionBody) -> CorrectionView {
    CorrectionView {
        id: request.id,
        filed: lang.date(request.filed_at.date_naive()),
        due: lang.date(request.due_at.date_naive()),
        category: request
            .category
            .as_deref()
            .map(|code| lang.name_of("portal-category", code))
            .unwrap_or_default(),
        agency: lang.name_of("portal-agency", &request.source),
        source_ref: request.source_ref.clone(),
        fields: request
            .fields
            .iter()
            .map(|pointer| field_label(lang, pointer))
            .collect::<Vec<_>>()
            .join(", "),
        explanation: request.explanation.clone(),
        status: lang.name_of("portal-correction-status", &request.status),
        status_code: request.status.clone(),
        answer: request.answer.clone().unwrap_or_default(),
    }
}

pub(crate) async fn correction_file(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    parts: Parts,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let fields: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "fields")
        .map(|(_, value)| value.clone())
        .collect();
    let explanation = value("explanation");
    let record = value("record_id").trim().parse::<i64>().ok();
    let outcome = match record {
        None => Err(FormProblem::field(
            "record_id",
            lang.text_with(
                "portal-rule-required",
                &[(
                    "field",
                    FluentArg::Text(lang.name_of("portal-field", "record_id")),
                )],
            ),
        )),
        Some(record_id) => {
            let request = FileCorrectionRequest {
                record_id: Some(record_id),
                source: None,
                source_ref: None,
                fields: fields.clone(),
                explanation: explanation.clone(),
            };
            match file_correction(&context, person, request).await {
                Ok(filed) => Ok(filed.id),
                Err(error) => Err(FormProblem::from_api(lang, error)?),
            }
        }
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/my/corrections?sent={id}")).into_response()),
        Err(problem) => {
            let html = corrections_view(
                &context,
                person,
                lang,
                record,
                &fields,
                &explanation,
                None,
                &problem,
            )
            .await?;
            Ok((axum::http::StatusCode::BAD_REQUEST, page(lang, html)).into_response())
        }
    }
}
