//! Importing the spreadsheets offices already keep: persons and their return events from an
//! XLSX (calamine) or CSV (csv) file, without retyping.
//!
//! 1. The header row is found (a title row above it is skipped) and each column is mapped to a
//!    field, suggested from its header (`Nombres`, `Primer apellido`, `Teléfono`…) or as a saved
//!    mapping says ([`ImportMapping`]).
//! 2. Every row is validated like the intake form, and the reasons are said in Spanish (a bad
//!    DUI check digit, an unknown district with the closest name, an impossible or future date,
//!    a cell that looks like a formula). Excel serial dates and text dates are both understood.
//! 3. The returning-person check (the same one intake uses) runs on every row: a confident match
//!    (the same DUI, or the same name and birth date) adds a return event to that person
//!    instead of a second form; a return already recorded is not added twice (importing the
//!    same file again writes nothing new). Two rows of the file for one person are one person.
//! 4. [`Session::import_preview`] says what would happen, row by row, and writes nothing;
//!    [`Session::import_commit`] writes every row that passed in ONE store commit (records,
//!    their audit entries, their outbox ops, and one audit entry for the import): all or nothing.
//!
//! Permission `import_data` (supervisors); rows whose person belongs to another office than
//! the user's are refused.

mod read;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::{changed_fields, AuditAction, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent;
use reintegra_core::dui::{Dui, DuiError};
use reintegra_core::ids::{PersonId, ProviderId, ReferralId, ReturnEventId};
use reintegra_core::permission::Permission;
use reintegra_core::person::{BirthDate, Person, Sex};
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::{Place, Territory};
use reintegra_core::text::fold;
use reintegra_core::user::User;
use reintegra_core::validation::Problem;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::cases::{birth_date_text, Cases};
use crate::exports::{is_dangerous, write_xlsx, Cell, ExportFile, Table};
use crate::intake::{
    person_of_arrival, return_event_with_id, without_timestamps, ArrivalInput, ReturnInput,
};
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};
use read::{birth_year_of, date_of, Raw};
use reintegra_dedup as dedup;

/// A score at or above this (the same DUI is 1) makes a row "the same person" by default.
pub const CONFIDENT_MATCH: f32 = 0.85;
/// Rows of a file at most (a bigger file is split by the office).
pub const MAX_ROWS: usize = 100_000;
/// Rows looked at to find the header.
const HEADER_SEARCH: usize = 30;

/// What a column can be imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportField {
    /// The column is not imported.
    Ignore,
    GivenNames,
    FirstSurname,
    SecondSurname,
    Sex,
    BirthDate,
    Dui,
    Phone,
    DestinationDistrict,
    OriginDistrict,
    Occupation,
    ReturnDate,
    ReturnModality,
    CountryFrom,
    ReceptionCenter,
    UnaccompaniedMinor,
    /// "Sí" when the person gave consent to be registered (no column: no consent recorded).
    ConsentRegistration,
    /// "Sí" when the person consented to their data being shared with service providers.
    ConsentReferralSharing,
    /// A referral of the row: its service type (`Psicosocial`, `Formación vocacional`…).
    ReferralService,
    /// The day the referral was made (none: the return's day).
    ReferralDate,
    /// The provider, by its name in the service directory.
    ReferralProvider,
    /// Its status (`propuesta`, `enviada`, `aceptada`, `en curso`, `completada`, `rechazada`,
    /// `cancelada`; none: propuesta).
    ReferralStatus,
}

impl ImportField {
    pub const ALL: [ImportField; 22] = [
        ImportField::Ignore,
        ImportField::GivenNames,
        ImportField::FirstSurname,
        ImportField::SecondSurname,
        ImportField::Sex,
        ImportField::BirthDate,
        ImportField::Dui,
        ImportField::Phone,
        ImportField::DestinationDistrict,
        ImportField::OriginDistrict,
        ImportField::Occupation,
        ImportField::ReturnDate,
        ImportField::ReturnModality,
        ImportField::CountryFrom,
        ImportField::ReceptionCenter,
        ImportField::UnaccompaniedMinor,
        ImportField::ConsentRegistration,
        ImportField::ConsentReferralSharing,
        ImportField::ReferralService,
        ImportField::ReferralDate,
        ImportField::ReferralProvider,
        ImportField::ReferralStatus,
    ];

    /// The field's name in Spanish (the reasons and the error report).
    pub fn label(self) -> &'static str {
        match self {
            ImportField::Ignore => "(no importar)",
            ImportField::GivenNames => "Nombres",
            ImportField::FirstSurname => "Primer apellido",
            ImportField::SecondSurname => "Segundo apellido",
            ImportField::Sex => "Sexo",
            ImportField::BirthDate => "Fecha de nacimiento",
            ImportField::Dui => "DUI",
            ImportField::Phone => "Teléfono",
            ImportField::DestinationDistrict => "Distrito de destino",
            ImportField::OriginDistrict => "Distrito de origen",
            ImportField::Occupation => "Ocupación",
            ImportField::ReturnDate => "Fecha de retorno",
            ImportField::ReturnModality => "Vía de retorno",
            ImportField::CountryFrom => "País de retorno",
            ImportField::ReceptionCenter => "Centro de recepción",
            ImportField::UnaccompaniedMinor => "Menor no acompañado",
            ImportField::ConsentRegistration => "Consentimiento de registro",
            ImportField::ConsentReferralSharing => "Consentimiento para compartir",
            ImportField::ReferralService => "Servicio referido",
            ImportField::ReferralDate => "Fecha de la referencia",
            ImportField::ReferralProvider => "Proveedor",
            ImportField::ReferralStatus => "Estado de la referencia",
        }
    }

    /// Header names (folded) offices use for it; the first is the field's own label.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            ImportField::Ignore => &[],
            ImportField::GivenNames => &[
                "nombres",
                "nombre",
                "primer nombre",
                "nombre s",
                "nombres de la persona",
            ],
            ImportField::FirstSurname => &[
                "primer apellido",
                "apellido",
                "apellido 1",
                "apellido paterno",
                "1er apellido",
            ],
            ImportField::SecondSurname => &[
                "segundo apellido",
                "apellido 2",
                "apellido materno",
                "2do apellido",
            ],
            ImportField::Sex => &["sexo", "genero", "sexo m f"],
            ImportField::BirthDate => &[
                "fecha de nacimiento",
                "nacimiento",
                "fecha nacimiento",
                "f nacimiento",
                "fecha nac",
                "f nac",
            ],
            ImportField::Dui => &[
                "dui",
                "numero de dui",
                "no dui",
                "n dui",
                "num dui",
                "documento unico de identidad",
            ],
            ImportField::Phone => &[
                "telefono",
                "tel",
                "celular",
                "telefono celular",
                "whatsapp",
                "numero de telefono",
                "contacto",
            ],
            ImportField::DestinationDistrict => &[
                "distrito de destino",
                "distrito",
                "destino",
                "distrito destino",
                "municipio de destino",
                "municipio",
                "lugar de residencia",
                "residencia",
                "domicilio",
            ],
            ImportField::OriginDistrict => &[
                "distrito de origen",
                "origen",
                "distrito origen",
                "municipio de origen",
                "lugar de origen",
            ],
            ImportField::Occupation => &["ocupacion", "oficio", "profesion", "profesion u oficio"],
            ImportField::ReturnDate => &[
                "fecha de retorno",
                "fecha retorno",
                "retorno",
                "fecha de llegada",
                "llegada",
                "fecha de ingreso",
                "fecha",
            ],
            ImportField::ReturnModality => &[
                "via de retorno",
                "via",
                "modalidad",
                "tipo de retorno",
                "medio",
            ],
            ImportField::CountryFrom => &[
                "pais de retorno",
                "pais",
                "pais de procedencia",
                "procedencia",
                "retornado desde",
                "deportado de",
            ],
            ImportField::ReceptionCenter => &[
                "centro de recepcion",
                "centro",
                "recepcion",
                "lugar de recepcion",
            ],
            ImportField::UnaccompaniedMinor => {
                &["menor no acompanado", "nna no acompanado", "no acompanado"]
            }
            ImportField::ConsentRegistration => &[
                "consentimiento de registro",
                "consentimiento",
                "acepta registro",
            ],
            ImportField::ConsentReferralSharing => &[
                "consentimiento para compartir",
                "acepta compartir",
                "autoriza compartir",
                "consentimiento referencia",
            ],
            ImportField::ReferralService => &[
                "servicio referido",
                "servicio",
                "referencia",
                "referido a",
                "tipo de servicio",
            ],
            ImportField::ReferralDate => &[
                "fecha de la referencia",
                "fecha de referencia",
                "fecha referencia",
            ],
            ImportField::ReferralProvider => {
                &["proveedor", "institucion", "referido a institucion"]
            }
            ImportField::ReferralStatus => {
                &["estado de la referencia", "estado", "estado referencia"]
            }
        }
    }
}

