//! Exports for donor reports: each indicator table, the office-wide lists and a case list, as
//! XLSX (rust_xlsxwriter) or CSV (the csv crate). Spanish headers, dates as real dates, numbers
//! as numbers, a "Filtros" sheet (CSV: leading lines) describing what was asked, and protection
//! against formula injection: a text cell that starts with `=`, `+`, `-`, `@`, tab or CR is
//! written as text (XLSX: a string cell with Excel's quote prefix; CSV: a leading `'`).
//!
//! The de-identified variant has no names, DUI, phone or exact birth date (ages as groups), and
//! every count from 1 to 4 in an aggregate table is suppressed (`<5`). An export respects the
//! role and scope of the user (permission `reports`; the user's office) and writes an audit
//! entry (`export`) naming what was exported, never the data.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::{AuditAction, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent;
use reintegra_core::ids::PersonId;
use reintegra_core::indicators::{
    age_group_in, cases_in, compute, Count, IndicatorFilter, Indicators, Period,
};
use reintegra_core::permission::Permission;
use reintegra_core::person::{BeneficiaryType, Sex};
use reintegra_core::referral::{ReferralStatus, ServiceType};
use reintegra_core::territory::Territory;
use reintegra_core::vulnerability::Vulnerability;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::cases::Cases;
use crate::indicators::{scoped, visible_facts};
use crate::office_lists::{follow_up_rows, referral_rows, FollowUpQuery, ReferralQuery};
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        }
    }

    /// From a file name's extension (`.xlsx`, `.csv`, any case).
    pub fn of_path(path: &str) -> Option<ExportFormat> {
        let lower = path.to_lowercase();
        if lower.ends_with(".xlsx") {
            Some(ExportFormat::Xlsx)
        } else if lower.ends_with(".csv") {
            Some(ExportFormat::Csv)
        } else {
            None
        }
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportWhat {
    /// Every indicator table for the filter.
    Indicators { filter: IndicatorFilter },
    /// The cases the filter chooses that returned or were registered in its period.
    Cases { filter: IndicatorFilter },
    /// "Referencias" with its filters (every page).
    Referrals { query: ReferralQuery },
    /// "Seguimientos" with its filters (every page).
    FollowUps { query: FollowUpQuery },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportRequest {
    pub what: ExportWhat,
    pub format: ExportFormat,
    /// No names, DUI, phone or exact birth date; counts under 5 suppressed.
    pub deidentified: bool,
}

/// The file made: its suggested name and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ExportFile {
    pub file_name: String,
    /// Data rows written (every table's, headers and filters not counted).
    pub rows: u32,
    #[ts(type = "number[]")]
    pub bytes: Vec<u8>,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    fn count(n: u32) -> Cell {
        Cell::Number(f64::from(n))
    }

    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// One table: a sheet in XLSX, a block in CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    fn new(title: &str, headers: &[&str]) -> Table {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// Smallest count shown in a de-identified aggregate table.
pub const MIN_CELL: u32 = 5;

/// Whether a text would be read as a formula (or could start one) by a spreadsheet.
pub fn is_dangerous(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

// The Spanish names files carry (the UI words codes with its own dictionaries; a file must be
// readable without the app).

fn sex_es(code: &str) -> &'static str {
    match code {
        "female" => "Mujer",
        "male" => "Hombre",
        _ => "Sin dato",
    }
}

fn sex_of(sex: Option<Sex>) -> &'static str {
    sex_es(match sex {
        Some(Sex::Female) => "female",
        Some(Sex::Male) => "male",
        None => "",
    })
}

fn age_es(code: &str) -> &'static str {
    match code {
        "age_0_11" => "0 a 11 años",
        "age_12_17" => "12 a 17 años",
        "age_18_29" => "18 a 29 años",
        "age_30_59" => "30 a 59 años",
        "age_60_plus" => "60 años o más",
        _ => "Edad desconocida",
    }
}

fn beneficiary_es(code: &str) -> &'static str {
    match code {
        "returned_migrant" => "Persona migrante retornada",
        "family_member" => "Familiar de persona retornada",
        "community_member" => "Persona de la comunidad",
        "internally_displaced" => "Persona desplazada internamente",
        _ => "",
    }
}

fn beneficiary_of(b: BeneficiaryType) -> &'static str {
    beneficiary_es(match b {
        BeneficiaryType::ReturnedMigrant => "returned_migrant",
        BeneficiaryType::FamilyMember => "family_member",
        BeneficiaryType::CommunityMember => "community_member",
        BeneficiaryType::InternallyDisplaced => "internally_displaced",
    })
}

