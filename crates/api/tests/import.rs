//! Importing an office's spreadsheet on a real encrypted store: a messy XLSX made here with
//! rust_xlsxwriter (a merged title row above the header, accents, dates as text, as Excel
//! serials and as date cells, a blank line, a bad DUI, an unknown district, an impossible and a
//! future date, a formula-injection cell, a person already registered, one person twice), and a
//! Spanish-Excel CSV with a saved mapping.
#![allow(clippy::unwrap_used)] // tests may unwrap

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ApiError, ArrivalInput, CaseQuery, ImportField, ImportMapping,
    ImportSource, KdfParams, NewUser, ReturnInput, RowOutcome, Session,
};
use reintegra_core::audit::AuditAction;
use reintegra_core::dui::Dui;
use reintegra_core::person::{Person, Sex};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const PASS: &str = "clave-segura-de-prueba";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 20, 15, 0, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn district(name: &str) -> (String, String) {
    let place = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == name)
        .unwrap();
    (place.district_code.clone(), place.municipality_code.clone())
}

fn dui(body: &str) -> String {
    Dui::from_body(body).unwrap().as_str().to_string()
}

/// A DUI whose check digit is wrong.
fn bad_dui(body: &str) -> String {
    let good = dui(body);
    let last = good.chars().last().unwrap().to_digit(10).unwrap();
    format!("{body}-{}", (last + 1) % 10)
}

fn serial(d: NaiveDate) -> f64 {
    (d - day(1899, 12, 30)).num_days() as f64
}

/// The person registered before the import (the returning person of row 9).
fn already_registered(s: &Session) -> Person {
    let input = ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: "Carlos Alberto".into(),
        first_surname: "Rivas".into(),
        second_surname: "Flores".into(),
        sex: Some(Sex::Male),
        birth_date: None,
        dui: dui("04567890"),
        other_document: None,
        phone: String::new(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: district("Jiquilisco").0,
        return_event: Some(ReturnInput {
            date: day(2026, 1, 10),
            modality: ReturnModality::Air,
            country_from: "US".into(),
            reception_center: ReceptionCenter::Gami,
            custody_days: None,
            travelled: TravelCompanion::Alone,
            assistance: vec![],
            assistance_notes: String::new(),
        }),
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: false,
        family_of: None,
        caseworker: None,
    };
    s.register_arrival(&input, now()).unwrap().person
}

fn setup(dir: &std::path::Path) -> (Session, Person) {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    for (login, role) in [("oeste", Role::Supervisor), ("caso", Role::Caseworker)] {
        s.create_user(
            &NewUser {
                name: login.into(),
                login: login.into(),
                role,
                office_municipality: Some(district("Jiquilisco").1),
                also_supervisor: false,
                passphrase: PASS.into(),
            },
            now(),
        )
        .unwrap();
    }
    let carlos = already_registered(&s);
    (s, carlos)
}

const HEADERS: [&str; 11] = [
    "Nombres",
    "Primer apellido",
    "Segundo apellido",
    "Sexo",
    "Fecha de nacimiento",
    "N° DUI",
    "Teléfono",
    "Distrito",
    "Fecha de retorno",
    "País",
    "Consentimiento",
];

