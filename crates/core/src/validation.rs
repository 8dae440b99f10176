//! Field errors the UI can show next to a field, in Spanish, from a stable `code`.
//!
//! Each rule returns a `FieldError { field, problem }`; a record's `validate` collects all of
//! them in `ValidationErrors` so a caseworker sees every problem of the form at once, not one
//! per submit. Codes are part of the contract with the UI's translation table: never rename one.
//! Field names are snake_case paths into the record's JSON, e.g. `return_events[0].date`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dui::{Dui, DuiError};
use crate::territory::Territory;

/// What is wrong with a field. Serialized with its `code` as the tag, plus the details the UI
/// needs to build a precise message ("debe ser posterior a …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    #[error("is required")]
    Required,
    #[error("DUI must look like ########-#")]
    DuiFormat,
    #[error("DUI check digit should be {expected}")]
    DuiCheckDigit { expected: u8 },
    #[error("date {date} is in the future")]
    DateInFuture { date: NaiveDate },
    /// A date that must not come before another field's date (withdrawal before consent,
    /// a return before birth, a goal closed before it started).
    #[error("date comes before {other_field}")]
    DateOutOfOrder { other_field: String },
    #[error("unknown district code {district_code}")]
    UnknownDistrict { district_code: String },
    #[error("unknown municipality code {municipality_code}")]
    UnknownMunicipality { municipality_code: String },
    #[error("age {age} is not plausible")]
    ImplausibleAge { age: i32 },
    #[error("phone number should have 8 to 15 digits")]
    InvalidPhone,
    #[error("country should be a two-letter ISO 3166-1 code")]
    InvalidCountry,
    #[error("amount must be greater than zero")]
    AmountNotPositive,
    #[error("amount exceeds {other_field}")]
    AmountExceeds { other_field: String },
    /// A value that contradicts another field, e.g. an adult marked as unaccompanied minor.
    #[error("contradicts {other_field}")]
    Inconsistent { other_field: String },
    #[error("appears more than once")]
    Duplicate,
}

impl Problem {
    /// The stable snake_case code the UI translates. Matches the serialized `code` tag.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Required => "required",
            Problem::DuiFormat => "dui_format",
            Problem::DuiCheckDigit { .. } => "dui_check_digit",
            Problem::DateInFuture { .. } => "date_in_future",
            Problem::DateOutOfOrder { .. } => "date_out_of_order",
            Problem::UnknownDistrict { .. } => "unknown_district",
            Problem::UnknownMunicipality { .. } => "unknown_municipality",
            Problem::ImplausibleAge { .. } => "implausible_age",
            Problem::InvalidPhone => "invalid_phone",
            Problem::InvalidCountry => "invalid_country",
            Problem::AmountNotPositive => "amount_not_positive",
            Problem::AmountExceeds { .. } => "amount_exceeds",
            Problem::Inconsistent { .. } => "inconsistent",
            Problem::Duplicate => "duplicate",
        }
    }
}

impl From<DuiError> for Problem {
    fn from(e: DuiError) -> Self {
        match e {
            DuiError::Format => Problem::DuiFormat,
            DuiError::CheckDigit { expected, .. } => Problem::DuiCheckDigit { expected },
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// snake_case path of the field, e.g. `destination_district` or `consents[1].withdrawn_on`.
    pub field: String,
    #[serde(flatten)]
    #[ts(flatten)]
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        FieldError {
            field: field.into(),
            problem,
        }
    }

    pub fn code(&self) -> &'static str {
        self.problem.code()
    }
}

