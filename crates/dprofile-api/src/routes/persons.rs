//! Reading persons: one profile (as of a time, valid at a date), and search by document,
//! identifier, or name with birth date. A name alone is never enough to search: that would let
//! anyone fish for people by name.
//!
//! Both state a purpose and a case (`X-Purpose`, `X-Case-Ref`); the access policy decides with
//! the caller's role and agency, the profile shows only what it allows, and every decision is
//! in the access log before the answer leaves.

use std::collections::BTreeSet;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use dprofile_audit::AccessAction;
use dprofile_domain::Rule;
use dprofile_domain::linking::{KeyKind, query_name_keys};
use dprofile_domain::values::{
    DocumentNumber, EsiaId, Inn, PartialDate, Snils, ValueError, parse_full_date,
};
use dprofile_pipeline::profile::{ProfileLookup, load_profile};
use dprofile_policy::{Action, Allowance};
use dprofile_store::{PersonId, Store, StoreResult};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{self, AccessEvent, Caller, Purpose};
use crate::problem::{ApiError, Problem};
use crate::wire::{MergedBody, PersonLink, PersonSearchBody, ProfileBody, person_url};
use crate::{ApiContext, run_blocking};

/// Most persons one search answers; more means the query is too loose to be useful.
const SEARCH_RESULT_LIMIT: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileQuery {
    /// RFC 3339 date-time: the profile as the registry knew it then. Default: now.
    as_of: Option<String>,
    /// `YYYY-MM-DD`: only facts valid on that date. Default: any date.
    valid_at: Option<String>,
}

pub(crate) fn parse_person_id(text: &str) -> Result<PersonId, ApiError> {
    text.parse::<PersonId>()
        .map_err(|_| ApiError::NotFound(format!("no person has id `{text}`")))
}