pub(crate) fn service_es(s: ServiceType) -> &'static str {
    match s {
        ServiceType::Psychosocial => "Atención psicosocial",
        ServiceType::Vocational => "Formación vocacional",
        ServiceType::Entrepreneurship => "Emprendimiento (capital semilla)",
        ServiceType::Health => "Salud",
        ServiceType::LegalDocuments => "Asesoría legal y documentos",
        ServiceType::Education => "Educación",
        ServiceType::Employment => "Empleo",
        ServiceType::Housing => "Vivienda",
        ServiceType::Family => "Familia",
    }
}

fn status_es(s: ReferralStatus) -> &'static str {
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

fn vulnerability_es(v: Vulnerability) -> &'static str {
    match v {
        Vulnerability::UnaccompaniedChild => "Niña, niño o adolescente no acompañado",
        Vulnerability::TraffickingVictim => "Víctima de trata",
        Vulnerability::Disability => "Discapacidad",
        Vulnerability::Pregnant => "Embarazo",
        Vulnerability::GbvSurvivor => "Sobreviviente de violencia basada en género",
        Vulnerability::Lgbti => "LGBTI",
        Vulnerability::Indigenous => "Pueblo indígena",
        Vulnerability::ChronicIllness => "Enfermedad crónica",
        Vulnerability::DisplacedByViolence => "Desplazamiento por violencia",
        Vulnerability::ProtectionNeed => "Necesidad de protección",
    }
}