/// All the problems found in one record. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldError::new(field, problem));
    }

    /// Adds the errors of a nested record, prefixing their fields: `return_events[0]` + `date`
    /// becomes `return_events[0].date`.
    pub fn extend_nested(&mut self, prefix: &str, nested: ValidationErrors) {
        for e in nested.0 {
            self.0
                .push(FieldError::new(format!("{prefix}.{}", e.field), e.problem));
        }
    }

    /// Adds the errors of a nested record's `validate` result, if any.
    pub fn merge(&mut self, prefix: &str, nested: Result<(), ValidationErrors>) {
        if let Err(e) = nested {
            self.extend_nested(prefix, e);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// The errors of one field (exact path).
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.0.iter().filter(move |e| e.field == field)
    }

    /// Whether `field` has an error with `code`. Handy in tests and in the API layer.
    pub fn has(&self, field: &str, code: &str) -> bool {
        self.for_field(field).any(|e| e.code() == code)
    }

    /// `Ok(())` when no problem was found.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    // --- the shared rules, used by every record's `validate` ---

    /// Text that must be present (blank counts as missing: people hit space bar to skip fields).
    pub fn require_text(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(field, Problem::Required);
        }
    }

    /// A value that must be chosen.
    pub fn require<T>(&mut self, field: &str, value: Option<&T>) {
        if value.is_none() {
            self.push(field, Problem::Required);
        }
    }

    /// A date of something that already happened: it cannot be after `today`.
    pub fn not_in_future(&mut self, field: &str, date: NaiveDate, today: NaiveDate) {
        if date > today {
            self.push(field, Problem::DateInFuture { date });
        }
    }

    /// `later` (in `field`) must not come before `earlier` (in `other_field`).
    pub fn not_before(
        &mut self,
        field: &str,
        later: NaiveDate,
        other_field: &str,
        earlier: NaiveDate,
    ) {
        if later < earlier {
            self.push(
                field,
                Problem::DateOutOfOrder {
                    other_field: other_field.to_owned(),
                },
            );
        }
    }

    /// A district code that must exist in the embedded territory.
    pub fn known_district(&mut self, field: &str, code: &str) {
        if Territory::el_salvador().place(code).is_none() {
            self.push(
                field,
                Problem::UnknownDistrict {
                    district_code: code.to_owned(),
                },
            );
        }
    }

    /// A municipality code that must exist in the embedded territory.
    pub fn known_municipality(&mut self, field: &str, code: &str) {
        if Territory::el_salvador().municipality(code).is_none() {
            self.push(
                field,
                Problem::UnknownMunicipality {
                    municipality_code: code.to_owned(),
                },
            );
        }
    }

    /// A phone number: 8 (El Salvador) to 15 (E.164 maximum) digits, ignoring spaces, dashes,
    /// dots, parentheses and a leading `+`. Returnees often keep a foreign number for a while.
    pub fn phone(&mut self, field: &str, phone: &str) {
        if !is_plausible_phone(phone) {
            self.push(field, Problem::InvalidPhone);
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        ValidationErrors(vec![e])
    }
}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Parses a DUI typed in a form field, as a field error the UI can show. The API uses this on
/// raw form input before building a `Person` (a `Person` only holds valid DUIs).
pub fn parse_dui_field(field: &str, raw: &str) -> Result<Dui, FieldError> {
    raw.parse::<Dui>()
        .map_err(|e| FieldError::new(field, e.into()))
}