/// A person's profile, as far as the access policy shows it to the caller's role for the
/// stated purpose: only the allowed categories, and in a narrowed category only the allowed
/// fields. Allowed or refused, the read is in the access log.
///
/// A person merged into another answers `308 Permanent Redirect` to the surviving person's
/// URL (with the same query), and a `MergedBody` for clients that do not follow redirects.
#[utoipa::path(
    get,
    path = "/v1/persons/{id}",
    tag = "persons",
    params(("id" = i64, Path, description = "Person id."), ProfileQuery,
        ("X-Purpose" = String, Header, description = "Purpose of the read, one of the caller's role's purposes in the access policy (`stay_control`, `tax_administration`, …)."),
        ("X-Case-Ref" = Option<String>, Header, description = "The case the read is made for; most purposes require one.")),
    responses(
        (status = 200, description = "The profile, restricted to what the policy allows.", body = ProfileBody),
        (status = 308, description = "Merged into another person; `Location` names it.", body = MergedBody,
            headers(("location" = String, description = "The surviving person's URL."))),
        (status = 400, description = "`as_of` or `valid_at` malformed.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Refused by the access policy; `code` is its rule. Logged.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person (or none yet at `as_of`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_person(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ProfileQuery>, QueryRejection>,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id_text) = path.map_err(|_| ApiError::NotFound("no such person".to_owned()))?;
    let person_id = parse_person_id(&id_text)?;
    let Query(query) = query.map_err(query_rejection)?;
    let as_of = query.as_of.as_deref().map(parse_as_of).transpose()?;
    let valid_at = query
        .valid_at
        .as_deref()
        .map(|text| parse_full_date(text).map_err(|error| value_error("valid_at", error)))
        .transpose()?;
    let purpose = Purpose::from_headers(&headers);
    let (lookup, _) = read_profile(&context, caller, purpose, person_id, as_of, valid_at).await?;
    match lookup {
        ProfileLookup::Found(profile) => Ok(Json(ProfileBody::from(*profile)).into_response()),
        ProfileLookup::Merged { into } => {
            let url = person_url(into);
            let location = match raw_query.as_deref().filter(|query| !query.is_empty()) {
                Some(query) => format!("{url}?{query}"),
                None => url.clone(),
            };
            let mut response = (
                StatusCode::PERMANENT_REDIRECT,
                Json(MergedBody {
                    merged_into: into,
                    url,
                }),
            )
                .into_response();
            let location = HeaderValue::from_str(&location).map_err(|_| ApiError::Internal)?;
            response.headers_mut().insert(header::LOCATION, location);
            Ok(response)
        }
        ProfileLookup::NotFound => Err(ApiError::NotFound(match as_of {
            Some(_) => format!("person {person_id} did not exist at that as_of"),
            None => format!("person {person_id} does not exist"),
        })),
    }
}

/// One profile read as `GET /v1/persons/{id}` does it, for the API and the officers' console
/// alike: the policy decides with the caller's role for the stated purpose (a refusal is logged
/// and answered), the profile is cut down to what the allowance shows, and the read is in the
/// access log before it is returned. Also returns the allowance (the statuses shown beside a
/// profile are computed from it).
pub(crate) async fn read_profile(
    context: &ApiContext,
    caller: Caller,
    purpose: Purpose,
    person_id: PersonId,
    as_of: Option<DateTime<Utc>>,
    valid_at: Option<chrono::NaiveDate>,
) -> Result<(ProfileLookup, Allowance), ApiError> {
    let allowance = match auth::decide(context, &caller, &purpose, Action::Read) {
        Ok(allowance) => allowance,
        Err(refusal) => {
            return Err(auth::refuse(
                context,
                &caller,
                &purpose,
                AccessAction::Read,
                Some(person_id),
                refusal,
            )
            .await);
        }
    };
    let read_context = context.clone();
    let read_allowance = allowance.clone();
    let lookup = run_blocking(move || {
        let mut lookup = load_profile(
            read_context.state.store.as_ref(),
            person_id,
            as_of,
            valid_at,
        )?;
        let shown = match &mut lookup {
            ProfileLookup::Found(profile) => {
                auth::restrict_profile(profile, &read_allowance);
                profile.facts.keys().cloned().collect()
            }
            ProfileLookup::Merged { .. } | ProfileLookup::NotFound => Vec::new(),
        };
        auth::log_access(
            &read_context,
            AccessEvent {
                caller: &caller,
                purpose: &purpose,
                action: AccessAction::Read,
                persons: vec![Some(person_id)],
                categories: shown,
                decision: Ok(read_allowance.disclosure_delay_days),
            },
        )?;
        Ok::<_, ApiError>(lookup)
    })
    .await?;
    Ok((lookup, allowance))
}

fn parse_as_of(text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid_parameter(
                "as_of",
                Rule::DateFormat,
                format!("`{text}` is not an RFC 3339 date-time: write e.g. 2026-03-01T09:00:00Z"),
            )
        })
}

fn value_error(parameter: &str, error: ValueError) -> ApiError {
    ApiError::invalid_parameter(parameter, error.rule, error.message)
}

