//! Typed `data` payloads, one per category: serde reads the shape, `Validate` the cross-field
//! rules, and every failure becomes a [`Violation`] with the JSON pointer of the field.

mod administrative_offence;
mod border_crossing;
mod common;
mod diplomatic_accreditation;
mod driving_licence;
mod education_document;
mod education_enrolment;
mod employment;
mod entry_ban;
mod esia_account;
mod language_certificate;
mod medical_examination;
mod medical_insurance;
mod migration_registration;
mod phone_number;
mod planned_arrival;
mod population_register;
mod real_estate;
mod school_language_test;
mod small_vessel_licence;
mod snils;
mod stay_application;
mod stay_document;
mod tax_debt;
mod vehicle;
mod visa;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use administrative_offence::{AdministrativeOffence, OffenceCode, OffenceDecision};
pub use border_crossing::{BorderCrossing, CrossingDirection, CrossingPurpose, CrossingTransport};
pub use common::{
    Address, CadastralNumber, Date, DateTime, Inn10, IntegerInRange, Money, PhoneNumber, Region,
    SchoolGrade, StayDays, TestScore, Text, VehicleYear, Vin,
};
pub use diplomatic_accreditation::{AccreditationCategory, DiplomaticAccreditation};
pub use driving_licence::{DrivingLicence, DrivingLicenceCategory};
pub use education_document::{EducationDocument, EducationDocumentKind};
pub use education_enrolment::{EducationEnrolment, EducationLevel, StudyForm, StudyFunding};
pub use employment::{Employer, Employment, EmploymentContract};
pub use entry_ban::{EntryBan, EntryBanReason};
pub use esia_account::{EsiaAccount, EsiaAccountLevel};
pub use language_certificate::{LanguageCertificate, LanguageCertificatePurpose};
pub use medical_examination::{
    DrugTestResult, HivTestResult, InfectiousDiseasesResult, MedicalExamination,
};
pub use medical_insurance::{MedicalInsurance, MedicalInsuranceKind};
pub use migration_registration::{
    HostKind, MigrationRegistration, RegistrationHost, RegistrationKind, RegistrationPurpose,
};
pub use phone_number::PhoneSubscription;
pub use planned_arrival::{MAX_PLANNED_STAY_DAYS, PlannedArrival};
pub use population_register::{PopulationRegister, PopulationRegisterEvent};
pub use real_estate::{RealEstate, RealEstateKind, RealEstateRight};
pub use school_language_test::{SchoolLanguageTest, SchoolLanguageTestResult};
pub use small_vessel_licence::{NavigationWaters, SmallVesselLicence};
pub use snils::SnilsRegistration;
pub use stay_application::{StayApplication, StayApplicationKind, StayApplicationStatus};
pub use stay_document::{StayDocument, StayDocumentKind};
pub use tax_debt::{TaxDebt, TaxKind};
pub use vehicle::Vehicle;
pub use visa::{Visa, VisaEntries, VisaKind, VisaPurpose};

use crate::category::Category;
use crate::values::ValueError;
use crate::violation::{Rule, Violation, pointer_join};

/// Cross-field rules that serde cannot express (date order, ranges that depend on each other).
pub trait Validate {
    /// Pushes one violation per broken rule; `pointer` is where this value sits in the record.
    fn validate(&self, _pointer: &str, _violations: &mut Vec<Violation>) {}
}

/// Pushes a `date_order` violation when `later` is before `earlier`.
pub fn check_date_order(
    violations: &mut Vec<Violation>,
    pointer: &str,
    earlier: (&str, Option<&Date>),
    later: (&str, Option<&Date>),
) {
    if let (Some(earlier_date), Some(later_date)) = (earlier.1, later.1)
        && later_date < earlier_date
    {
        violations.push(Violation::new(
            pointer_join(pointer, later.0),
            Rule::DateOrder,
            format!(
                "{} ({later_date}) is before {} ({earlier_date}): check both dates",
                later.0, earlier.0
            ),
        ));
    }
}

/// Pushes a `range` violation when an amount that cannot be negative (a fine, a salary) is.
pub fn check_not_negative(
    violations: &mut Vec<Violation>,
    pointer: &str,
    field: (&str, Option<&Money>),
) {
    if let Some(amount) = field.1
        && amount.minor_units < 0
    {
        violations.push(Violation::new(
            pointer_join(pointer, field.0),
            Rule::Range,
            format!(
                "{} is {}: it cannot be negative, check the sign with the source",
                field.0,
                amount.as_f64()
            ),
        ));
    }
}

macro_rules! payloads {
    ($($variant:ident($type:ty),)*) => {
        /// The typed `data` of a record; the variant always matches the record's category.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Payload {
            $($variant($type),)*
        }

        impl Payload {
            pub fn category(&self) -> Category {
                match self {
                    $(Payload::$variant(_) => Category::$variant,)*
                }
            }
        }

        /// Reads `data` as the payload of `category`.
        pub fn parse_payload(category: Category, data: &Value) -> PayloadParse {
            match category {
                $(Category::$variant => parse_typed::<$type>(data, DATA_POINTER).map(Payload::$variant),)*
            }
        }
    };
}

