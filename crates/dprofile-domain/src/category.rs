//! The record categories that agencies send, as DESIGN.md lists them, and the person's own
//! notice of a planned arrival (`planned_arrival`, sent through the portal).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! categories {
    ($($variant:ident => $code:literal, sensitive: $sensitive:literal;)*) => {
        /// What a source record is about; decides how its `data` is read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Category {
            $($variant,)*
        }

        impl Category {
            pub const ALL: &'static [Category] = &[$(Category::$variant,)*];

            /// The wire code, as in the ingest envelope's `category`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Category::$variant => $code,)*
                }
            }

            pub fn from_code(code: &str) -> Option<Category> {
                match code {
                    $($code => Some(Category::$variant),)*
                    _ => None,
                }
            }

            /// Health, offences and entry bans: readable only where a written policy grants it.
            pub fn is_sensitive(self) -> bool {
                match self {
                    $(Category::$variant => $sensitive,)*
                }
            }
        }
    };
}

categories! {
    MigrationRegistration => "migration_registration", sensitive: false;
    StayApplication => "stay_application", sensitive: false;
    StayDocument => "stay_document", sensitive: false;
    BorderCrossing => "border_crossing", sensitive: false;
    DiplomaticAccreditation => "diplomatic_accreditation", sensitive: false;
    AdministrativeOffence => "administrative_offence", sensitive: true;
    EntryBan => "entry_ban", sensitive: true;
    Vehicle => "vehicle", sensitive: false;
    DrivingLicence => "driving_licence", sensitive: false;
    SmallVesselLicence => "small_vessel_licence", sensitive: false;
    RealEstate => "real_estate", sensitive: false;
    Employment => "employment", sensitive: false;
    TaxDebt => "tax_debt", sensitive: false;
    SchoolLanguageTest => "school_language_test", sensitive: false;
    EducationEnrolment => "education_enrolment", sensitive: false;
    EducationDocument => "education_document", sensitive: false;
    LanguageCertificate => "language_certificate", sensitive: false;
    MedicalInsurance => "medical_insurance", sensitive: false;
    MedicalExamination => "medical_examination", sensitive: true;
    PhoneNumber => "phone_number", sensitive: false;
    Snils => "snils", sensitive: false;
    EsiaAccount => "esia_account", sensitive: false;
    PopulationRegister => "population_register", sensitive: false;
    Visa => "visa", sensitive: false;
    PlannedArrival => "planned_arrival", sensitive: false;
}

impl fmt::Display for Category {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_serde() {
        assert_eq!(Category::ALL.len(), 25);
        for category in Category::ALL {
            assert_eq!(Category::from_code(category.code()), Some(*category));
            let json = serde_json::to_value(category).unwrap();
            assert_eq!(json, serde_json::Value::from(category.code()));
        }
        assert!(Category::MedicalExamination.is_sensitive());
        assert!(!Category::TaxDebt.is_sensitive());
    }
}
