//! `school_language_test`: the Russian language test a foreign child sits before being admitted
//! to a Russian school.

use serde::{Deserialize, Serialize};

use super::{Date, SchoolGrade, TestScore, Text, Validate};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolLanguageTest {
    pub tested_on: Date,
    pub school: Text,
    /// The grade the child applies for, which decides the level of the test.
    pub grade: SchoolGrade,
    pub result: SchoolLanguageTestResult,
    /// In percent; absent when the child did not sit the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<TestScore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolLanguageTestResult {
    Passed,
    Failed,
    /// The child did not come to the test.
    Absent,
}

/// One date has no order to check.
impl Validate for SchoolLanguageTest {}
