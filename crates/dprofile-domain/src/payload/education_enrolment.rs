//! `education_enrolment`: a person's enrolment at a school, college or university in Russia.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EducationEnrolment {
    pub institution: Text,
    pub programme: Text,
    pub level: EducationLevel,
    pub form: StudyForm,
    pub enrolled_on: Date,
    /// The planned end of studies: a student's right to stay follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_end: Option<Date>,
    /// The actual end (graduation or expulsion); absent while the person studies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<StudyFunding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EducationLevel {
    School,
    Vocational,
    Bachelor,
    Specialist,
    Master,
    Postgraduate,
    /// A preparatory faculty, where foreign students learn Russian before their programme.
    Preparatory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyForm {
    FullTime,
    PartTime,
    Distance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyFunding {
    /// A state-funded place won in open competition.
    Budget,
    /// Paid by the student or a sponsor.
    Contract,
    /// A place within the government's quota for foreign students.
    Quota,
}

impl Validate for EducationEnrolment {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("enrolled_on", Some(&self.enrolled_on)),
            ("expected_end", self.expected_end.as_ref()),
        );
        check_date_order(
            violations,
            pointer,
            ("enrolled_on", Some(&self.enrolled_on)),
            ("ended_on", self.ended_on.as_ref()),
        );
    }
}