payloads! {
    MigrationRegistration(MigrationRegistration),
    StayApplication(StayApplication),
    StayDocument(StayDocument),
    BorderCrossing(BorderCrossing),
    DiplomaticAccreditation(DiplomaticAccreditation),
    AdministrativeOffence(AdministrativeOffence),
    EntryBan(EntryBan),
    Vehicle(Vehicle),
    DrivingLicence(DrivingLicence),
    SmallVesselLicence(SmallVesselLicence),
    RealEstate(RealEstate),
    Employment(Employment),
    TaxDebt(TaxDebt),
    SchoolLanguageTest(SchoolLanguageTest),
    EducationEnrolment(EducationEnrolment),
    EducationDocument(EducationDocument),
    LanguageCertificate(LanguageCertificate),
    MedicalInsurance(MedicalInsurance),
    MedicalExamination(MedicalExamination),
    PhoneNumber(PhoneSubscription),
    Snils(SnilsRegistration),
    EsiaAccount(EsiaAccount),
    PopulationRegister(PopulationRegister),
    Visa(Visa),
    PlannedArrival(PlannedArrival),
}

impl Payload {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The outcome of reading one `data` object.
#[derive(Debug)]
pub struct PayloadParse {
    pub result: Result<Payload, Vec<Violation>>,
    /// JSON pointers of fields the category does not define: kept in the raw record, flagged.
    pub unknown_fields: Vec<String>,
}

pub(crate) struct TypedParse<T> {
    pub(crate) result: Result<T, Vec<Violation>>,
    pub(crate) unknown_fields: Vec<String>,
}

impl<T> TypedParse<T> {
    fn map(self, wrap: impl FnOnce(T) -> Payload) -> PayloadParse {
        PayloadParse {
            result: self.result.map(wrap),
            unknown_fields: self.unknown_fields,
        }
    }
}

const DATA_POINTER: &str = "/data";

pub(crate) fn parse_typed<T: DeserializeOwned + Validate>(
    data: &Value,
    base_pointer: &str,
) -> TypedParse<T> {
    let mut unknown_fields = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let outcome = {
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            unknown_fields.push(ignored_path_to_pointer(base_pointer, &path));
        };
        let ignored = serde_ignored::Deserializer::new(data, &mut on_ignored);
        T::deserialize(serde_path_to_error::Deserializer::new(ignored, &mut track))
    };
    let result = match outcome {
        Ok(value) => {
            let mut violations = Vec::new();
            value.validate(base_pointer, &mut violations);
            if violations.is_empty() {
                Ok(value)
            } else {
                Err(violations)
            }
        }
        Err(error) => {
            let path = track.path();
            Err(vec![serde_error_to_violation(
                base_pointer,
                &path,
                &error.to_string(),
            )])
        }
    };
    TypedParse {
        result,
        unknown_fields,
    }
}

fn ignored_path_to_pointer(base_pointer: &str, path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => base_pointer.to_owned(),
        Path::Seq { parent, index } => pointer_join(
            &ignored_path_to_pointer(base_pointer, parent),
            &index.to_string(),
        ),
        Path::Map { parent, key } => {
            pointer_join(&ignored_path_to_pointer(base_pointer, parent), key)
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path_to_pointer(base_pointer, parent),
    }
}

/// Marks a serde error message as carrying one of our rule codes (see [`value_error_to_serde`]).
const RULE_MARK: char = '\u{1f}';

/// Carries a [`ValueError`] through serde's string-only custom errors, rule code included.
pub fn value_error_to_serde<E: serde::de::Error>(error: ValueError) -> E {
    E::custom(format!(
        "{RULE_MARK}{}{RULE_MARK}{}",
        error.rule.code(),
        error.message
    ))
}

fn serde_error_to_violation(
    base_pointer: &str,
    path: &serde_path_to_error::Path,
    message: &str,
) -> Violation {
    use serde_path_to_error::Segment;
    let mut pointer = base_pointer.to_owned();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer = pointer_join(&pointer, &index.to_string()),
            Segment::Map { key } => pointer = pointer_join(&pointer, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    // serde_json appends " at line X column Y" to errors from text; values carry none.
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix(RULE_MARK)
        && let Some((code, text)) = rest.split_once(RULE_MARK)
        && let Some(rule) = Rule::from_code(code)
    {
        return Violation::new(pointer, rule, text);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return Violation::new(
            pointer_join(&pointer, field),
            Rule::Required,
            format!("`{field}` is required for this category: add it"),
        );
    }
    // `null` in a field that needs a value is a missing value, as the envelope reports it,
    // not a value of the wrong type; optional fields read `null` as absent and never get here.
    if message.starts_with("invalid type: null") {
        return Violation::new(
            pointer,
            Rule::Required,
            "the value is null but this field needs one: send a value",
        );
    }
    if message.starts_with("unknown variant") {
        return Violation::new(pointer, Rule::Enum, message.replace("expected", "allowed:"));
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return Violation::new(pointer, Rule::Type, message.to_owned());
    }
    if message.starts_with("invalid length") {
        return Violation::new(pointer, Rule::Length, message.to_owned());
    }
    Violation::new(pointer, Rule::Type, message.to_owned())
}

#[cfg(test)]
mod tests;