/// The messy workbook; the comment on each row says what must become of it.
fn messy_xlsx() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    sheet
        .merge_range(
            0,
            0,
            0,
            10,
            "Registro de personas retornadas — Oficina Jiquilisco 2026",
            &bold,
        )
        .unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(2, c as u16, *h, &bold)
            .unwrap();
    }
    enum V {
        S(&'static str),
        O(String),
        N(f64),
        D(NaiveDate),
        E,
    }
    use V::*;
    let rows: Vec<(u32, Vec<V>)> = vec![
        // 4: new, birth date as text, return as a serial, country by name.
        (
            3,
            vec![
                S("María José"),
                S("Hernández"),
                S("Ábrego"),
                S("F"),
                S("12/03/1990"),
                O(dui("01234567")),
                S("7123-4567"),
                S("Jiquilisco"),
                N(serial(day(2026, 7, 15))),
                S("Estados Unidos"),
                S("Sí"),
            ],
        ),
        // 5: blank line.
        // 6: refused, wrong DUI check digit; birth date as a date cell.
        (
            5,
            vec![
                S("Kevin"),
                S("Díaz"),
                E,
                S("M"),
                D(day(1985, 5, 1)),
                O(bad_dui("02345678")),
                E,
                S("Jiquilisco"),
                S("2026-07-20"),
                S("US"),
                S("Sí"),
            ],
        ),
        // 7: refused, unknown district (a typo): the closest is suggested; birth year alone.
        (
            6,
            vec![
                S("Rosa"),
                S("Martínez"),
                E,
                S("F"),
                N(1992.0),
                E,
                S("7000-0002"),
                S("Jiquilsco"),
                S("01/08/2026"),
                S("México"),
                S("Sí"),
            ],
        ),
        // 8: refused, a formula-injection cell.
        (
            7,
            vec![
                S("=HYPERLINK(\"http://x\",\"clic\")"),
                S("López"),
                E,
                S("F"),
                E,
                E,
                E,
                S("Jiquilisco"),
                S("01/08/2026"),
                S("US"),
                S("Sí"),
            ],
        ),
        // 9: the person registered before (same DUI): a return is added to her form.
        (
            8,
            vec![
                S("Carlos"),
                S("Rivas"),
                E,
                S("Masculino"),
                E,
                O(dui("04567890")),
                E,
                S("Jiquilisco"),
                S("1 de agosto de 2026"),
                S("EEUU"),
                S("Sí"),
            ],
        ),
        // 10: refused, an impossible birth date.
        (
            9,
            vec![
                S("Ana"),
                S("Pérez"),
                E,
                S("F"),
                S("31/02/1991"),
                E,
                E,
                S("Jiquilisco"),
                S("02/08/2026"),
                S("US"),
                S("Sí"),
            ],
        ),
        // 11: refused, a return in the future.
        (
            10,
            vec![
                S("Luis"),
                S("Gómez"),
                E,
                S("M"),
                E,
                E,
                E,
                S("Jiquilisco"),
                S("25/12/2026"),
                S("US"),
                S("Sí"),
            ],
        ),
        // 12: row 4 again (same DUI) with another return: one person, two returns.
        (
            11,
            vec![
                S("Maria Jose"),
                S("Hernandez"),
                S("Abrego"),
                S("F"),
                S("12/03/1990"),
                O(dui("01234567")),
                E,
                S("Jiquilisco"),
                S("10/08/2026"),
                S("US"),
                S("Sí"),
            ],
        ),
        // 13: new, in San Salvador (another office than Jiquilisco's).
        (
            12,
            vec![
                S("Luis Ernesto"),
                S("Gómez"),
                E,
                S("M"),
                E,
                E,
                E,
                S("San Salvador"),
                S("03/08/2026"),
                S("Guatemala"),
                S("Sí"),
            ],
        ),
    ];
    for (r, cells) in rows {
        for (c, v) in cells.into_iter().enumerate() {
            let c = c as u16;
            match v {
                S(s) => drop(sheet.write_string(r, c, s).unwrap()),
                O(s) => drop(sheet.write_string(r, c, s).unwrap()),
                N(n) => drop(sheet.write_number(r, c, n).unwrap()),
                D(d) => {
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .unwrap();
                    sheet.write_datetime_with_format(r, c, &dt, &date).unwrap();
                }
                E => {}
            }
        }
    }
    book.save_to_buffer().unwrap()
}

use chrono::Datelike;

fn source(bytes: Vec<u8>, name: &str) -> ImportSource {
    ImportSource {
        file_name: name.into(),
        bytes,
    }
}

fn outcome_of(rows: &[reintegra_api::ImportRow], row: u32) -> &reintegra_api::ImportRow {
    rows.iter().find(|r| r.row == row).unwrap()
}