fn vulnerability_code_es(code: &str) -> String {
    Vulnerability::ALL
        .into_iter()
        .find(|v| {
            serde_json::to_value(v)
                .ok()
                .and_then(|j| j.as_str().map(String::from))
                .as_deref()
                == Some(code)
        })
        .map(|v| vulnerability_es(v).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn period_es(p: &Period) -> String {
    match p {
        Period::Month { .. } => format!("mes {}", p.label()),
        Period::Quarter { year, quarter } => format!("trimestre {quarter} de {year}"),
        Period::Year { year } => format!("año {year}"),
        Period::Custom { from, to } => {
            format!(
                "del {} al {}",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            )
        }
    }
}

/// The "Filtros" sheet: what was asked, by whom's scope, when.
fn filters_table(
    what: &str,
    filter: Option<&IndicatorFilter>,
    extra: Vec<(&str, String)>,
    deidentified: bool,
    now: DateTime<Utc>,
) -> Table {
    let territory = Territory::el_salvador();
    let mut t = Table::new("Filtros", &["Filtro", "Valor"]);
    let mut row = |k: &str, v: Cell| t.rows.push(vec![Cell::text(k), v]);
    row("Exportación", Cell::text(what));
    row("Generada el", Cell::Date(today_in_el_salvador(now)));
    row(
        "Variante",
        Cell::text(if deidentified {
            "Anonimizada (sin nombres, DUI, teléfono ni fecha de nacimiento; celdas menores de 5 suprimidas)"
        } else {
            "Con datos personales"
        }),
    );
    if let Some(f) = filter {
        row("Período", Cell::text(period_es(&f.period)));
        if let Some((from, to)) = f.period.range() {
            row("Desde", Cell::Date(from));
            row("Hasta", Cell::Date(to));
        }
        let all = || "Todos".to_string();
        row(
            "Departamento",
            Cell::text(
                f.department
                    .as_ref()
                    .and_then(|d| territory.department(d))
                    .map(|d| d.name.clone())
                    .unwrap_or_else(all),
            ),
        );
        row(
            "Municipio",
            Cell::text(
                f.municipality
                    .as_ref()
                    .and_then(|m| territory.municipality(m))
                    .map(|m| m.name.clone())
                    .unwrap_or_else(all),
            ),
        );
        row(
            "Sexo",
            Cell::text(
                f.sex
                    .map(|s| sex_of(Some(s)).to_string())
                    .unwrap_or_else(all),
            ),
        );
        row(
            "Grupo de edad",
            Cell::text(
                f.age_group
                    .map(|g| age_es(g.code()).to_string())
                    .unwrap_or_else(all),
            ),
        );
        row(
            "Tipo de persona",
            Cell::text(
                f.beneficiary_type
                    .map(|b| beneficiary_of(b).to_string())
                    .unwrap_or_else(all),
            ),
        );
        row(
            "Vulnerabilidad",
            Cell::text(
                f.vulnerability
                    .map(|v| vulnerability_es(v).to_string())
                    .unwrap_or_else(all),
            ),
        );
    }
    for (k, v) in extra {
        row(k, Cell::text(v));
    }
    t
}

/// A count as a de-identified table shows it.
fn count_cell(n: u32, deidentified: bool) -> Cell {
    if deidentified && n > 0 && n < MIN_CELL {
        Cell::text("<5")
    } else {
        Cell::count(n)
    }
}

fn breakdown(
    title: &str,
    first: &str,
    rows: &[Count],
    services: Option<&str>,
    label: &dyn Fn(&Count) -> String,
    de: bool,
) -> Table {
    let mut headers = vec![first, "Personas"];
    if let Some(s) = services {
        headers.push(s);
    }
    let mut t = Table::new(title, &headers);
    for r in rows {
        let mut row = vec![Cell::text(label(r)), count_cell(r.people, de)];
        if services.is_some() {
            row.push(count_cell(r.services, de));
        }
        t.rows.push(row);
    }
    t
}

/// Every indicator table.
pub fn indicator_tables(i: &Indicators, de: bool) -> Vec<Table> {
    let mut totals = Table::new("Totales", &["Indicador", "Cuenta", "Valor"]);
    let mut total = |name: &str, counts: &str, n: u32| {
        totals.rows.push(vec![
            Cell::text(name),
            Cell::text(counts),
            count_cell(n, de),
        ])
    };
    total(
        "Personas atendidas en recepción",
        "personas",
        i.assisted_people,
    );
    total("Retornos registrados", "retornos", i.return_events);
    total("Casos nuevos", "personas", i.new_cases);
    total(
        "Casos abiertos al cierre del período",
        "personas",
        i.open_cases,
    );
    total("Casos cerrados", "personas", i.closed_cases);
    total("Referencias hechas", "servicios", i.referrals);
    total("Personas referidas", "personas", i.referred_people);
    total("Servicios completados", "servicios", i.completed_services);
    total(
        "Personas con un servicio completado",
        "personas",
        i.served_people,
    );
    total(
        "Seguimientos vencidos",
        "seguimientos",
        i.overdue_follow_ups,
    );
    total("Menores no acompañados", "personas", i.unaccompanied_minors);
    for (name, value) in [
        (
            "Días del retorno a la primera referencia (mediana)",
            i.median_days_to_first_referral,
        ),
        (
            "Días del retorno al primer servicio completado (mediana)",
            i.median_days_to_first_completed,
        ),
    ] {
        totals.rows.push(vec![
            Cell::text(name),
            Cell::text("días"),
            value.map_or(Cell::Empty, Cell::Number),
        ]);
    }

    let mut services = Table::new(
        "Servicios",
        &[
            "Tipo de servicio",
            "Personas referidas",
            "Referencias",
            "propuesta",
            "enviada",
            "aceptada",
            "en curso",
            "completada",
            "rechazada",
            "cancelada",
            "Completados en el período",
            "Personas con el servicio completado",
        ],
    );
    for r in &i.by_service {
        let mut row = vec![
            Cell::text(service_es(r.service_type)),
            count_cell(r.people, de),
            count_cell(r.referrals, de),
        ];
        row.extend(r.by_status.iter().map(|n| count_cell(*n, de)));
        row.push(count_cell(r.completed, de));
        row.push(count_cell(r.completed_people, de));
        services.rows.push(row);
    }

    let territory = Territory::el_salvador();
    let mut places = Table::new(
        "Territorio",
        &[
            "Departamento",
            "Municipio",
            "Distrito",
            "Personas",
            "Retornos",
        ],
    );
    for d in &i.by_district {
        let place = territory.place(&d.key);
        places.rows.push(vec![
            Cell::text(place.map(|p| p.department_name.clone()).unwrap_or_default()),
            Cell::text(
                place
                    .map(|p| p.municipality_name.clone())
                    .unwrap_or_default(),
            ),
            Cell::text(
                place
                    .map(|p| p.district_name.clone())
                    .unwrap_or_else(|| "Sin destino".into()),
            ),
            count_cell(d.people, de),
            count_cell(d.services, de),
        ]);
    }

    vec![
        totals,
        breakdown(
            "Sexo",
            "Sexo",
            &i.by_sex,
            Some("Retornos"),
            &|r| sex_es(&r.key).into(),
            de,
        ),
        breakdown(
            "Edad",
            "Grupo de edad",
            &i.by_age_group,
            Some("Retornos"),
            &|r| age_es(&r.key).into(),
            de,
        ),
        breakdown(
            "Tipo de persona",
            "Tipo de persona",
            &i.by_beneficiary_type,
            Some("Retornos"),
            &|r| beneficiary_es(&r.key).into(),
            de,
        ),
        breakdown(
            "Vulnerabilidad",
            "Vulnerabilidad",
            &i.by_vulnerability,
            None,
            &|r| vulnerability_code_es(&r.key),
            de,
        ),
        breakdown(
            "Municipio",
            "Municipio",
            &i.by_municipality,
            Some("Retornos"),
            &|r| {
                if r.name.is_empty() {
                    "Sin destino".into()
                } else {
                    r.name.clone()
                }
            },
            de,
        ),
        services,
        places,
    ]
}

fn cases_table(cases: &Cases, filter: &IndicatorFilter, ids: &[PersonId], de: bool) -> Table {
    let territory = Territory::el_salvador();
    let mut headers = vec![];
    if !de {
        headers.extend(["Nombre", "DUI", "Fecha de nacimiento"]);
    }
    headers.extend([
        "Grupo de edad",
        "Sexo",
        "Tipo de persona",
        "Departamento",
        "Municipio",
        "Distrito",
        "Retornos",
        "Último retorno",
        "Caso abierto",
        "Vulnerabilidades",
    ]);
    let mut t = Table::new("Casos", &headers);
    for id in ids {
        let Some(c) = cases.get(id) else { continue };
        let f = &c.facts;
        let mut row = Vec::new();
        if !de {
            row.push(Cell::text(c.full_name.clone()));
            row.push(Cell::text(c.dui.clone().unwrap_or_default()));
            row.push(
                c.birth_date
                    .and_then(|b| b.estimated_date())
                    .map_or(Cell::Empty, Cell::Date),
            );
        }
        let place = territory.place(&f.destination_district);
        row.extend([
            Cell::text(age_es(age_group_in(filter, f).code())),
            Cell::text(sex_of(f.sex)),
            Cell::text(beneficiary_of(f.beneficiary_type)),
            Cell::text(place.map(|p| p.department_name.clone()).unwrap_or_default()),
            Cell::text(
                place
                    .map(|p| p.municipality_name.clone())
                    .unwrap_or_default(),
            ),
            Cell::text(place.map(|p| p.district_name.clone()).unwrap_or_default()),
            Cell::count(c.returns),
            // A de-identified list keeps the month of the last return, not the day.
            match (c.last_return, de) {
                (Some(d), false) => Cell::Date(d),
                (Some(d), true) => Cell::text(d.format("%Y-%m").to_string()),
                (None, _) => Cell::Empty,
            },
            Cell::text(if c.open { "Sí" } else { "No" }),
            Cell::text(
                c.vulnerabilities
                    .iter()
                    .map(|v| vulnerability_es(*v))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ]);
        t.rows.push(row);
    }
    t
}

/// XLSX: the filters first, then one sheet per table.
pub fn write_xlsx(tables: &[Table]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| ApiError::Export(e.to_string());
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let as_text = Format::new().set_quote_prefix();
    for table in tables {
        let sheet = book.add_worksheet();
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = table
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(name).map_err(failed)?;
        for (c, h) in table.headers.iter().enumerate() {
            let col =
                u16::try_from(c).map_err(|_| ApiError::Export("demasiadas columnas".into()))?;
            sheet
                .write_string_with_format(0, col, h, &bold)
                .map_err(failed)?;
            sheet.set_column_width(col, 18).map_err(failed)?;
        }
        for (r, cells) in table.rows.iter().enumerate() {
            let row =
                u32::try_from(r + 1).map_err(|_| ApiError::Export("demasiadas filas".into()))?;
            for (c, cell) in cells.iter().enumerate() {
                let col =
                    u16::try_from(c).map_err(|_| ApiError::Export("demasiadas columnas".into()))?;
                match cell {
                    Cell::Text(s) if is_dangerous(s) => {
                        sheet
                            .write_string_with_format(row, col, s, &as_text)
                            .map_err(failed)?;
                    }
                    Cell::Text(s) => {
                        sheet.write_string(row, col, s).map_err(failed)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(row, col, *n).map_err(failed)?;
                    }
                    Cell::Date(d) => {
                        use chrono::Datelike;
                        let (y, m, day) = (d.year(), d.month(), d.day());
                        let when = ExcelDateTime::from_ymd(
                            u16::try_from(y).map_err(|_| ApiError::Export(d.to_string()))?,
                            u8::try_from(m).map_err(|_| ApiError::Export(d.to_string()))?,
                            u8::try_from(day).map_err(|_| ApiError::Export(d.to_string()))?,
                        )
                        .map_err(failed)?;
                        sheet
                            .write_datetime_with_format(row, col, &when, &date)
                            .map_err(failed)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(failed)?;
    }
    book.save_to_buffer().map_err(failed)
}

/// CSV (UTF-8 with BOM, so Excel reads the accents): each table as a title line, its header
/// and its rows, a blank line between tables. Dates as `YYYY-MM-DD`; a dangerous text gets a
/// leading `'`.
pub fn write_csv(tables: &[Table]) -> Result<Vec<u8>> {
    let failed = |e: csv::Error| ApiError::Export(e.to_string());
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        for (n, table) in tables.iter().enumerate() {
            if n > 0 {
                w.write_record([""]).map_err(failed)?;
            }
            w.write_record([format!("# {}", table.title)])
                .map_err(failed)?;
            w.write_record(&table.headers).map_err(failed)?;
            for cells in &table.rows {
                let record: Vec<String> = cells
                    .iter()
                    .map(|c| match c {
                        Cell::Text(s) if is_dangerous(s) => format!("'{s}"),
                        Cell::Text(s) => s.clone(),
                        Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
                        Cell::Number(n) => n.to_string(),
                        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                        Cell::Empty => String::new(),
                    })
                    .collect();
                w.write_record(&record).map_err(failed)?;
            }
        }
        w.flush().map_err(|e| ApiError::Export(e.to_string()))?;
    }
    Ok(out)
}

impl Session {
    /// The tables an export would write (what [`Session::export`] writes to a file).
    pub fn export_tables(&self, request: &ExportRequest, now: DateTime<Utc>) -> Result<Vec<Table>> {
        self.with_permission(Permission::Reports, |store, user, cases| {
            let de = request.deidentified;
            // A restricted form (registration consent withdrawn) is in no list of persons, named
            // or de-identified; the indicators, which name no one, still count the person.
            let today = today_in_el_salvador(now);
            let listed = |id: &PersonId| {
                cases
                    .get(id)
                    .is_some_and(|c| !consent::restricted(&c.consents, today))
            };
            let variant = if de { " (anonimizada)" } else { "" };
            Ok(match &request.what {
                ExportWhat::Indicators { filter } => {
                    let filter = scoped(user, filter)?;
                    let facts = visible_facts(store, user, cases, now)?;
                    let i = compute(
                        &filter,
                        &facts.persons,
                        &facts.referrals,
                        &facts.follow_ups,
                        today_in_el_salvador(now),
                    )
                    .ok_or(ApiError::InvalidPeriod)?;
                    let mut tables = vec![filters_table(
                        &format!("Indicadores{variant}"),
                        Some(&filter),
                        vec![],
                        de,
                        now,
                    )];
                    tables.extend(indicator_tables(&i, de));
                    tables
                }
                ExportWhat::Cases { filter } => {
                    let filter = scoped(user, filter)?;
                    let facts = visible_facts(store, user, cases, now)?;
                    let mut chosen: Vec<_> = cases_in(&filter, &facts.persons)
                        .ok_or(ApiError::InvalidPeriod)?
                        .into_iter()
                        .map(|p| p.id)
                        .filter(|id| listed(id))
                        .collect();
                    chosen.sort_by_key(|id| cases.get(id).map(|c| c.folded_name.clone()));
                    vec![
                        filters_table(&format!("Casos{variant}"), Some(&filter), vec![], de, now),
                        cases_table(cases, &filter, &chosen, de),
                    ]
                }
                ExportWhat::Referrals { query } => {
                    let rows = referral_rows(store, user, cases, query, now)?;
                    let mut headers = vec![];
                    if !de {
                        headers.push("Persona");
                    }
                    headers.extend([
                        "Tipo de servicio",
                        "Estado",
                        "Proveedor",
                        "Hecha el",
                        "En este estado desde",
                        "Días esperando",
                    ]);
                    if !de {
                        headers.push("Gestor/a");
                    }
                    let mut t = Table::new("Referencias", &headers);
                    for r in rows.into_iter().filter(|r| listed(&r.person)) {
                        let mut row = vec![];
                        if !de {
                            row.push(Cell::text(r.person_name));
                        }
                        row.extend([
                            Cell::text(service_es(r.service_type)),
                            Cell::text(status_es(r.status)),
                            Cell::text(r.provider_name),
                            Cell::Date(r.made_on),
                            Cell::Date(r.since),
                            Cell::count(r.days_waiting),
                        ]);
                        if !de {
                            row.push(Cell::text(r.caseworker_name));
                        }
                        t.rows.push(row);
                    }
                    let extra = vec![
                        (
                            "Estado",
                            query
                                .status
                                .map_or("Todos".to_string(), |s| status_es(s).to_string()),
                        ),
                        (
                            "Solo abiertas",
                            if query.open_only { "Sí" } else { "No" }.into(),
                        ),
                        (
                            "Tipo de servicio",
                            query
                                .service_type
                                .map_or("Todos".to_string(), |s| service_es(s).to_string()),
                        ),
                    ];
                    vec![
                        filters_table(&format!("Referencias{variant}"), None, extra, de, now),
                        t,
                    ]
                }
                ExportWhat::FollowUps { query } => {
                    let rows = follow_up_rows(store, user, cases, query, now)?;
                    let mut headers = vec![];
                    if !de {
                        headers.push("Persona");
                    }
                    headers.extend(["Vence el", "Medio", "Gestor/a", "Días de atraso"]);
                    let mut t = Table::new("Seguimientos", &headers);
                    for f in rows.into_iter().filter(|f| listed(&f.person)) {
                        let mut row = vec![];
                        if !de {
                            row.push(Cell::text(f.person_name));
                        }
                        row.extend([
                            Cell::Date(f.due_on),
                            Cell::text(match f.channel {
                                reintegra_core::follow_up::FollowUpChannel::Visit => "Visita",
                                reintegra_core::follow_up::FollowUpChannel::Phone => "Teléfono",
                                reintegra_core::follow_up::FollowUpChannel::Office => "Oficina",
                            }),
                            Cell::text(f.assigned_name),
                            Cell::count(f.days_overdue),
                        ]);
                        t.rows.push(row);
                    }
                    let extra = vec![
                        (
                            "Solo vencidos",
                            if query.overdue_only { "Sí" } else { "No" }.into(),
                        ),
                        ("Vencen en los próximos días", query.within_days.to_string()),
                    ];
                    vec![
                        filters_table(&format!("Seguimientos{variant}"), None, extra, de, now),
                        t,
                    ]
                }
            })
        })
    }

    /// Makes the export file and writes its audit entry (what was exported and how many rows,
    /// never the data).
    pub fn export(&self, request: &ExportRequest, now: DateTime<Utc>) -> Result<ExportFile> {
        self.with_permission(Permission::Reports, |_, _, _| Ok(()))?;
        let tables = self.export_tables(request, now)?;
        let rows: usize = tables.iter().skip(1).map(|t| t.rows.len()).sum();
        let bytes = match request.format {
            ExportFormat::Xlsx => write_xlsx(&tables)?,
            ExportFormat::Csv => write_csv(&tables)?,
        };
        let (what, stem) = match &request.what {
            ExportWhat::Indicators { filter } => ("indicadores", filter.period.label()),
            ExportWhat::Cases { filter } => ("casos", filter.period.label()),
            ExportWhat::Referrals { .. } => ("referencias", today_in_el_salvador(now).to_string()),
            ExportWhat::FollowUps { .. } => ("seguimientos", today_in_el_salvador(now).to_string()),
        };
        let variant = if request.deidentified {
            "-anonimizado"
        } else {
            ""
        };
        let file_name = format!("{what}-{stem}{variant}.{}", request.format.extension())
            .replace(['/', '\\', ':'], "_");
        let summary = format!(
            "Exportación {what}{} ({}, {rows} filas)",
            if request.deidentified {
                " anonimizada"
            } else {
                ""
            },
            request.format.extension()
        );
        self.with_permission(Permission::Reports, |store, user, cases| {
            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::Export,
                Uuid::now_v7(),
                Audit::new(AuditAction::Export, &summary)
                    .fields([what, request.format.extension()]),
            )?;
            work.commit(cases)
        })?;
        Ok(ExportFile {
            file_name,
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_starts() {
        for s in ["=HYPERLINK(\"x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(is_dangerous(s), "{s}");
        }
        for s in ["Ana", "1", "", " =x", "María-José"] {
            assert!(!is_dangerous(s), "{s}");
        }
        assert_eq!(count_cell(4, true), Cell::text("<5"));
        assert_eq!(count_cell(0, true), Cell::count(0));
        assert_eq!(count_cell(5, true), Cell::count(5));
        assert_eq!(count_cell(4, false), Cell::count(4));
    }
}