/// Which column is which field. Saved per office (the UI) or written as TOML (the command line,
/// `docs/import.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportMapping {
    /// The 1-based row of the header; none: the import finds it (a title row above is skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub header_row: Option<u32>,
    /// Header text (as the file has it, spacing and case ignored) → field. A header not listed
    /// gets the suggested field; `ignore` leaves it out.
    #[serde(default)]
    pub columns: BTreeMap<String, ImportField>,
    /// Rows (numbered as in the file) the user says are NOT the person they were matched with:
    /// each becomes a new form (the duplicate queue will show the pair to a supervisor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<u32>>", optional)]
    pub different_person_rows: Vec<u32>,
}

/// A file to import: its name (the extension says the format) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ImportSource {
    pub file_name: String,
    #[ts(type = "number[]")]
    pub bytes: Vec<u8>,
}

/// One column of the file, as the mapping step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ImportColumn {
    pub index: u32,
    pub header: String,
    pub field: ImportField,
    /// The first values under the header.
    pub samples: Vec<String>,
}

/// What happens to one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowOutcome {
    /// A new form.
    New,
    /// The same person as one already registered (or an earlier row): a return event is added.
    AddReturn { person: PersonId, full_name: String },
    /// The same person, and this return (or no return) is already recorded: nothing written.
    AlreadyThere { person: PersonId, full_name: String },
    /// Not imported; `reasons` say why.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ImportRow {
    /// The row's number in the file (1-based, as the spreadsheet shows it).
    pub row: u32,
    pub name: String,
    pub outcome: RowOutcome,
    /// Why it was refused, in Spanish.
    pub reasons: Vec<String>,
    /// Worth a look though imported (a possible duplicate that was not confident), in Spanish.
    pub notes: Vec<String>,
    /// The row's cells as the file shows them (refused rows only: the error report).
    pub cells: Vec<String>,
}

/// The preview (and, once written, the report) of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ImportPreview {
    pub file_name: String,
    pub header_row: u32,
    pub columns: Vec<ImportColumn>,
    /// The mapping used (the one to save for the next file).
    pub mapping: ImportMapping,
    /// Data rows read (blank lines not counted).
    pub rows_read: u32,
    pub new_persons: u32,
    pub returns_added: u32,
    pub already_there: u32,
    pub refused: u32,
    /// Referrals that would be (or were) written.
    pub referrals: u32,
    pub rows: Vec<ImportRow>,
    /// Whether the batch was written.
    pub written: bool,
    /// The written import, for [`Session::import_undo`] while none of it has synced.
    pub import_id: Option<String>,
}

/// How far an import has got, for a progress bar: the rows checked so far of `total`, then
/// (`writing`) the one batch being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct ImportProgress {
    pub checked: u32,
    pub total: u32,
    pub writing: bool,
}

/// Rows between two progress reports.
const PROGRESS_EVERY: usize = 500;

/// What an import would write.
enum Planned {
    New(Box<Person>),
    Existing {
        before: Box<Person>,
        after: Box<Person>,
    },
}

impl Planned {
    fn person(&self) -> &Person {
        match self {
            Planned::New(p) => p,
            Planned::Existing { after, .. } => after,
        }
    }

    fn person_mut(&mut self) -> &mut Person {
        match self {
            Planned::New(p) => p,
            Planned::Existing { after, .. } => after,
        }
    }
}

fn suggest_field(header: &str) -> Option<ImportField> {
    let h = fold(header);
    if h.is_empty() {
        return None;
    }
    // Exact names first, then the longest name the header contains ("Fecha de nacimiento (dd/mm)").
    ImportField::ALL
        .iter()
        .find(|f| f.synonyms().contains(&h.as_str()) || fold(f.label()) == h)
        .copied()
        .or_else(|| {
            ImportField::ALL
                .iter()
                .flat_map(|f| f.synonyms().iter().map(move |s| (*f, *s)))
                .filter(|(_, s)| s.len() >= 4 && format!(" {h} ").contains(&format!(" {s} ")))
                .max_by_key(|(_, s)| s.len())
                .map(|(f, _)| f)
        })
}

fn header_key(header: &str) -> String {
    fold(header)
}

/// The header row: the one among the first rows whose cells name the most fields (a merged
/// title above it names none).
fn find_header(grid: &read::Grid) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, (_, cells)) in grid.iter().enumerate().take(HEADER_SEARCH) {
        let named = cells
            .iter()
            .filter_map(|c| match c {
                Raw::Text(t) => suggest_field(t),
                _ => None,
            })
            .count();
        if named >= 2 && best.is_none_or(|(_, n)| named > n) {
            best = Some((i, named));
        }
    }
    best.map(|(i, _)| i).or_else(|| {
        grid.iter()
            .position(|(_, cells)| cells.iter().filter(|c| !c.is_empty()).count() >= 2)
    })
}