#[test]
fn a_messy_spreadsheet_comes_in_row_by_row_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (s, carlos) = setup(dir.path());
    let file = source(messy_xlsx(), "retornados 2026.xlsx");
    let today = today_in_el_salvador(now());
    let before = s.caseload(&CaseQuery::default(), today).unwrap().total;

    let preview = s
        .import_preview(&file, &ImportMapping::default(), now())
        .unwrap();
    assert_eq!(
        preview.header_row, 3,
        "the merged title row is not the header"
    );
    let fields: Vec<ImportField> = preview.columns.iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        [
            ImportField::GivenNames,
            ImportField::FirstSurname,
            ImportField::SecondSurname,
            ImportField::Sex,
            ImportField::BirthDate,
            ImportField::Dui,
            ImportField::Phone,
            ImportField::DestinationDistrict,
            ImportField::ReturnDate,
            ImportField::CountryFrom,
            ImportField::ConsentRegistration,
        ],
        "every column suggested from its header"
    );
    assert_eq!(
        (
            preview.rows_read,
            preview.new_persons,
            preview.returns_added,
            preview.already_there,
            preview.refused
        ),
        (9, 2, 2, 0, 5),
        "{:#?}",
        preview.rows
    );
    assert_eq!(outcome_of(&preview.rows, 4).outcome, RowOutcome::New);
    let reason = |row: u32| outcome_of(&preview.rows, row).reasons.join(" | ");
    assert!(reason(6).contains("dígito verificador"), "{}", reason(6));
    assert!(
        reason(7).contains("¿quiso decir «Jiquilisco (Usulután)»"),
        "{}",
        reason(7)
    );
    assert!(reason(8).contains("fórmula"), "{}", reason(8));
    assert!(
        reason(10).contains("no existe en el calendario"),
        "{}",
        reason(10)
    );
    assert!(reason(11).contains("en el futuro"), "{}", reason(11));
    assert!(matches!(
        &outcome_of(&preview.rows, 9).outcome,
        RowOutcome::AddReturn { person, .. } if *person == carlos.id
    ));
    assert!(matches!(
        outcome_of(&preview.rows, 12).outcome,
        RowOutcome::AddReturn { .. }
    ));
    assert_eq!(
        s.caseload(&CaseQuery::default(), today).unwrap().total,
        before,
        "a preview writes nothing"
    );

    let mut steps = Vec::new();
    let done = s
        .import_commit_with_progress(&file, &ImportMapping::default(), now(), &mut |p| {
            steps.push(p)
        })
        .unwrap();
    assert!(done.written);
    assert_eq!(
        (steps.first().map(|p| (p.checked, p.total, p.writing))),
        Some((0, 9, false)),
        "{steps:?}"
    );
    assert_eq!(
        steps.last().map(|p| (p.checked, p.total, p.writing)),
        Some((9, 9, true)),
        "the write is said last"
    );
    assert_eq!(
        (done.new_persons, done.returns_added, done.refused),
        (2, 2, 5)
    );
    let page = s.caseload(&CaseQuery::default(), today).unwrap();
    assert_eq!(page.total, before + 2);
    let maria = page
        .rows
        .iter()
        .find(|r| r.full_name.starts_with("María José"))
        .unwrap();
    let maria = s.person_detail(maria.id, now()).unwrap();
    let returns: Vec<NaiveDate> = maria.person.return_events.iter().map(|r| r.date).collect();
    assert_eq!(
        returns,
        [day(2026, 7, 15), day(2026, 8, 10)],
        "one person, both returns"
    );
    assert_eq!(maria.person.return_events[0].country_from, "US");
    assert_eq!(maria.person.phone, "7123-4567");
    assert!(maria
        .history
        .iter()
        .any(|a| a.action == AuditAction::Create && a.summary.contains("retornados 2026.xlsx")));
    let carlos_now = s.person_detail(carlos.id, now()).unwrap();
    assert_eq!(
        carlos_now.person.return_events.len(),
        2,
        "a return, not a second form"
    );
    assert!(carlos_now
        .history
        .iter()
        .any(|a| a.action == AuditAction::Update && a.summary.starts_with("Retorno importado")));

    // The worker says row 9 is another Carlos: a new form instead of a return.
    let mut mapping = ImportMapping::default();
    mapping.different_person_rows.push(9);
    let other = s.import_preview(&file, &mapping, now()).unwrap();
    let row9 = outcome_of(&other.rows, 9);
    assert_eq!(row9.outcome, RowOutcome::New);
    assert!(row9.notes[0].contains("otra persona"));
    assert_eq!(
        other.mapping.different_person_rows,
        [9],
        "kept in the mapping used"
    );

    // The same file again: everyone is already there, nothing new is written.
    let again = s
        .import_commit(&file, &ImportMapping::default(), now())
        .unwrap();
    assert_eq!(
        (
            again.new_persons,
            again.returns_added,
            again.already_there,
            again.refused
        ),
        (0, 0, 4, 5),
        "{:#?}",
        again.rows
    );
    assert_eq!(
        s.caseload(&CaseQuery::default(), today).unwrap().total,
        before + 2
    );
}

