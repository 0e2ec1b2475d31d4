//! Who may do what with personal data: a written policy (TOML) mapping role × purpose to the
//! categories (and, where needed, fields) a role may see and the actions it may take, plus which
//! agency may send which categories. Default deny: anything not granted is refused, with a
//! stable rule code that the API returns and the access log records.
//!
//! Pure: the caller loads the text and passes the request; no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use dprofile_domain::Category;
use serde::{Deserialize, Serialize};

/// The policy shipped with dprofile, for the agencies that send the synthetic data.
pub const DEFAULT_POLICY: &str = include_str!("../default-policy.toml");

/// What a role does with personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open one person's profile.
    Read,
    /// Look persons up by document, identifier or name.
    Search,
    /// Decide possible matches, merge and split persons.
    Review,
    /// See counts over many persons, never one person.
    Aggregate,
    /// Read and answer the correction requests about records the caller's own agency sent
    /// (its queue; never another agency's).
    Correct,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Read,
        Action::Search,
        Action::Review,
        Action::Aggregate,
        Action::Correct,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::Review => "review",
            Action::Aggregate => "aggregate",
            Action::Correct => "correct",
        }
    }
}

/// A policy file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {path}: {message} ({rule})")]
pub struct PolicyError {
    /// Where in the file, as a dotted path (`roles.police_officer.grants[1].categories`).
    pub path: String,
    /// Stable code of the rule that failed.
    pub rule: &'static str,
    pub message: String,
}

/// Why an access was refused: a stable code for machines and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} ({})", self.message, self.code)
    }
}

/// Who asks, for what, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    pub role: &'a str,
    pub agency: &'a str,
    pub purpose: &'a str,
    pub case_ref: Option<&'a str>,
    pub action: Action,
}

/// What an allowed request may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowance {
    pub categories: BTreeSet<Category>,
    /// Categories narrowed to some fields of their `data`; a category absent here shows whole.
    pub fields: BTreeMap<Category, BTreeSet<String>>,
    /// Days before the person sees this access in their log (law-enforcement reads); 0 = at once.
    pub disclosure_delay_days: u32,
}

impl Allowance {
    pub fn allows(&self, category: Category) -> bool {
        self.categories.contains(&category)
    }

    /// The fields of `category` the request may see, `None` meaning all of them.
    pub fn visible_fields(&self, category: Category) -> Option<&BTreeSet<String>> {
        self.fields.get(&category)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    purposes: BTreeSet<String>,
    actions: BTreeSet<Action>,
    categories: BTreeSet<Category>,
    fields: BTreeMap<Category, BTreeSet<String>>,
    case_required: bool,
    disclosure_delay_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Role {
    description: String,
    agencies: BTreeSet<String>,
    grants: Vec<Grant>,
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    roles: BTreeMap<String, Role>,
    writes: BTreeMap<String, BTreeSet<Category>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: u32,
    #[serde(default)]
    roles: BTreeMap<String, RawRole>,
    #[serde(default)]
    writes: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    #[serde(default)]
    description: String,
    agencies: Vec<String>,
    #[serde(default)]
    grants: Vec<RawGrant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    purposes: Vec<String>,
    actions: Vec<Action>,
    categories: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
    #[serde(default = "case_required_by_default")]
    case_required: bool,
    #[serde(default)]
    disclosure_delay_days: u32,
}

fn case_required_by_default() -> bool {
    true
}

/// A name usable as a role, purpose or agency: lowercase ASCII letters, digits, `_` and `-`.
fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'-'
        })
}

fn error(path: impl Into<String>, rule: &'static str, message: impl Into<String>) -> PolicyError {
    PolicyError {
        path: path.into(),
        rule,
        message: message.into(),
    }
}

fn category(path: &str, code: &str) -> Result<Category, PolicyError> {
    Category::from_code(code).ok_or_else(|| {
        error(
            path,
            "policy.unknown_category",
            format!("`{code}` is not a record category; see docs/categories.md"),
        )
    })
}

impl Policy {
    /// The shipped default policy.
    pub fn default_policy() -> Policy {
        // The shipped file is checked by this crate's tests; failing here is a build defect.
        Policy::from_toml(DEFAULT_POLICY).unwrap_or_else(|error| panic!("default policy: {error}"))
    }