/// The columns with their fields: the mapping's choice for a header it lists, else the
/// suggestion (each field taken by its first column only).
fn map_columns(grid: &read::Grid, header_at: usize, mapping: &ImportMapping) -> Vec<ImportColumn> {
    let chosen: HashMap<String, ImportField> = mapping
        .columns
        .iter()
        .map(|(h, f)| (header_key(h), *f))
        .collect();
    let headers = &grid[header_at].1;
    let mut taken: Vec<ImportField> = chosen.values().copied().collect();
    let mut columns = Vec::new();
    for (index, cell) in headers.iter().enumerate() {
        let header = cell.shown();
        if header.is_empty() {
            continue;
        }
        let field = match chosen.get(&header_key(&header)) {
            Some(f) => *f,
            None => match suggest_field(&header) {
                Some(f) if !taken.contains(&f) => {
                    taken.push(f);
                    f
                }
                _ => ImportField::Ignore,
            },
        };
        let samples = grid[header_at + 1..]
            .iter()
            .filter_map(|(_, cells)| cells.get(index))
            .filter(|c| !c.is_empty())
            .take(3)
            .map(Raw::shown)
            .collect();
        columns.push(ImportColumn {
            index: index as u32,
            header,
            field,
            samples,
        });
    }
    columns
}

/// Every district with its names folded, made once (a row looks its district up by name).
struct FoldedPlace {
    district: String,
    municipality: String,
    department: String,
    place: &'static Place,
}

fn folded_places() -> &'static [FoldedPlace] {
    static PLACES: std::sync::OnceLock<Vec<FoldedPlace>> = std::sync::OnceLock::new();
    PLACES.get_or_init(|| {
        Territory::el_salvador()
            .places()
            .map(|place| FoldedPlace {
                district: fold(&place.district_name),
                municipality: fold(&place.municipality_name),
                department: fold(&place.department_name),
                place,
            })
            .collect()
    })
}

/// The closest district names to what was typed, for "¿quiso decir …?".
fn closest_districts(typed: &str) -> Vec<String> {
    let t = fold(typed);
    let mut scored: Vec<(f64, &Place)> = folded_places()
        .iter()
        .map(|f| (strsim::jaro_winkler(&t, &f.district), f.place))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(2)
        .filter(|(s, _)| *s >= 0.8)
        .map(|(_, p)| format!("{} ({})", p.district_name, p.department_name))
        .collect()
}

/// A district by its code, or by its name (with its municipality or department after a comma
/// or in parentheses when the name is in two departments).
fn district_of(typed: &str, label: &str) -> Result<String, String> {
    let t = Territory::el_salvador();
    let typed = typed.trim();
    if t.place(typed).is_some() {
        return Ok(typed.to_string());
    }
    let mut parts = typed
        .split([',', '(', ')', '/'])
        .map(fold)
        .filter(|p| !p.is_empty());
    let name = parts.next().unwrap_or_default();
    let rest: Vec<String> = parts.collect();
    let named: Vec<&FoldedPlace> = folded_places()
        .iter()
        .filter(|f| f.district == name)
        .collect();
    let narrowed: Vec<&Place> = if named.len() > 1 && !rest.is_empty() {
        named
            .iter()
            .filter(|f| {
                rest.iter().all(|r| {
                    f.department.contains(r.as_str()) || f.municipality.contains(r.as_str())
                })
            })
            .map(|f| f.place)
            .collect()
    } else {
        named.iter().map(|f| f.place).collect()
    };
    match narrowed.as_slice() {
        [one] => Ok(one.district_code.clone()),
        [] if named.is_empty() => {
            let close = closest_districts(typed);
            Err(if close.is_empty() {
                format!("{label}: no hay un distrito «{typed}» en El Salvador")
            } else {
                format!(
                    "{label}: no hay un distrito «{typed}»; ¿quiso decir {}?",
                    close
                        .iter()
                        .map(|c| format!("«{c}»"))
                        .collect::<Vec<_>>()
                        .join(" o ")
                )
            })
        }
        _ => Err(format!(
            "{label}: hay varios distritos «{typed}» ({}); escriba también el departamento, p. ej. «{}, {}»",
            named
                .iter()
                .map(|p| p.place.department_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            named[0].place.district_name,
            named[0].place.department_name
        )),
    }
}

fn yes_no(typed: &str) -> Option<bool> {
    match fold(typed).as_str() {
        "si" | "s" | "x" | "1" | "yes" | "verdadero" | "true" => Some(true),
        "no" | "n" | "0" | "false" | "falso" => Some(false),
        _ => None,
    }
}

fn country_of(typed: &str) -> Option<String> {
    let f = fold(typed);
    let code = match f.as_str() {
        "estados unidos"
        | "eeuu"
        | "ee uu"
        | "usa"
        | "us"
        | "eua"
        | "estados unidos de america" => "US",
        "mexico" | "mx" => "MX",
        "guatemala" | "gt" => "GT",
        "honduras" | "hn" => "HN",
        "nicaragua" | "ni" => "NI",
        "costa rica" | "cr" => "CR",
        "panama" | "pa" => "PA",
        "belice" | "bz" => "BZ",
        "canada" | "ca" => "CA",
        "espana" | "es" => "ES",
        "italia" | "it" => "IT",
        _ if f.len() == 2 && f.chars().all(|c| c.is_ascii_alphabetic()) => {
            return Some(f.to_uppercase())
        }
        _ => return None,
    };
    Some(code.into())
}

/// The Spanish words for a problem validation found in a field.
fn problem_text(field: &str, problem: &Problem) -> String {
    let label = field_label(field);
    match problem {
        Problem::Required => format!("{label}: falta"),
        Problem::DuiFormat => format!("{label}: debe tener 9 dígitos (########-#)"),
        Problem::DuiCheckDigit { expected } => {
            format!("{label}: el dígito verificador no cuadra (debería ser {expected})")
        }
        Problem::DateInFuture { date } => {
            format!(
                "{label}: la fecha {} está en el futuro",
                date.format("%d/%m/%Y")
            )
        }
        Problem::DateOutOfOrder { .. } => {
            format!("{label}: la fecha es anterior al nacimiento")
        }
        Problem::UnknownDistrict { district_code } => {
            format!("{label}: distrito desconocido «{district_code}»")
        }
        Problem::UnknownMunicipality { municipality_code } => {
            format!("{label}: municipio desconocido «{municipality_code}»")
        }
        Problem::ImplausibleAge { age } => format!("{label}: una edad de {age} años no es posible"),
        Problem::InvalidPhone => format!("{label}: debe tener de 8 a 15 dígitos"),
        Problem::InvalidCountry => {
            format!("{label}: use el nombre del país o su código de dos letras (US, MX)")
        }
        Problem::Inconsistent { other_field } => {
            format!("{label}: no concuerda con {}", field_label(other_field))
        }
        Problem::Duplicate => format!("{label}: repetido"),
        other => format!("{label}: {other}"),
    }
}

fn field_label(path: &str) -> &'static str {
    let f = path.rsplit('.').next().unwrap_or(path);
    match f {
        "given_names" => ImportField::GivenNames.label(),
        "first_surname" => ImportField::FirstSurname.label(),
        "second_surname" => ImportField::SecondSurname.label(),
        "sex" => ImportField::Sex.label(),
        "birth_date" | "stated_on" => ImportField::BirthDate.label(),
        "dui" => ImportField::Dui.label(),
        "phone" => ImportField::Phone.label(),
        "destination_district" => ImportField::DestinationDistrict.label(),
        "origin_district" => ImportField::OriginDistrict.label(),
        "date" => ImportField::ReturnDate.label(),
        "country_from" => ImportField::CountryFrom.label(),
        "reception_center" => ImportField::ReceptionCenter.label(),
        "travelled" => ImportField::UnaccompaniedMinor.label(),
        _ if path.starts_with("return_events") => "Retorno",
        _ => "Ficha",
    }
}