#[test]
fn the_error_report_lists_each_refused_row_with_its_reasons_and_no_formula() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let file = source(messy_xlsx(), "retornados.xlsx");
    let report = s
        .import_error_report(&file, &ImportMapping::default(), now())
        .unwrap();
    assert_eq!(report.file_name, "retornados-errores.xlsx");
    assert_eq!(report.rows, 5);
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(report.bytes)).unwrap();
    let errors = book.worksheet_range("Errores").unwrap();
    let rows: Vec<Vec<Data>> = errors.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 1 + 5, "a header and the five refused rows");
    assert_eq!(rows[0][0], Data::String("Fila".into()));
    assert_eq!(rows[0][2], Data::String("Nombres".into()));
    let numbers: Vec<Data> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        numbers,
        [6.0, 7.0, 8.0, 10.0, 11.0].map(Data::Float),
        "rows by their number in the file"
    );
    assert_eq!(
        rows[3][2],
        Data::String("=HYPERLINK(\"http://x\",\"clic\")".into()),
        "the cell as it was, as text"
    );
    let formulas = book.worksheet_formula("Errores").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula in the report"
    );
}

#[test]
fn a_spanish_excel_csv_with_a_saved_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    // Windows-1252, `;`, headers the suggestion does not know.
    let text = String::from(
        "Nombre completo;Apellidos;G\u{e9}nero;Comunidad;Residencia;Llegó;Procedencia;Acepta\n\
         Jos\u{e9};Ram\u{ed}rez;M;El Zapote;Jiquilisco;15/08/2026;USA;si\n\
         ;;;;;;;\n\
         Luc\u{ed}a;Ch\u{e1}vez;F;Las Flores;jiquilisco;16/08/2026;Estados Unidos;si\n",
    );
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let mut mapping = ImportMapping::default();
    for (h, f) in [
        ("Nombre completo", ImportField::GivenNames),
        ("Apellidos", ImportField::FirstSurname),
        ("Comunidad", ImportField::Ignore),
        ("Llegó", ImportField::ReturnDate),
        ("ACEPTA", ImportField::ConsentRegistration),
    ] {
        mapping.columns.insert(h.into(), f);
    }
    let file = source(bytes, "oficina.csv");
    let done = s.import_commit(&file, &mapping, now()).unwrap();
    assert_eq!(
        (done.rows_read, done.new_persons, done.refused),
        (2, 2, 0),
        "{:#?}",
        done.rows
    );
    let comunidad = done
        .columns
        .iter()
        .find(|c| c.header == "Comunidad")
        .unwrap();
    assert_eq!(comunidad.field, ImportField::Ignore);
    assert_eq!(
        done.columns
            .iter()
            .find(|c| c.header == "Género")
            .unwrap()
            .field,
        ImportField::Sex,
        "a header the mapping does not list keeps its suggestion"
    );
    assert_eq!(
        done.mapping.columns.get("Llegó"),
        Some(&ImportField::ReturnDate)
    );
    let page = s
        .caseload(
            &CaseQuery {
                text: "Lucía Chávez".into(),
                ..Default::default()
            },
            today_in_el_salvador(now()),
        )
        .unwrap();
    assert_eq!(page.total, 1, "accents read from Windows-1252");
}

#[test]
fn an_office_supervisor_imports_only_their_office_and_a_caseworker_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let file = source(messy_xlsx(), "retornados.xlsx");
    s.lock(now());
    s.unlock("oeste", PASS, now()).unwrap();
    s.change_own_passphrase(PASS, "otra-clave-segura-2")
        .unwrap();
    let preview = s
        .import_preview(&file, &ImportMapping::default(), now())
        .unwrap();
    let row = outcome_of(&preview.rows, 13);
    assert_eq!(row.outcome, RowOutcome::Refused);
    assert!(row.reasons[0].contains("otra oficina"), "{:?}", row.reasons);
    assert_eq!(preview.new_persons, 1);
    s.lock(now());
    s.unlock("caso", PASS, now()).unwrap();
    s.change_own_passphrase(PASS, "otra-clave-segura-2")
        .unwrap();
    assert!(matches!(
        s.import_preview(&file, &ImportMapping::default(), now()),
        Err(ApiError::Forbidden)
    ));
}

#[test]
fn a_file_that_is_not_a_spreadsheet_is_refused_in_spanish() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let e = s
        .import_preview(
            &source(b"hola".to_vec(), "notas.docx"),
            &ImportMapping::default(),
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "import_unreadable");
    assert!(e.to_string().contains(".xlsx o .csv"));
    let e = s
        .import_preview(
            &source(b"PK not a zip".to_vec(), "roto.xlsx"),
            &ImportMapping::default(),
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "import_unreadable");
}