pub(crate) fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::InvalidQuery {
        detail: format!("the query string cannot be read: {}", rejection.body_text()),
        errors: Vec::new(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A passport or national id number, any spelling (`FA 123-4567`); the country is not needed.
    pub(crate) document: Option<String>,
    /// `snils:…`, `inn:…`, `esia:…`, `passport:…`, `national_id:…`, or a value alone (any kind).
    pub(crate) identifier: Option<String>,
    /// Family and given name in any script or transliteration; needs `birth_date`.
    pub(crate) name: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; required with `name`.
    pub(crate) birth_date: Option<String>,
}

/// What one search asks the store.
enum Search {
    /// Each `(kind, value)` pair is asked; the answers are united.
    Identifiers(Vec<(Option<KeyKind>, String)>),
    Name {
        keys: Vec<String>,
        birth_date: PartialDate,
    },
}

/// Finds persons by document, identifier, or name with birth date (exactly one of the three).
/// The policy decides the search for the stated purpose; each person found is an entry in the
/// access log, and so is a refusal.
#[utoipa::path(
    get,
    path = "/v1/persons",
    tag = "persons",
    params(SearchQuery,
        ("X-Purpose" = String, Header, description = "Purpose of the search, one of the caller's role's purposes in the access policy."),
        ("X-Case-Ref" = Option<String>, Header, description = "The case the search is made for; most purposes require one.")),
    responses(
        (status = 200, description = "The persons found (at most 100), with their profile URLs.", body = PersonSearchBody),
        (status = 400, description = "No criterion, several, a malformed value, or a name without `birth_date`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Refused by the access policy; `code` is its rule. Logged.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<PersonSearchBody>, ApiError> {
    let Query(query) = query.map_err(query_rejection)?;
    let purpose = Purpose::from_headers(&headers);
    let persons = search_persons(&context, caller, purpose, query).await?;
    Ok(Json(PersonSearchBody {
        persons: persons
            .into_iter()
            .map(|person_id| PersonLink {
                person_id,
                url: person_url(person_id),
            })
            .collect(),
    }))
}

/// One search as `GET /v1/persons` does it, for the API and the officers' console alike: the
/// query is checked (every refusal names its parameter), the policy decides the search for the
/// stated purpose (a refusal is logged and answered), and each person found is an entry in the
/// access log before the list is returned.
pub(crate) async fn search_persons(
    context: &ApiContext,
    caller: Caller,
    purpose: Purpose,
    query: SearchQuery,
) -> Result<Vec<PersonId>, ApiError> {
    let search = plan_search(query)?;
    let allowance = match auth::decide(context, &caller, &purpose, Action::Search) {
        Ok(allowance) => allowance,
        Err(refusal) => {
            return Err(auth::refuse(
                context,
                &caller,
                &purpose,
                AccessAction::Search,
                None,
                refusal,
            )
            .await);
        }
    };
    let search_context = context.clone();
    run_blocking(move || {
        let persons = run_search(search_context.state.store.as_ref(), &search)?;
        let logged: Vec<Option<PersonId>> = if persons.is_empty() {
            vec![None]
        } else {
            persons.iter().copied().map(Some).collect()
        };
        auth::log_access(
            &search_context,
            AccessEvent {
                caller: &caller,
                purpose: &purpose,
                action: AccessAction::Search,
                persons: logged,
                categories: Vec::new(),
                decision: Ok(allowance.disclosure_delay_days),
            },
        )?;
        Ok::<_, ApiError>(persons)
    })
    .await
}

fn plan_search(query: SearchQuery) -> Result<Search, ApiError> {
    let given = [
        query.document.is_some(),
        query.identifier.is_some(),
        query.name.is_some(),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    if given != 1 {
        return Err(ApiError::InvalidQuery {
            detail: "give exactly one of `document`, `identifier`, or `name` with `birth_date`"
                .to_owned(),
            errors: Vec::new(),
        });
    }
    if query.birth_date.is_some() && query.name.is_none() {
        return Err(ApiError::invalid_parameter(
            "birth_date",
            Rule::Required,
            "`birth_date` narrows a name search: give `name` with it",
        ));
    }
    if let Some(document) = query.document {
        let number =
            DocumentNumber::parse(&document).map_err(|error| value_error("document", error))?;
        let value = number.as_str().to_owned();
        return Ok(Search::Identifiers(vec![
            (Some(KeyKind::Passport), value.clone()),
            (Some(KeyKind::NationalId), value),
        ]));
    }
    if let Some(identifier) = query.identifier {
        return plan_identifier_search(&identifier).map(Search::Identifiers);
    }
    let name = query.name.unwrap_or_default();
    let keys = query_name_keys(&name);
    if keys.is_empty() {
        return Err(ApiError::invalid_parameter(
            "name",
            Rule::Length,
            "the name holds no word of two letters or more",
        ));
    }
    let Some(birth_date) = query.birth_date else {
        return Err(ApiError::invalid_parameter(
            "birth_date",
            Rule::Required,
            "a name search needs `birth_date` (YYYY, YYYY-MM or YYYY-MM-DD): a name alone is not enough to search",
        ));
    };
    let birth_date =
        PartialDate::parse(&birth_date).map_err(|error| value_error("birth_date", error))?;
    Ok(Search::Name { keys, birth_date })
}

/// `kind:value` normalised by the kind's own rules, or a bare value tried in every normal form
/// it has.
fn plan_identifier_search(text: &str) -> Result<Vec<(Option<KeyKind>, String)>, ApiError> {
    let text = text.trim();
    let invalid = |error: ValueError| value_error("identifier", error);
    if let Some((kind_code, value)) = text.split_once(':') {
        let Some(kind) = KeyKind::from_code(kind_code) else {
            return Err(ApiError::invalid_parameter(
                "identifier",
                Rule::Enum,
                format!(
                    "`{kind_code}` is no identifier kind: write snils:…, inn:…, esia:…, passport:…, national_id:…, or the value alone"
                ),
            ));
        };
        let normal = match kind {
            KeyKind::Snils => Snils::parse(value).map_err(invalid)?.as_str().to_owned(),
            KeyKind::Inn => Inn::parse(value).map_err(invalid)?.as_str().to_owned(),
            KeyKind::Esia => EsiaId::parse(value).map_err(invalid)?.as_str().to_owned(),
            KeyKind::Passport | KeyKind::NationalId => {
                // `passport:UZB:FA1234567` and `passport:FA1234567` both search the number.
                let number = value.rsplit(':').next().unwrap_or(value);
                DocumentNumber::parse(number)
                    .map_err(invalid)?
                    .as_str()
                    .to_owned()
            }
        };
        return Ok(vec![(Some(kind), normal)]);
    }
    if text.is_empty() {
        return Err(ApiError::invalid_parameter(
            "identifier",
            Rule::Required,
            "the identifier is empty",
        ));
    }
    let mut values = BTreeSet::from([text.to_owned()]);
    if let Ok(snils) = Snils::parse(text) {
        values.insert(snils.as_str().to_owned());
    }
    if let Ok(number) = DocumentNumber::parse(text) {
        values.insert(number.as_str().to_owned());
    }
    Ok(values.into_iter().map(|value| (None, value)).collect())
}

fn run_search(store: &dyn Store, search: &Search) -> StoreResult<Vec<PersonId>> {
    let mut found = BTreeSet::new();
    match search {
        Search::Identifiers(pairs) => {
            for (kind, value) in pairs {
                found.extend(store.find_by_identifier(*kind, value)?);
            }
        }
        Search::Name { keys, birth_date } => {
            for person in store.find_by_name(keys, birth_date.year())? {
                // The index knows the birth year only; a month or day asked for is checked
                // against what the sources wrote.
                if birth_date.month().is_none()
                    || person_has_birth_date(store, person, *birth_date)?
                {
                    found.insert(person);
                }
                if found.len() >= SEARCH_RESULT_LIMIT {
                    break;
                }
            }
        }
    }
    Ok(found.into_iter().take(SEARCH_RESULT_LIMIT).collect())
}

fn person_has_birth_date(
    store: &dyn Store,
    person: PersonId,
    wanted: PartialDate,
) -> StoreResult<bool> {
    let versions = store.person_versions(person)?;
    Ok(versions.iter().any(|version| {
        serde_json::from_slice::<serde_json::Value>(&version.raw)
            .ok()
            .and_then(|raw| {
                raw.pointer("/subject/birth_date")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .and_then(|text| PartialDate::parse(&text).ok())
            .is_some_and(|written| written.compatible_with(wanted))
    }))
}