/// One row read into an arrival, or the reasons it cannot be.
fn arrival_of(
    cells: &[Raw],
    columns: &[ImportColumn],
    today: NaiveDate,
    providers: &[ServiceProvider],
) -> (ArrivalInput, Option<ReferralRow>, Vec<String>) {
    let mut reasons = Vec::new();
    let cell = |f: ImportField| -> &Raw {
        columns
            .iter()
            .find(|c| c.field == f)
            .and_then(|c| cells.get(c.index as usize))
            .unwrap_or(&Raw::Empty)
    };
    // Text, refused when it would be a formula in a spreadsheet (a phone may start with +503).
    let mut text = |f: ImportField| -> String {
        let shown = cell(f).shown();
        let phone_ok = f == ImportField::Phone
            && shown.starts_with('+')
            && shown[1..].starts_with(|c: char| c.is_ascii_digit());
        if is_dangerous(&shown) && !phone_ok {
            let first = shown
                .chars()
                .next()
                .map_or(String::new(), |c| c.escape_default().to_string());
            let short: String = shown.chars().take(20).collect();
            reasons.push(format!(
                "{}: «{short}» empieza con «{first}», como una fórmula de hoja de cálculo; escriba el valor sin ese signo",
                f.label()
            ));
            return String::new();
        }
        shown.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let given_names = text(ImportField::GivenNames);
    let first_surname = text(ImportField::FirstSurname);
    let second_surname = text(ImportField::SecondSurname);
    let phone = text(ImportField::Phone);
    let occupation = text(ImportField::Occupation);
    let sex_text = text(ImportField::Sex);
    let destination = text(ImportField::DestinationDistrict);
    let origin = text(ImportField::OriginDistrict);
    let modality_text = text(ImportField::ReturnModality);
    let country_text = text(ImportField::CountryFrom);
    let center_text = text(ImportField::ReceptionCenter);
    let minor_text = text(ImportField::UnaccompaniedMinor);
    let consent_text = text(ImportField::ConsentRegistration);
    let sharing_text = text(ImportField::ConsentReferralSharing);
    let service_text = text(ImportField::ReferralService);
    let provider_text = text(ImportField::ReferralProvider);
    let status_text = text(ImportField::ReferralStatus);

    let sex = match fold(&sex_text).as_str() {
        "" => None,
        "f" | "femenino" | "mujer" | "fem" => Some(Sex::Female),
        "m" | "masculino" | "hombre" | "h" | "masc" => Some(Sex::Male),
        _ => {
            reasons.push(format!("Sexo: «{sex_text}» no se entiende; use F o M"));
            None
        }
    };

    let birth = cell(ImportField::BirthDate);
    let birth_date = if birth.is_empty() {
        None
    } else if let Some(year) = birth_year_of(birth, today) {
        Some(BirthDate::Year { year })
    } else {
        match date_of(birth) {
            Ok(date) => Some(BirthDate::Exact { date }),
            Err(e) => {
                reasons.push(format!("{}: {e}", ImportField::BirthDate.label()));
                None
            }
        }
    };

    // Excel drops a DUI's leading zeros when the column is a number: put them back.
    let dui_raw = cell(ImportField::Dui);
    let dui_shown = dui_raw.shown();
    let dui = match dui_raw {
        Raw::Number(_) if dui_shown.len() < 9 && dui_shown.chars().all(|c| c.is_ascii_digit()) => {
            format!("{dui_shown:0>9}")
        }
        _ => dui_shown.clone(),
    };
    if !dui.trim().is_empty() {
        let digits: String = dui.chars().filter(char::is_ascii_digit).collect();
        match Dui::parse(&digits) {
            Ok(_) => {}
            Err(DuiError::CheckDigit { expected, .. }) => reasons.push(format!(
                "DUI: «{dui_shown}» tiene mal el dígito verificador (debería ser {expected})"
            )),
            Err(_) => reasons.push(format!(
                "DUI: «{dui_shown}» debe tener 9 dígitos (########-#)"
            )),
        }
    }

    let destination_district = if destination.is_empty() {
        String::new()
    } else {
        district_of(&destination, ImportField::DestinationDistrict.label()).unwrap_or_else(|e| {
            reasons.push(e);
            String::new()
        })
    };
    let origin_district = if origin.is_empty() {
        String::new()
    } else {
        district_of(&origin, ImportField::OriginDistrict.label()).unwrap_or_else(|e| {
            reasons.push(e);
            String::new()
        })
    };

    let return_cell = cell(ImportField::ReturnDate);
    let return_event = if return_cell.is_empty() {
        None
    } else {
        match date_of(return_cell) {
            Err(e) => {
                reasons.push(format!("{}: {e}", ImportField::ReturnDate.label()));
                None
            }
            Ok(date) => {
                let modality = match fold(&modality_text).as_str() {
                    "" | "aerea" | "aereo" | "avion" | "a" | "aire" | "vuelo" => {
                        ReturnModality::Air
                    }
                    "terrestre" | "tierra" | "t" | "bus" | "autobus" => ReturnModality::Land,
                    _ => {
                        reasons.push(format!(
                            "Vía de retorno: «{modality_text}» no se entiende; use aérea o terrestre"
                        ));
                        ReturnModality::Air
                    }
                };
                let country_from = if country_text.is_empty() {
                    String::new()
                } else {
                    country_of(&country_text).unwrap_or_else(|| {
                        reasons.push(format!(
                            "País de retorno: «{country_text}» no se conoce; use el nombre o el código de dos letras (US, MX)"
                        ));
                        String::new()
                    })
                };
                let reception_center = match fold(&center_text).as_str() {
                    "gami" => ReceptionCenter::Gami,
                    "cipi" => ReceptionCenter::Cipi,
                    "" => ReceptionCenter::Other("Sin dato (importado)".into()),
                    _ => ReceptionCenter::Other(center_text.clone()),
                };
                let unaccompanied = match yes_no(&minor_text) {
                    Some(b) => b,
                    None if minor_text.is_empty() => false,
                    None => {
                        reasons.push(format!(
                            "Menor no acompañado: «{minor_text}» no es sí ni no"
                        ));
                        false
                    }
                };
                Some(ReturnInput {
                    date,
                    modality,
                    country_from,
                    reception_center,
                    custody_days: None,
                    travelled: if unaccompanied {
                        TravelCompanion::UnaccompaniedMinor
                    } else {
                        TravelCompanion::Alone
                    },
                    assistance: Vec::new(),
                    assistance_notes: String::new(),
                })
            }
        }
    };
    let consent_registration = match yes_no(&consent_text) {
        Some(b) => b,
        None if consent_text.is_empty() => false,
        None => {
            reasons.push(format!(
                "Consentimiento de registro: «{consent_text}» no es sí ni no"
            ));
            false
        }
    };
    let consent_referral_sharing = match yes_no(&sharing_text) {
        Some(b) => b,
        None if sharing_text.is_empty() => false,
        None => {
            reasons.push(format!(
                "Consentimiento para compartir: «{sharing_text}» no es sí ni no"
            ));
            false
        }
    };
    let referral = if service_text.is_empty() {
        None
    } else {
        let service_type = service_of(&service_text);
        if service_type.is_none() {
            reasons.push(format!(
                "Servicio referido: «{service_text}» no es un servicio conocido (psicosocial, formación vocacional, emprendimiento, salud, legal, educación, empleo, vivienda, familia)"
            ));
        }
        let status = if status_text.is_empty() {
            Some(ReferralStatus::Proposed)
        } else {
            referral_status_of(&status_text)
        };
        if status.is_none() {
            reasons.push(format!(
                "Estado de la referencia: «{status_text}» no se entiende (propuesta, enviada, aceptada, en curso, completada, rechazada o cancelada)"
            ));
        }
        let provider = if provider_text.is_empty() {
            None
        } else {
            let wanted = fold(&provider_text);
            let found = providers
                .iter()
                .find(|p| fold(&p.name) == wanted || fold(&p.institution) == wanted);
            if found.is_none() {
                reasons.push(format!(
                    "Proveedor: «{provider_text}» no está en el directorio de servicios"
                ));
            }
            found.map(|p| p.id)
        };
        let date_cell = cell(ImportField::ReferralDate);
        let date = if date_cell.is_empty() {
            None
        } else {
            match date_of(date_cell) {
                Ok(d) => Some(d),
                Err(e) => {
                    reasons.push(format!("{}: {e}", ImportField::ReferralDate.label()));
                    None
                }
            }
        };
        match (service_type, status) {
            (Some(service_type), Some(status)) => {
                if status != ReferralStatus::Proposed
                    && status != ReferralStatus::Cancelled
                    && provider.is_none()
                {
                    reasons.push(format!(
                        "Proveedor: una referencia «{status_text}» necesita su proveedor"
                    ));
                }
                Some(ReferralRow {
                    service_type,
                    date,
                    provider,
                    status,
                })
            }
            _ => None,
        }
    };
    let input = ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names,
        first_surname,
        second_surname,
        sex,
        birth_date,
        dui,
        other_document: None,
        phone,
        origin_district,
        destination_district,
        education: None,
        occupation,
        return_event,
        vulnerabilities: Vec::new(),
        consent_registration,
        consent_referral_sharing,
        family_of: None,
        caseworker: None,
    };
    (input, referral, reasons)
}