#[test]
fn referrals_come_in_with_their_status_only_as_far_as_consent_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let provider = s.providers().unwrap().remove(0);
    let p = &provider.name;
    let text = format!(
        "Nombres;Primer apellido;Sexo;Distrito;Fecha de retorno;País;Consentimiento;Acepta compartir;Servicio;Fecha de referencia;Proveedor;Estado\n\
         Ana;Ruiz;F;Jiquilisco;10/07/2026;US;sí;sí;Atención psicosocial;12/07/2026;{p};completada\n\
         Beto;Cruz;M;Jiquilisco;11/07/2026;US;sí;no;Formación vocacional;;{p};enviada\n\
         Caro;Paz;F;Jiquilisco;12/07/2026;US;sí;sí;Astrología;;;\n\
         Dani;Luna;M;Jiquilisco;13/07/2026;US;no;;Salud;;;\n\
         Eva;Sol;F;Jiquilisco;14/07/2026;US;sí;sí;Empleo;;Proveedor Inventado;aceptada\n"
    );
    let file = source(text.into_bytes(), "referencias.csv");
    let done = s
        .import_commit(&file, &ImportMapping::default(), now())
        .unwrap();
    let row = |n: u32| outcome_of(&done.rows, n);
    assert_eq!(
        (done.new_persons, done.refused, done.referrals),
        (3, 2, 2),
        "{:#?}",
        done.rows
    );
    assert!(row(4).reasons[0].contains("no es un servicio conocido"));
    assert!(row(6).reasons[0].contains("no está en el directorio"));
    assert!(
        row(3).notes[0].contains("como «propuesta»"),
        "{:?}",
        row(3).notes
    );
    assert!(row(5).notes[0].contains("consentimiento de registro"));

    let today = today_in_el_salvador(now());
    let id_of = |name: &str| {
        s.caseload(
            &CaseQuery {
                text: name.into(),
                ..Default::default()
            },
            today,
        )
        .unwrap()
        .rows[0]
            .id
    };
    let ana = s.referrals_of(id_of("Ana Ruiz")).unwrap();
    assert_eq!(ana.len(), 1);
    let r = &ana[0].referral;
    assert_eq!(
        r.status(),
        reintegra_core::referral::ReferralStatus::Completed
    );
    assert_eq!(r.provider, Some(provider.id));
    assert_eq!(today_in_el_salvador(r.history[0].at), day(2026, 7, 12));
    let beto = s.referrals_of(id_of("Beto Cruz")).unwrap();
    assert_eq!(
        beto[0].referral.status(),
        reintegra_core::referral::ReferralStatus::Proposed,
        "not sent without consent to share"
    );

    // Again: the referrals are there already.
    let again = s
        .import_commit(&file, &ImportMapping::default(), now())
        .unwrap();
    assert_eq!(
        (again.new_persons, again.referrals),
        (0, 0),
        "{:#?}",
        again.rows
    );
    assert_eq!(s.referrals_of(id_of("Ana Ruiz")).unwrap().len(), 1);
}

#[test]
fn an_import_is_undone_whole_while_none_of_it_has_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let file = source(messy_xlsx(), "retornados.xlsx");
    let pending = s.status().unwrap().pending_changes;
    let before = s
        .caseload(&CaseQuery::default(), today_in_el_salvador(now()))
        .unwrap()
        .total;
    let done = s
        .import_commit(&file, &ImportMapping::default(), now())
        .unwrap();
    assert!(done.new_persons > 0 && done.returns_added > 0, "{done:?}");
    let import = done.import_id.clone().unwrap();
    assert!(s.status().unwrap().pending_changes > pending);

    let undone = s.import_undo(&import, now()).unwrap();
    assert!(
        undone > done.new_persons,
        "forms, returns and audit entries: {undone}"
    );
    let after = s
        .caseload(&CaseQuery::default(), today_in_el_salvador(now()))
        .unwrap();
    assert_eq!(after.total, before, "the new forms are gone");
    assert_eq!(
        s.status().unwrap().pending_changes,
        pending + 1,
        "only the undo's own audit entry waits to sync"
    );
    let e = s.import_undo(&import, now()).unwrap_err();
    assert_eq!(e.code(), "cannot_undo");
    assert!(e.to_string().contains("deshacer"), "{e}");

    // The same file again imports as the first time: nothing of it was left behind.
    let again = s
        .import_commit(&file, &ImportMapping::default(), now())
        .unwrap();
    assert_eq!(again.new_persons, done.new_persons);
    assert_eq!(again.returns_added, done.returns_added);
}