fn is_plausible_phone(phone: &str) -> bool {
    let rest = phone.trim().strip_prefix('+').unwrap_or(phone.trim());
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return false,
        }
    }
    (8..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn serialized_error_carries_field_code_and_details() {
        let e = FieldError::new("dui", Problem::DuiCheckDigit { expected: 5 });
        let json = serde_json::to_value(&e).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"field": "dui", "code": "dui_check_digit", "expected": 5})
        );
        let back: FieldError = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, e);
    }

    #[test]
    fn code_matches_serialized_tag_for_every_problem() {
        let all = [
            Problem::Required,
            Problem::DuiFormat,
            Problem::DuiCheckDigit { expected: 1 },
            Problem::DateInFuture {
                date: date(2030, 1, 1),
            },
            Problem::DateOutOfOrder {
                other_field: "x".into(),
            },
            Problem::UnknownDistrict {
                district_code: "x".into(),
            },
            Problem::UnknownMunicipality {
                municipality_code: "x".into(),
            },
            Problem::ImplausibleAge { age: 130 },
            Problem::InvalidPhone,
            Problem::InvalidCountry,
            Problem::AmountNotPositive,
            Problem::AmountExceeds {
                other_field: "x".into(),
            },
            Problem::Inconsistent {
                other_field: "x".into(),
            },
            Problem::Duplicate,
        ];
        for p in all {
            let json = serde_json::to_value(&p).expect("serialize");
            assert_eq!(json["code"], p.code(), "{p:?}");
        }
    }

    #[test]
    fn typescript_declaration_is_derivable() {
        assert!(FieldError::decl().contains("field: string"));
        assert!(Problem::decl().contains("\"dui_check_digit\""));
        assert!(ValidationErrors::inline().contains("FieldError"));
    }

    /// Bindings are exported elsewhere; here we check every public type has a declaration and
    /// none uses `bigint` (serde_json sends plain numbers, a `bigint` would lie to the UI).
    #[test]
    fn every_public_type_has_a_typescript_declaration_without_bigint() {
        use crate::{audit, case_note, consent, follow_up, ids, person, plan, provider, referral};
        use crate::{return_event, user, vulnerability};
        let decls = [
            ids::PersonId::decl(),
            ids::ReturnEventId::decl(),
            ids::ConsentId::decl(),
            ids::GoalId::decl(),
            ids::ReferralId::decl(),
            ids::FollowUpId::decl(),
            ids::CaseNoteId::decl(),
            ids::ProviderId::decl(),
            ids::UserId::decl(),
            ids::DeviceId::decl(),
            ids::FamilyGroupId::decl(),
            ids::AuditId::decl(),
            Dui::decl(),
            person::Person::decl(),
            person::BeneficiaryType::decl(),
            person::ContactChannel::decl(),
            person::Sex::decl(),
            person::Education::decl(),
            person::DocumentKind::decl(),
            person::OtherDocument::decl(),
            person::BirthDate::decl(),
            person::ClosureReason::decl(),
            person::CaseStatus::decl(),
            person::CaseFlag::decl(),
            return_event::ReturnEvent::decl(),
            return_event::ReturnModality::decl(),
            return_event::ReceptionCenter::decl(),
            return_event::TravelCompanion::decl(),
            return_event::ImmediateAssistance::decl(),
            vulnerability::Vulnerability::decl(),
            consent::Consent::decl(),
            consent::ConsentPurpose::decl(),
            plan::ReintegrationPlan::decl(),
            plan::Goal::decl(),
            plan::Dimension::decl(),
            plan::GoalStatus::decl(),
            plan::PlanProgress::decl(),
            referral::Referral::decl(),
            referral::ReferralStep::decl(),
            referral::ReferralStatus::decl(),
            referral::ServiceType::decl(),
            referral::Priority::decl(),
            referral::UsdCents::decl(),
            referral::Entrepreneurship::decl(),
            follow_up::FollowUp::decl(),
            follow_up::FollowUpChannel::decl(),
            case_note::CaseNote::decl(),
            provider::ServiceProvider::decl(),
            provider::ProviderContact::decl(),
            provider::PersonField::decl(),
            user::User::decl(),
            user::Role::decl(),
            user::Device::decl(),
            audit::AuditEntry::decl(),
            audit::AuditAction::decl(),
            audit::RecordKind::decl(),
            audit::EntityRef::decl(),
            FieldError::decl(),
            Problem::decl(),
            ValidationErrors::decl(),
        ];
        for d in decls {
            assert!(d.starts_with("type "), "{d}");
            assert!(!d.contains("bigint"), "{d}");
        }
    }

    #[test]
    fn nested_errors_get_prefixed_paths() {
        let mut inner = ValidationErrors::new();
        inner.push("date", Problem::Required);
        let mut outer = ValidationErrors::new();
        outer.extend_nested("return_events[2]", inner);
        assert!(outer.has("return_events[2].date", "required"));
        assert_eq!(outer.len(), 1);
    }

    #[test]
    fn rules_report_the_right_codes() {
        let today = date(2025, 6, 1);
        let mut e = ValidationErrors::new();
        e.require_text("given_names", "   ");
        e.not_in_future("birth_date", date(2025, 6, 2), today);
        e.not_in_future("ok_date", today, today);
        e.known_district("destination_district", "no-such-code");
        e.phone("phone", "7777-12");
        e.not_before(
            "withdrawn_on",
            date(2025, 1, 1),
            "given_on",
            date(2025, 2, 1),
        );
        assert!(e.has("given_names", "required"));
        assert!(e.has("birth_date", "date_in_future"));
        assert!(!e.has("ok_date", "date_in_future"));
        assert!(e.has("destination_district", "unknown_district"));
        assert!(e.has("phone", "invalid_phone"));
        assert!(e.has("withdrawn_on", "date_out_of_order"));
        assert_eq!(e.len(), 5);
        assert!(e.into_result().is_err());
        assert_eq!(ValidationErrors::new().into_result(), Ok(()));
    }

    #[test]
    fn dui_field_errors_distinguish_format_from_check_digit() {
        assert_eq!(
            parse_dui_field("dui", "00016297-5").map(|d| d.to_string()),
            Ok("00016297-5".into())
        );
        assert_eq!(
            parse_dui_field("dui", "0001629-75").map_err(|e| e.code()),
            Err("dui_format")
        );
        assert_eq!(
            parse_dui_field("dui", "00016297-4").map_err(|e| e.code()),
            Err("dui_check_digit")
        );
    }

    #[test]
    fn phones() {
        assert!(is_plausible_phone("7777-1234"));
        assert!(is_plausible_phone("+503 7777 1234"));
        assert!(is_plausible_phone("+1 (713) 555-0100"));
        assert!(!is_plausible_phone("7777"));
        assert!(!is_plausible_phone("7777-1234 ext"));
        assert!(!is_plausible_phone("1234567890123456"));
    }

    proptest! {
        #[test]
        fn a_date_is_in_the_future_exactly_when_after_today(a in 0i64..40_000, b in 0i64..40_000) {
            let base = date(1950, 1, 1);
            let (d, today) = (base + chrono::Days::new(a as u64), base + chrono::Days::new(b as u64));
            let mut e = ValidationErrors::new();
            e.not_in_future("d", d, today);
            prop_assert_eq!(e.has("d", "date_in_future"), d > today);
        }
    }
}