/// A referral as a row gives it.
struct ReferralRow {
    service_type: ServiceType,
    date: Option<NaiveDate>,
    provider: Option<ProviderId>,
    status: ReferralStatus,
}

fn service_of(typed: &str) -> Option<ServiceType> {
    let f = fold(typed);
    let has = |w: &str| f.split(' ').any(|x| x.starts_with(w));
    Some(if has("psico") {
        ServiceType::Psychosocial
    } else if has("vocacional") || has("formacion") || has("capacitacion") || has("tecnic") {
        ServiceType::Vocational
    } else if has("emprend") || has("capital") {
        ServiceType::Entrepreneurship
    } else if has("salud") || has("medic") {
        ServiceType::Health
    } else if has("legal") || has("document") || has("juridic") {
        ServiceType::LegalDocuments
    } else if has("educa") || has("escuela") || has("estudio") {
        ServiceType::Education
    } else if has("empleo") || has("trabajo") || has("laboral") || has("bolsa") {
        ServiceType::Employment
    } else if has("vivienda") {
        ServiceType::Housing
    } else if has("famil") {
        ServiceType::Family
    } else {
        return None;
    })
}

fn referral_status_of(typed: &str) -> Option<ReferralStatus> {
    Some(match fold(typed).as_str() {
        "propuesta" | "propuesto" | "pendiente" => ReferralStatus::Proposed,
        "enviada" | "enviado" => ReferralStatus::Sent,
        "aceptada" | "aceptado" => ReferralStatus::Accepted,
        "en curso" | "en proceso" | "iniciada" => ReferralStatus::InProgress,
        "completada" | "completado" | "finalizada" | "finalizado" | "concluida" => {
            ReferralStatus::Completed
        }
        "rechazada" | "rechazado" | "declinada" => ReferralStatus::Declined,
        "cancelada" | "cancelado" => ReferralStatus::Cancelled,
        _ => return None,
    })
}

/// The steps after `proposed` that lead to `status` (core's lifecycle).
fn path_to(status: ReferralStatus) -> &'static [ReferralStatus] {
    use ReferralStatus::*;
    match status {
        Proposed => &[],
        Sent => &[Sent],
        Accepted => &[Sent, Accepted],
        InProgress => &[Sent, Accepted, InProgress],
        Completed => &[Sent, Accepted, InProgress, Completed],
        Declined => &[Sent, Declined],
        Cancelled => &[Cancelled],
    }
}

/// The row's referral for `person` (with `consents`), or a note why it is not imported as the
/// row says: a restricted form takes no referral; without consent to share, it stays proposed
/// (nothing is sent for the person); one of that service made that day already is not repeated.
#[allow(clippy::too_many_arguments)]
fn referral_for(
    row: &ReferralRow,
    person: &Person,
    existing: &[Referral],
    fallback_day: NaiveDate,
    user: &User,
    file: &str,
    number: u32,
    notes: &mut Vec<String>,
) -> Option<Referral> {
    let day = row.date.unwrap_or(fallback_day);
    if consent::restricted(&person.consents, day.max(fallback_day)) {
        notes.push(
            "La referencia no se importa: la ficha no tiene consentimiento de registro".into(),
        );
        return None;
    }
    if existing.iter().any(|r| {
        r.service_type == row.service_type
            && r.history
                .first()
                .is_some_and(|s| today_in_el_salvador(s.at) == day)
    }) {
        notes.push("La referencia ya estaba registrada".into());
        return None;
    }
    // Noon in El Salvador of that day (UTC−6), so the day stays the same in every report.
    let at = day.and_hms_opt(18, 0, 0)?.and_utc();
    let mut r = Referral::propose(
        ReferralId::new(Uuid::now_v7()),
        person.id,
        row.service_type,
        at,
        user.id,
    );
    r.provider = row.provider;
    r.reason = format!("Importada de la planilla «{file}» (fila {number})");
    for step in path_to(row.status) {
        let moved = if *step == ReferralStatus::Sent {
            r.send(&person.consents, at, user.id, None)
        } else {
            r.transition(*step, at, user.id)
        };
        if moved.is_err() {
            notes.push(format!(
                "La referencia se importa como «propuesta»: sin consentimiento para compartir con el proveedor no puede quedar «{}»",
                status_word(row.status)
            ));
            r.history.truncate(1);
            break;
        }
    }
    Some(r)
}

fn status_word(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Proposed => "propuesta",
        ReferralStatus::Sent => "enviada",
        ReferralStatus::Accepted => "aceptada",
        ReferralStatus::InProgress => "en curso",
        ReferralStatus::Completed => "completada",
        ReferralStatus::Declined => "rechazada",
        ReferralStatus::Cancelled => "cancelada",
    }
}