    /// Reads and checks a policy file.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|parse_error| {
            error("(file)", "policy.syntax", parse_error.message().to_owned())
        })?;
        if raw.version != 1 {
            return Err(error(
                "version",
                "policy.version",
                format!(
                    "version {} is not supported; write `version = 1`",
                    raw.version
                ),
            ));
        }
        let mut roles = BTreeMap::new();
        for (name, raw_role) in raw.roles {
            let role_path = format!("roles.{name}");
            if !is_code(&name) {
                return Err(error(
                    role_path,
                    "policy.invalid_name",
                    "role names are lowercase letters, digits, `_` and `-`",
                ));
            }
            if raw_role.agencies.is_empty() {
                return Err(error(
                    format!("{role_path}.agencies"),
                    "policy.no_agency",
                    "name at least one agency whose staff may hold the role",
                ));
            }
            let mut grants = Vec::new();
            for (index, raw_grant) in raw_role.grants.into_iter().enumerate() {
                grants.push(Self::grant(
                    &format!("{role_path}.grants[{index}]"),
                    raw_grant,
                )?);
            }
            roles.insert(
                name,
                Role {
                    description: raw_role.description,
                    agencies: raw_role.agencies.into_iter().collect(),
                    grants,
                },
            );
        }
        let mut writes = BTreeMap::new();
        for (agency, codes) in raw.writes {
            let path = format!("writes.{agency}");
            let categories = codes
                .iter()
                .map(|code| category(&path, code))
                .collect::<Result<BTreeSet<_>, _>>()?;
            writes.insert(agency, categories);
        }
        Ok(Policy { roles, writes })
    }

    fn grant(path: &str, raw: RawGrant) -> Result<Grant, PolicyError> {
        if raw.purposes.is_empty() || raw.purposes.iter().any(|purpose| !is_code(purpose)) {
            return Err(error(
                format!("{path}.purposes"),
                "policy.invalid_purpose",
                "list at least one purpose; purposes are lowercase letters, digits, `_` and `-`",
            ));
        }
        if raw.actions.is_empty() {
            return Err(error(
                format!("{path}.actions"),
                "policy.no_action",
                "list at least one action: read, search, review, aggregate or correct",
            ));
        }
        let mut categories = BTreeSet::new();
        for code in &raw.categories {
            if code == "*" {
                // The wildcard never reaches a sensitive category: those are always named.
                categories.extend(
                    Category::ALL
                        .iter()
                        .filter(|category| !category.is_sensitive()),
                );
            } else {
                categories.insert(category(&format!("{path}.categories"), code)?);
            }
        }
        if categories.is_empty() {
            return Err(error(
                format!("{path}.categories"),
                "policy.no_category",
                "list the categories the grant shows, or `*` for every non-sensitive one",
            ));
        }
        let mut fields = BTreeMap::new();
        for (code, names) in raw.fields {
            let field_path = format!("{path}.fields.{code}");
            let narrowed = category(&field_path, &code)?;
            if !categories.contains(&narrowed) {
                return Err(error(
                    field_path,
                    "policy.fields_outside_grant",
                    format!("`{code}` is narrowed to fields but the grant does not show it"),
                ));
            }
            fields.insert(narrowed, names.into_iter().collect());
        }
        Ok(Grant {
            purposes: raw.purposes.into_iter().collect(),
            actions: raw.actions.into_iter().collect(),
            categories,
            fields,
            case_required: raw.case_required,
            disclosure_delay_days: raw.disclosure_delay_days,
        })
    }

    /// Role names, in order.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    pub fn role_description(&self, role: &str) -> Option<&str> {
        self.roles.get(role).map(|role| role.description.as_str())
    }

    /// Agencies whose staff may hold `role`.
    pub fn role_agencies(&self, role: &str) -> impl Iterator<Item = &str> {
        self.roles
            .get(role)
            .into_iter()
            .flat_map(|role| role.agencies.iter().map(String::as_str))
    }

    /// Whether `role` reads no personal data: none of its grants reads, searches, reviews or
    /// aggregates (a sending system's role, which may at most answer its correction queue).
    /// Its keys may send only their agency's `[writes]`, like every key.
    pub fn is_write_only(&self, role: &str) -> bool {
        self.roles.get(role).is_some_and(|role| {
            role.grants.iter().all(|grant| {
                grant.actions.iter().all(|action| {
                    !matches!(
                        action,
                        Action::Read | Action::Search | Action::Review | Action::Aggregate
                    )
                })
            })
        })
    }

    /// Agencies the `[writes]` section lets send records, in order.
    pub fn writing_agencies(&self) -> impl Iterator<Item = &str> {
        self.writes.keys().map(String::as_str)
    }

    /// Every purpose any grant of `role` names.
    pub fn purposes_of(&self, role: &str) -> BTreeSet<&str> {
        self.roles
            .get(role)
            .into_iter()
            .flat_map(|role| role.grants.iter())
            .flat_map(|grant| grant.purposes.iter().map(String::as_str))
            .collect()
    }

    /// Every purpose in the policy.
    pub fn purposes(&self) -> BTreeSet<&str> {
        self.roles
            .keys()
            .flat_map(|role| self.purposes_of(role))
            .collect()
    }

    /// Decides `request`: what it may see, or why not. Grants of the role that name the purpose
    /// and the action add up.
    pub fn decide(&self, request: &AccessRequest<'_>) -> Result<Allowance, Refusal> {
        let role = self.roles.get(request.role).ok_or_else(|| Refusal {
            code: "policy.unknown_role",
            message: format!("role `{}` is not in the access policy", request.role),
        })?;
        if !role.agencies.contains(request.agency) {
            return Err(Refusal {
                code: "policy.agency_not_in_role",
                message: format!(
                    "staff of agency `{}` may not act as `{}`",
                    request.agency, request.role
                ),
            });
        }
        let for_purpose: Vec<&Grant> = role
            .grants
            .iter()
            .filter(|grant| grant.purposes.contains(request.purpose))
            .collect();
        if for_purpose.is_empty() {
            return Err(Refusal {
                code: "policy.purpose_not_granted",
                message: format!(
                    "role `{}` may not act for purpose `{}`",
                    request.role, request.purpose
                ),
            });
        }
        let applicable: Vec<&Grant> = for_purpose
            .into_iter()
            .filter(|grant| grant.actions.contains(&request.action))
            .collect();
        if applicable.is_empty() {
            return Err(Refusal {
                code: "policy.action_not_granted",
                message: format!(
                    "role `{}` may not {} for purpose `{}`",
                    request.role,
                    request.action.code(),
                    request.purpose
                ),
            });
        }
        let case_missing = request
            .case_ref
            .is_none_or(|case_ref| case_ref.trim().is_empty());
        if case_missing && applicable.iter().any(|grant| grant.case_required) {
            return Err(Refusal {
                code: "policy.case_required",
                message: format!(
                    "purpose `{}` needs a case reference: send the case the access is for",
                    request.purpose
                ),
            });
        }
        let mut allowance = Allowance {
            categories: BTreeSet::new(),
            fields: BTreeMap::new(),
            disclosure_delay_days: 0,
        };
        let mut whole: BTreeSet<Category> = BTreeSet::new();
        for grant in &applicable {
            allowance
                .categories
                .extend(grant.categories.iter().copied());
            for category in &grant.categories {
                match grant.fields.get(category) {
                    None => {
                        whole.insert(*category);
                    }
                    Some(names) => allowance
                        .fields
                        .entry(*category)
                        .or_default()
                        .extend(names.iter().cloned()),
                }
            }
            allowance.disclosure_delay_days = allowance
                .disclosure_delay_days
                .max(grant.disclosure_delay_days);
        }
        // A category some grant shows whole is not narrowed by another grant.
        allowance
            .fields
            .retain(|category, _| !whole.contains(category));
        Ok(allowance)
    }

    /// [`Policy::decide`] for a request naming the categories it wants: refused unless all are
    /// allowed.
    pub fn decide_categories(
        &self,
        request: &AccessRequest<'_>,
        wanted: &[Category],
    ) -> Result<Allowance, Refusal> {
        let allowance = self.decide(request)?;
        if let Some(refused) = wanted.iter().find(|category| !allowance.allows(**category)) {
            return Err(Refusal {
                code: "policy.category_not_granted",
                message: format!(
                    "role `{}` may not see `{}` for purpose `{}`",
                    request.role,
                    refused.code(),
                    request.purpose
                ),
            });
        }
        Ok(allowance)
    }

    /// Whether agency `source` may send records of `category`.
    pub fn may_write(&self, source: &str, category: Category) -> Result<(), Refusal> {
        if self
            .writes
            .get(source)
            .is_some_and(|categories| categories.contains(&category))
        {
            return Ok(());
        }
        Err(Refusal {
            code: "policy.write_not_granted",
            message: format!(
                "agency `{source}` may not send `{}` records",
                category.code()
            ),
        })
    }
}

#[cfg(test)]
mod tests;