/// The same person earlier in the file: same DUI, or same folded name and birth date.
fn file_key(p: &Person) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(d) = &p.dui {
        keys.push(format!("dui:{}", d.as_str()));
    }
    if let Some(b) = p.birth_date.and_then(|b| b.estimated_date()) {
        keys.push(format!("name:{}|{b}", fold(&p.full_name())));
    }
    keys
}

/// Adds the row's return to `person` unless that day is already recorded; whether it did.
fn add_return_to(person: &mut Person, input: &ArrivalInput, now: DateTime<Utc>) -> bool {
    let Some(r) = &input.return_event else {
        return false;
    };
    if person.return_events.iter().any(|e| e.date == r.date) {
        return false;
    }
    person.add_return(return_event_with_id(ReturnEventId::new(Uuid::now_v7()), r));
    person.updated_at = now.max(person.created_at);
    true
}

/// The whole plan: each row's outcome and what would be written.
fn plan(
    store: &reintegra_store::Store,
    user: &User,
    cases: &Cases,
    source: &ImportSource,
    mapping: &ImportMapping,
    now: DateTime<Utc>,
    on_progress: &mut dyn FnMut(ImportProgress),
) -> Result<(ImportPreview, Vec<Planned>, Vec<Referral>)> {
    let today = today_in_el_salvador(now);
    let grid = read::read(&source.file_name, &source.bytes)?;
    let header_at = match mapping.header_row {
        Some(n) => grid.iter().position(|(row, _)| *row == n).ok_or_else(|| {
            ApiError::ImportUnreadable(format!(
                "la fila {n} del encabezado no existe en el archivo"
            ))
        })?,
        None => find_header(&grid).ok_or_else(|| {
            ApiError::ImportUnreadable(
                "no se encontró una fila de encabezados (nombres de columna)".into(),
            )
        })?,
    };
    let columns = map_columns(&grid, header_at, mapping);
    let data: Vec<&(u32, Vec<Raw>)> = grid[header_at + 1..]
        .iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect();
    if data.len() > MAX_ROWS {
        return Err(ApiError::ImportUnreadable(format!(
            "el archivo tiene {} filas; divídalo en archivos de a lo sumo {MAX_ROWS}",
            data.len()
        )));
    }
    let registered = Registered::of(cases);
    let providers = if columns
        .iter()
        .any(|c| c.field == ImportField::ReferralProvider)
    {
        store.providers()?
    } else {
        Vec::new()
    };
    let mut referrals: Vec<Referral> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    let mut in_file: HashMap<String, usize> = HashMap::new();
    let mut existing_at: HashMap<PersonId, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(data.len());
    let total = data.len() as u32;
    on_progress(ImportProgress {
        checked: 0,
        total,
        writing: false,
    });
    for (i, (number, cells)) in data.into_iter().enumerate() {
        if i % PROGRESS_EVERY == PROGRESS_EVERY - 1 {
            on_progress(ImportProgress {
                checked: i as u32 + 1,
                total,
                writing: false,
            });
        }
        let (input, referral_row, mut reasons) = arrival_of(cells, &columns, today, &providers);
        let name = [
            &input.given_names,
            &input.first_surname,
            &input.second_surname,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
        let mut notes = Vec::new();
        let mut outcome = RowOutcome::Refused;
        if reasons.is_empty() {
            match person_of_arrival(&input, user.id, now) {
                Err(errors) => {
                    reasons.extend(errors.iter().map(|e| problem_text(&e.field, &e.problem)));
                }
                Ok(person) if !user.works_office(person.office()) => reasons.push(format!(
                    "Distrito de destino: es de otra oficina ({}); su usuario importa solo casos de la suya",
                    person.office().unwrap_or("sin oficina")
                )),
                Ok(mut person) => {
                    // The consents the sheet records were given at that contact: dated on the
                    // row's return (or referral, if earlier), not on the day of the import.
                    let earliest = [
                        input.return_event.as_ref().map(|r| r.date),
                        referral_row.as_ref().and_then(|r| r.date),
                    ]
                    .into_iter()
                    .flatten()
                    .min();
                    if let Some(day) = earliest {
                        for c in &mut person.consents {
                            c.given_on = c.given_on.min(day);
                        }
                    }
                    if mapping.different_person_rows.contains(number) {
                        notes.push(
                            "Marcada como otra persona: se importa como ficha nueva".to_string(),
                        );
                        for k in file_key(&person) {
                            in_file.entry(k).or_insert(planned.len());
                        }
                        planned.push(Planned::New(Box::new(person)));
                        outcome = RowOutcome::New;
                    } else {
                        outcome = place_row(
                            store, user, cases, &input, person, now, today, &mut planned,
                            &mut in_file, &mut existing_at, &registered, &mut notes, &mut reasons,
                        )?;
                    }
                }
            }
        }
        if let Some(row) = &referral_row {
            let target = match &outcome {
                RowOutcome::New => planned.last().map(|p| p.person().clone()),
                RowOutcome::AddReturn { person, .. } | RowOutcome::AlreadyThere { person, .. } => {
                    match planned.iter().find(|p| p.person().id == *person) {
                        Some(p) => Some(p.person().clone()),
                        None => store.person(*person)?,
                    }
                }
                RowOutcome::Refused => None,
            };
            if let Some(target) = target {
                let mut existing = if matches!(outcome, RowOutcome::New) {
                    Vec::new()
                } else {
                    store.referrals_of_person(target.id)?
                };
                existing.extend(referrals.iter().filter(|r| r.person == target.id).cloned());
                let fallback = input.return_event.as_ref().map_or(today, |r| r.date);
                if let Some(r) = referral_for(
                    row,
                    &target,
                    &existing,
                    fallback,
                    user,
                    &source.file_name,
                    *number,
                    &mut notes,
                ) {
                    referrals.push(r);
                }
            }
        }
        let cells = if outcome == RowOutcome::Refused {
            cells.iter().map(Raw::shown).collect()
        } else {
            Vec::new()
        };
        rows.push(ImportRow {
            row: *number,
            name,
            outcome,
            reasons,
            notes,
            cells,
        });
    }
    let count = |f: fn(&RowOutcome) -> bool| rows.iter().filter(|r| f(&r.outcome)).count() as u32;
    let used = ImportMapping {
        header_row: Some(grid[header_at].0),
        different_person_rows: mapping.different_person_rows.clone(),
        columns: columns
            .iter()
            .map(|c| (c.header.clone(), c.field))
            .collect(),
    };
    let preview = ImportPreview {
        file_name: source.file_name.clone(),
        header_row: grid[header_at].0,
        mapping: used,
        rows_read: rows.len() as u32,
        new_persons: count(|o| matches!(o, RowOutcome::New)),
        returns_added: count(|o| matches!(o, RowOutcome::AddReturn { .. })),
        already_there: count(|o| matches!(o, RowOutcome::AlreadyThere { .. })),
        refused: count(|o| matches!(o, RowOutcome::Refused)),
        referrals: referrals.len() as u32,
        columns,
        rows,
        written: false,
        import_id: None,
    };
    Ok((preview, planned, referrals))
}

/// A person already registered who may be the row's.
struct Candidate {
    id: PersonId,
    full_name: String,
    /// 1 for the same DUI; else the duplicate engine's score.
    score: f32,
}

/// Lookups over the persons already registered, made once per import (a file of 50,000 rows
/// must not scan every case for each row).
struct Registered {
    by_dui: HashMap<String, PersonId>,
    by_name: HashMap<String, Vec<PersonId>>,
}

impl Registered {
    fn of(cases: &Cases) -> Registered {
        let mut by_dui = HashMap::new();
        let mut by_name: HashMap<String, Vec<PersonId>> = HashMap::new();
        for c in cases.iter() {
            if let Some(d) = &c.dui {
                by_dui.insert(d.clone(), c.id);
            }
            by_name.entry(c.folded_name.clone()).or_default().push(c.id);
        }
        Registered { by_dui, by_name }
    }

    fn name_of(cases: &Cases, id: PersonId) -> String {
        cases
            .get(&id)
            .map(|c| c.full_name.clone())
            .unwrap_or_default()
    }

    /// The same DUI first, then what the duplicate engine proposes (best first).
    fn candidates(&self, cases: &Cases, p: &Person) -> Vec<Candidate> {
        let mut out = Vec::new();
        if let Some(id) = p.dui.as_ref().and_then(|d| self.by_dui.get(d.as_str())) {
            out.push(Candidate {
                id: *id,
                full_name: Self::name_of(cases, *id),
                score: 1.0,
            });
        }
        let record = dedup::Record {
            id: String::from("importación"),
            given_names: p.given_names.clone(),
            first_surname: p.first_surname.clone(),
            second_surname: p.second_surname.clone(),
            sex: match p.sex {
                Some(Sex::Female) => "F".into(),
                Some(Sex::Male) => "M".into(),
                None => String::new(),
            },
            birth_date: birth_date_text(p.birth_date.as_ref()),
            dui: p
                .dui
                .as_ref()
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
            district: String::new(),
            phone: String::new(),
        };
        let opts = dedup::SearchOptions {
            top: 3,
            min_score: dedup::MATCH_THRESHOLD,
            not_same: None,
        };
        if let Ok(found) = cases.dedup.search(&record, &opts) {
            for c in found {
                let Ok(uuid) = c.id.parse::<Uuid>() else {
                    continue;
                };
                let id = PersonId::new(uuid);
                if out.iter().any(|o: &Candidate| o.id == id) || cases.get(&id).is_none() {
                    continue;
                }
                out.push(Candidate {
                    id,
                    full_name: Self::name_of(cases, id),
                    score: c.score,
                });
            }
        }
        out
    }

    /// Persons registered under exactly this name (accents, case and spacing ignored).
    fn same_name(&self, p: &Person) -> Vec<Candidate> {
        self.by_name
            .get(&fold(&p.full_name()))
            .into_iter()
            .flatten()
            .map(|id| Candidate {
                id: *id,
                full_name: p.full_name(),
                score: 0.0,
            })
            .collect()
    }
}

/// Decides a valid row: the same person earlier in the file, the same person already
/// registered (a confident match), or a new form.
#[allow(clippy::too_many_arguments)]
fn place_row(
    store: &reintegra_store::Store,
    user: &User,
    cases: &Cases,
    input: &ArrivalInput,
    person: Person,
    now: DateTime<Utc>,
    today: NaiveDate,
    planned: &mut Vec<Planned>,
    in_file: &mut HashMap<String, usize>,
    existing_at: &mut HashMap<PersonId, usize>,
    registered: &Registered,
    notes: &mut Vec<String>,
    reasons: &mut Vec<String>,
) -> Result<RowOutcome> {
    // An earlier row of this file.
    if let Some(&at) = file_key(&person).iter().find_map(|k| in_file.get(k)) {
        let target = planned[at].person_mut();
        let full_name = target.full_name();
        let id = target.id;
        return Ok(if add_return_to(target, input, now) {
            RowOutcome::AddReturn {
                person: id,
                full_name,
            }
        } else {
            RowOutcome::AlreadyThere {
                person: id,
                full_name,
            }
        });
    }
    // Someone already registered: the same DUI, else the duplicate engine.
    let found = registered.candidates(cases, &person);
    if let Some(best) = found.first().filter(|c| c.score >= CONFIDENT_MATCH) {
        let at = match existing_at.get(&best.id) {
            Some(&at) => at,
            None => {
                let Some(before) = store.person(best.id)? else {
                    reasons.push("La persona encontrada ya no está en este equipo".into());
                    return Ok(RowOutcome::Refused);
                };
                if !user.works_office(before.office()) {
                    reasons.push(format!(
                        "Es {} (ya registrada), cuyo caso es de otra oficina; su usuario no puede agregarle un retorno",
                        best.full_name
                    ));
                    return Ok(RowOutcome::Refused);
                }
                planned.push(Planned::Existing {
                    after: Box::new(before.clone()),
                    before: Box::new(before),
                });
                existing_at.insert(best.id, planned.len() - 1);
                planned.len() - 1
            }
        };
        for k in file_key(&person) {
            in_file.entry(k).or_insert(at);
        }
        let target = planned[at].person_mut();
        let full_name = target.full_name();
        let added = add_return_to(target, input, now);
        if added {
            if let Err(errors) = target.validate(today) {
                reasons.extend(errors.iter().map(|e| problem_text(&e.field, &e.problem)));
                return Ok(RowOutcome::Refused);
            }
        }
        return Ok(if added {
            RowOutcome::AddReturn {
                person: best.id,
                full_name,
            }
        } else {
            RowOutcome::AlreadyThere {
                person: best.id,
                full_name,
            }
        });
    }
    // Not confident by name and birth date, but already registered under this very name with
    // this very return: the row was imported (or typed) before.
    if let Some(r) = &input.return_event {
        for candidate in found.iter().chain(&registered.same_name(&person)) {
            if let Some(p) = store.person(candidate.id)? {
                if p.return_events.iter().any(|e| e.date == r.date) {
                    return Ok(RowOutcome::AlreadyThere {
                        person: candidate.id,
                        full_name: candidate.full_name.clone(),
                    });
                }
            }
        }
    }
    if let Some(maybe) = found.first() {
        notes.push(format!(
            "Se parece a {} (ya registrada); se importa como ficha nueva y la cola de duplicados la mostrará",
            maybe.full_name
        ));
    }
    for k in file_key(&person) {
        in_file.insert(k, planned.len());
    }
    planned.push(Planned::New(Box::new(person)));
    Ok(RowOutcome::New)
}

impl Session {
    /// What an import of `source` would do, row by row, with the columns and the mapping used.
    /// Writes nothing.
    pub fn import_preview(
        &self,
        source: &ImportSource,
        mapping: &ImportMapping,
        now: DateTime<Utc>,
    ) -> Result<ImportPreview> {
        self.import_preview_with_progress(source, mapping, now, &mut |_| {})
    }

    /// [`Session::import_preview`], saying how far it got every few hundred rows.
    pub fn import_preview_with_progress(
        &self,
        source: &ImportSource,
        mapping: &ImportMapping,
        now: DateTime<Utc>,
        on_progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportPreview> {
        self.with_permission(Permission::ImportData, |store, user, cases| {
            plan(store, user, cases, source, mapping, now, on_progress).map(|(p, _, _)| p)
        })
    }

    /// Imports every row that passed, in one store commit with the audit entry of each form
    /// and one of the import (its file name and counts). Refused rows are in the answer.
    pub fn import_commit(
        &self,
        source: &ImportSource,
        mapping: &ImportMapping,
        now: DateTime<Utc>,
    ) -> Result<ImportPreview> {
        self.import_commit_with_progress(source, mapping, now, &mut |_| {})
    }

    /// [`Session::import_commit`], saying how far it got (rows checked, then the write).
    pub fn import_commit_with_progress(
        &self,
        source: &ImportSource,
        mapping: &ImportMapping,
        now: DateTime<Utc>,
        on_progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportPreview> {
        self.with_permission(Permission::ImportData, |store, user, cases| {
            let (mut preview, planned, referrals) =
                plan(store, user, cases, source, mapping, now, on_progress)?;
            on_progress(ImportProgress {
                checked: preview.rows_read,
                total: preview.rows_read,
                writing: true,
            });
            let file = &preview.file_name;
            let mut work = Work::new(store, user, now);
            let created = format!("Importado de la planilla «{file}»");
            let updated = format!("Retorno importado de la planilla «{file}»");
            for p in &planned {
                match p {
                    Planned::New(person) => {
                        work.save_person(person, Audit::new(AuditAction::Create, &created))?
                    }
                    Planned::Existing { before, after } => {
                        let fields = without_timestamps(changed_fields(before, after));
                        if !fields.is_empty() {
                            work.save_person(
                                after,
                                Audit::new(AuditAction::Update, &updated).fields(fields),
                            )?;
                        }
                    }
                }
            }
            let referred = format!("Referencia importada de la planilla «{file}»");
            for r in &referrals {
                work.save(r, Audit::new(AuditAction::Create, &referred))?;
            }
            let summary = format!(
                "Importación de «{file}»: {} filas, {} fichas nuevas, {} retornos agregados, {} ya registradas, {} rechazadas, {} referencias",
                preview.rows_read,
                preview.new_persons,
                preview.returns_added,
                preview.already_there,
                preview.refused,
                preview.referrals
            );
            let import = Uuid::now_v7();
            work.audit(
                RecordKind::Import,
                import,
                Audit::new(AuditAction::Create, &summary),
            )?;
            work.commit_undoable(cases, import)?;
            preview.written = true;
            preview.import_id = Some(import.to_string());
            Ok(preview)
        })
    }

    /// Takes back a whole import (its forms, returns, referrals and audit entries) while none of
    /// it has been sent to the server and nobody has changed its forms since; audited.
    pub fn import_undo(&self, import_id: &str, now: DateTime<Utc>) -> Result<u32> {
        let undone = self.with_permission(Permission::ImportData, |store, user, cases| {
            let token: Uuid = import_id
                .trim()
                .parse()
                .map_err(|_| ApiError::CannotUndo("ya se deshizo o no hay nada que deshacer."))?;
            let undone = store.undo(token)?;
            let mut work = Work::new(store, user, now);
            let summary =
                format!("Deshizo una importación ({undone} registros devueltos a como estaban)");
            work.audit(
                RecordKind::Import,
                token,
                Audit::new(AuditAction::Delete, &summary),
            )?;
            work.commit(cases)?;
            Ok(u32::try_from(undone).unwrap_or(u32::MAX))
        })?;
        // The forms it wrote are gone or back as they were: read the cases again.
        self.reload_cases()?;
        Ok(undone)
    }

    /// The refused rows of an import as an XLSX a person can fix and import again: each row's
    /// number, its reasons and its cells as the file had them.
    pub fn import_error_report(
        &self,
        source: &ImportSource,
        mapping: &ImportMapping,
        now: DateTime<Utc>,
    ) -> Result<ExportFile> {
        let preview = self.import_preview(source, mapping, now)?;
        error_report(&preview)
    }
}

/// The error report of a preview (XLSX: a summary sheet, then the refused rows).
pub fn error_report(preview: &ImportPreview) -> Result<ExportFile> {
    let summary = Table {
        title: "Importación".into(),
        headers: vec!["Dato".into(), "Valor".into()],
        rows: vec![
            vec![
                Cell::Text("Archivo".into()),
                Cell::Text(preview.file_name.clone()),
            ],
            vec![
                Cell::Text("Filas leídas".into()),
                Cell::Number(f64::from(preview.rows_read)),
            ],
            vec![
                Cell::Text("Rechazadas".into()),
                Cell::Number(f64::from(preview.refused)),
            ],
        ],
    };
    let mut headers = vec!["Fila".to_string(), "Motivos".to_string()];
    let width = preview
        .rows
        .iter()
        .map(|r| r.cells.len())
        .max()
        .unwrap_or(0);
    for i in 0..width {
        headers.push(
            preview
                .columns
                .iter()
                .find(|c| c.index as usize == i)
                .map_or_else(|| format!("Columna {}", i + 1), |c| c.header.clone()),
        );
    }
    let rows: Vec<Vec<Cell>> = preview
        .rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Refused)
        .map(|r| {
            let mut row = vec![
                Cell::Number(f64::from(r.row)),
                Cell::Text(r.reasons.join("; ")),
            ];
            row.extend(r.cells.iter().map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.clone())
                }
            }));
            row
        })
        .collect();
    let errors = Table {
        title: "Errores".into(),
        headers,
        rows,
    };
    let stem = preview
        .file_name
        .rsplit_once('.')
        .map_or(preview.file_name.as_str(), |(s, _)| s);
    Ok(ExportFile {
        file_name: format!("{stem}-errores.xlsx").replace(['/', '\\', ':'], "_"),
        rows: preview.refused,
        bytes: write_xlsx(&[summary, errors])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_suggest_their_fields() {
        assert_eq!(suggest_field("Nombres"), Some(ImportField::GivenNames));
        assert_eq!(
            suggest_field("  PRIMER APELLIDO "),
            Some(ImportField::FirstSurname)
        );
        assert_eq!(suggest_field("Teléfono"), Some(ImportField::Phone));
        assert_eq!(
            suggest_field("Fecha de nacimiento (dd/mm/aaaa)"),
            Some(ImportField::BirthDate)
        );
        assert_eq!(suggest_field("Fecha"), Some(ImportField::ReturnDate));
        assert_eq!(suggest_field("N° DUI"), Some(ImportField::Dui));
        assert_eq!(suggest_field("Observaciones"), None);
    }

    #[test]
    fn districts_by_name_with_the_closest_when_unknown() {
        let code = district_of("Jiquilisco", "Distrito").unwrap_or_default();
        assert_eq!(
            Territory::el_salvador()
                .place(&code)
                .map(|p| p.district_name.as_str()),
            Some("Jiquilisco")
        );
        let e = district_of("Jiquilsco", "Distrito de destino").unwrap_err();
        assert!(e.contains("¿quiso decir «Jiquilisco (Usulután)»"), "{e}");
        assert!(district_of("Narnia", "Distrito")
            .unwrap_err()
            .contains("no hay un distrito"));
    }
}
