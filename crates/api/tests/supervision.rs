//! Supervision on real encrypted stores: the indicators (scope by office), the office-wide
//! referral and follow-up lists, and the exports.
#![allow(clippy::unwrap_used)] // tests may unwrap

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, write_csv, write_xlsx, ApiError, ArrivalInput, Cell, ExportFormat,
    ExportRequest, ExportWhat, FollowUpInput, FollowUpQuery, KdfParams, NewUser, ReferralInput,
    ReferralQuery, ReturnInput, Session, Table,
};
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::indicators::{IndicatorFilter, Period};
use reintegra_core::person::{Person, Sex};
use reintegra_core::referral::{Priority, ReferralStatus, ServiceType};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;

const PASS: &str = "clave-segura-de-prueba";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 20, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn district(name: &str) -> (String, String) {
    let place = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == name)
        .unwrap();
    (place.district_code.clone(), place.municipality_code.clone())
}

fn arrival(given: &str, surname: &str, sex: Sex, district_name: &str, phone: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: surname.into(),
        second_surname: String::new(),
        sex: Some(sex),
        birth_date: None,
        dui: String::new(),
        other_document: None,
        phone: phone.into(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: district(district_name).0,
        return_event: Some(ReturnInput {
            date: today() - Duration::days(10),
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
        consent_referral_sharing: true,
        family_of: None,
        caseworker: None,
    }
}

/// A central first admin (also supervisor) with three people: two in Jiquilisco (Usulután
/// Oeste), one in San Salvador; a referral and a follow-up each; and a supervisor of Usulután
/// Oeste.
pub struct Office {
    pub s: Session,
    pub persons: Vec<Person>,
}

pub fn office(dir: &std::path::Path) -> Office {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    s.create_user(
        &NewUser {
            name: "Supervisora Oeste".into(),
            login: "oeste".into(),
            role: Role::Supervisor,
            office_municipality: Some(district("Jiquilisco").1),
            also_supervisor: false,
            passphrase: PASS.into(),
        },
        now(),
    )
    .unwrap();
    let people = [
        arrival(
            "=HYPERLINK(\"http://x\")",
            "López",
            Sex::Female,
            "Jiquilisco",
            "7123-4567",
        ),
        arrival("Kevin", "+1 Díaz", Sex::Male, "Jiquilisco", "7000-0001"),
        arrival("Rosa", "@SUM(A1)", Sex::Female, "San Salvador", "7000-0002"),
    ];
    let provider = s.providers().unwrap().remove(0);
    let mut persons = Vec::new();
    for (n, a) in people.iter().enumerate() {
        let p = s.register_arrival(a, now()).unwrap().person;
        let r = s
            .create_referral(
                &ReferralInput {
                    person: p.id,
                    service_type: if n == 2 {
                        ServiceType::Vocational
                    } else {
                        ServiceType::Psychosocial
                    },
                    provider: Some(provider.id),
                    priority: Priority::Normal,
                    reason: "-1+1 apoyo".into(),
                    business_idea: String::new(),
                    seed_capital_usd: None,
                },
                now(),
            )
            .unwrap();
        if n == 0 {
            s.move_referral(r.id, ReferralStatus::Sent, None, None, now())
                .unwrap();
        }
        s.schedule_follow_up(
            &FollowUpInput {
                person: p.id,
                due_on: today() + Duration::days(n as i64),
                channel: FollowUpChannel::Phone,
                referral: None,
            },
            now(),
        )
        .unwrap();
        persons.push(p);
    }
    Office { s, persons }
}

pub fn q3() -> IndicatorFilter {
    IndicatorFilter::period(Period::Quarter {
        year: 2026,
        quarter: 3,
    })
}

pub fn sign_in_as_office_supervisor(s: &Session) {
    s.lock(now());
    s.unlock("oeste", PASS, now()).unwrap();
    s.change_own_passphrase(PASS, "otra-clave-segura-2")
        .unwrap();
}

#[test]
fn indicators_from_the_store_follow_the_office_scope() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let all = o.s.indicators(&q3(), now()).unwrap();
    assert_eq!(
        (
            all.assisted_people,
            all.return_events,
            all.new_cases,
            all.open_cases
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(
        (all.referrals, all.referred_people, all.completed_services),
        (3, 3, 0)
    );
    assert_eq!(all.median_days_to_first_referral, Some(10.0));
    let psy = &all.by_service[0];
    assert_eq!(
        (psy.referrals, psy.by_status[0], psy.by_status[1]),
        (2, 1, 1)
    );
    assert_eq!(all.by_sex[0].people, 2, "two women");

    let mut female = q3();
    female.sex = Some(Sex::Female);
    female.municipality = Some(district("Jiquilisco").1);
    assert_eq!(o.s.indicators(&female, now()).unwrap().assisted_people, 1);

    let mut bad = q3();
    bad.period = Period::Month {
        year: 2026,
        month: 13,
    };
    assert!(matches!(
        o.s.indicators(&bad, now()),
        Err(ApiError::InvalidPeriod)
    ));

    // The office's supervisor sees only Usulután Oeste, and may not ask for another office.
    sign_in_as_office_supervisor(&o.s);
    let mine = o.s.indicators(&q3(), now()).unwrap();
    assert_eq!((mine.assisted_people, mine.referrals), (2, 2));
    assert_eq!(mine.filter.municipality, Some(district("Jiquilisco").1));
    let mut other = q3();
    other.municipality = Some(district("San Salvador").1);
    assert!(matches!(
        o.s.indicators(&other, now()),
        Err(ApiError::Forbidden)
    ));
}

#[test]
fn office_wide_lists_are_paged_filtered_and_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let later = now() + Duration::days(3);
    let all =
        o.s.office_referrals(&ReferralQuery::default(), later)
            .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.rows.iter().map(|r| r.days_waiting).collect::<Vec<_>>(),
        [3, 3, 3]
    );
    let sent =
        o.s.office_referrals(
            &ReferralQuery {
                status: Some(ReferralStatus::Sent),
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(sent.total, 1);
    assert_eq!(sent.rows[0].person, o.persons[0].id);
    assert!(!sent.rows[0].provider_name.is_empty());
    let vocational =
        o.s.office_referrals(
            &ReferralQuery {
                service_type: Some(ServiceType::Vocational),
                open_only: true,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(vocational.total, 1);
    let second_page =
        o.s.office_referrals(
            &ReferralQuery {
                offset: 2,
                limit: 2,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!((second_page.total, second_page.rows.len()), (3, 1));
    let waiting = ReferralQuery {
        min_days_waiting: Some(4),
        ..Default::default()
    };
    assert_eq!(o.s.office_referrals(&waiting, later).unwrap().total, 0);

    // Follow-ups were due today, tomorrow and the day after.
    let due = |q: FollowUpQuery| o.s.office_follow_ups(&q, now()).unwrap();
    assert_eq!(due(FollowUpQuery::default()).total, 1, "due today");
    let week = due(FollowUpQuery {
        within_days: 7,
        ..Default::default()
    });
    assert_eq!(week.total, 3);
    assert!(week.rows.windows(2).all(|w| w[0].due_on <= w[1].due_on));
    let overdue =
        o.s.office_follow_ups(
            &FollowUpQuery {
                overdue_only: true,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(overdue.total, 3);
    assert_eq!(overdue.rows[0].days_overdue, 3, "most overdue first");

    sign_in_as_office_supervisor(&o.s);
    assert_eq!(
        o.s.office_referrals(&ReferralQuery::default(), later)
            .unwrap()
            .total,
        2
    );
    let mine =
        o.s.office_follow_ups(
            &FollowUpQuery {
                within_days: 7,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(mine.total, 2, "San Salvador's is not this office's");
}

fn read_xlsx(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            let rows = range.rows().map(|r| r.to_vec()).collect();
            (name, rows)
        })
        .collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn xlsx_round_trip_reads_back_every_cell_and_neutralises_formulas() {
    let dangerous = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1",
        "-1+1",
        "@SUM(A1:A9)",
        "\tTab",
        "\rCR",
    ];
    let mut rows: Vec<Vec<Cell>> = dangerous
        .iter()
        .map(|d| {
            vec![
                Cell::Text(d.to_string()),
                Cell::Number(1.5),
                Cell::Date(day(2026, 7, 1)),
            ]
        })
        .collect();
    rows.push(vec![
        Cell::Text("Peña Ñúñez".into()),
        Cell::Number(53600.0),
        Cell::Empty,
    ]);
    let tables = vec![
        Table {
            title: "Filtros".into(),
            headers: vec!["Filtro".into(), "Valor".into()],
            rows: vec![vec![
                Cell::Text("Período".into()),
                Cell::Text("2026-Q3".into()),
            ]],
        },
        Table {
            title: "Datos: [prueba]".into(),
            headers: vec!["Texto".into(), "Número".into(), "Fecha".into()],
            rows: rows.clone(),
        },
    ];
    let bytes = write_xlsx(&tables).unwrap();
    let sheets = read_xlsx(&bytes);
    assert_eq!(sheets.len(), 2);
    assert_eq!(sheets[1].0, "Datos prueba", "no [ ] : in a sheet name");
    for (table, (_, read)) in tables.iter().zip(&sheets) {
        let header: Vec<Data> = table
            .headers
            .iter()
            .map(|h| Data::String(h.clone()))
            .collect();
        assert_eq!(read[0], header);
        assert_eq!(read.len(), table.rows.len() + 1);
        for (cells, got) in table.rows.iter().zip(&read[1..]) {
            for (i, cell) in cells.iter().enumerate() {
                let got = got.get(i).cloned().unwrap_or(Data::Empty);
                match cell {
                    Cell::Text(s) => assert_eq!(got, Data::String(s.clone()), "text stays text"),
                    Cell::Number(n) => assert_eq!(got, Data::Float(*n)),
                    Cell::Date(d) => match got {
                        Data::DateTime(dt) => {
                            assert_eq!(
                                dt.as_f64(),
                                (*d - day(1899, 12, 30)).num_days() as f64,
                                "the Excel serial of the day"
                            )
                        }
                        other => panic!("a date is a date: {other:?}"),
                    },
                    Cell::Empty => assert_eq!(got, Data::Empty),
                }
            }
        }
    }
    // No cell holds a formula: the dangerous texts are strings (with Excel's quote prefix).
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let formulas = book.worksheet_formula("Datos prueba").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));

    let csv = String::from_utf8(write_csv(&tables).unwrap()).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    for d in dangerous {
        assert!(
            !csv.lines().any(|l| l.starts_with(d)),
            "{d} is not a cell start"
        );
    }
    assert!(csv.contains("'+1,1.5,2026-07-01"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1.5,2026-07-01"));
    assert!(csv.contains("Peña Ñúñez,53600,"));
}

#[test]
fn exports_respect_scope_deidentify_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let pending = o.s.status().unwrap().pending_changes;
    let cases = ExportRequest {
        what: ExportWhat::Cases { filter: q3() },
        format: ExportFormat::Xlsx,
        deidentified: false,
    };
    let file = o.s.export(&cases, now()).unwrap();
    assert_eq!(file.file_name, "casos-2026-Q3.xlsx");
    assert_eq!(file.rows, 3);
    assert_eq!(
        o.s.status().unwrap().pending_changes,
        pending + 1,
        "one audit entry"
    );
    let sheets = read_xlsx(&file.bytes);
    assert_eq!(sheets[0].0, "Filtros");
    let names: Vec<Data> = sheets[1].1[1..].iter().map(|r| r[0].clone()).collect();
    assert!(names.contains(&Data::String("=HYPERLINK(\"http://x\") López".into())));
    assert!(names.contains(&Data::String("Rosa @SUM(A1)".into())));

    // De-identified: no name, DUI or phone of anyone; small cells suppressed.
    for format in [ExportFormat::Xlsx, ExportFormat::Csv] {
        for what in [
            ExportWhat::Cases { filter: q3() },
            ExportWhat::Indicators { filter: q3() },
            ExportWhat::Referrals {
                query: Default::default(),
            },
            ExportWhat::FollowUps {
                query: reintegra_api::FollowUpQuery {
                    within_days: 30,
                    ..Default::default()
                },
            },
        ] {
            let request = ExportRequest {
                what,
                format,
                deidentified: true,
            };
            let file = o.s.export(&request, now()).unwrap();
            let text = match format {
                ExportFormat::Csv => String::from_utf8(file.bytes.clone()).unwrap(),
                ExportFormat::Xlsx => format!("{:?}", read_xlsx(&file.bytes)),
            };
            for p in &o.persons {
                for secret in [&p.given_names, &p.first_surname, &p.phone] {
                    assert!(!text.contains(secret.as_str()), "{secret} in {request:?}");
                }
            }
            assert!(file.file_name.contains("-anonimizado."));
            if matches!(request.what, ExportWhat::Indicators { .. }) {
                assert!(text.contains("<5"), "3 people is a small cell");
                assert!(!text.contains("Personas atendidas en recepción\",\"personas\",3"));
            }
        }
    }
    let indicators = ExportRequest {
        what: ExportWhat::Indicators { filter: q3() },
        format: ExportFormat::Csv,
        deidentified: false,
    };
    let csv = String::from_utf8(o.s.export(&indicators, now()).unwrap().bytes).unwrap();
    assert!(csv.contains("Personas atendidas en recepción,personas,3"));
    assert!(csv.contains("Usulután,Usulután Oeste,Jiquilisco,2,2"));

    // The office's supervisor exports only their office, and never another's.
    sign_in_as_office_supervisor(&o.s);
    let file = o.s.export(&cases, now()).unwrap();
    assert_eq!(file.rows, 2);
    let mut other = q3();
    other.municipality = Some(district("San Salvador").1);
    let request = ExportRequest {
        what: ExportWhat::Cases { filter: other },
        format: ExportFormat::Csv,
        deidentified: true,
    };
    assert!(matches!(
        o.s.export(&request, now()),
        Err(ApiError::Forbidden)
    ));
}

#[test]
fn a_restricted_form_is_in_no_list_of_persons_but_still_counted() {
    use reintegra_core::consent::ConsentPurpose;
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let rosa = o
        .persons
        .iter()
        .find(|p| p.given_names.contains("Rosa"))
        .unwrap();
    let registration = rosa
        .consents
        .iter()
        .find(|c| c.purpose == ConsentPurpose::Registration)
        .unwrap();
    let named_referrals = ExportRequest {
        what: ExportWhat::Referrals {
            query: Default::default(),
        },
        format: ExportFormat::Csv,
        deidentified: false,
    };
    let before = o.s.export(&named_referrals, now()).unwrap().bytes;
    assert!(
        String::from_utf8(before).unwrap().contains("Rosa"),
        "she has referrals"
    );
    let today = now().date_naive();
    o.s.withdraw_consent(rosa.id, registration.id, today, now())
        .unwrap();

    for deidentified in [false, true] {
        for what in [
            ExportWhat::Cases { filter: q3() },
            ExportWhat::Referrals {
                query: Default::default(),
            },
        ] {
            let request = ExportRequest {
                what,
                format: ExportFormat::Csv,
                deidentified,
            };
            let file = o.s.export(&request, now()).unwrap();
            let text = String::from_utf8(file.bytes).unwrap();
            assert!(!text.contains("Rosa"), "{request:?}: {text}");
            if let ExportWhat::Cases { .. } = request.what {
                assert_eq!(file.rows, 2, "Rosa's row is left out ({request:?})");
            }
        }
    }
    // The indicators name no one: Rosa was assisted, and still counts.
    let indicators = ExportRequest {
        what: ExportWhat::Indicators { filter: q3() },
        format: ExportFormat::Csv,
        deidentified: false,
    };
    let csv = String::from_utf8(o.s.export(&indicators, now()).unwrap().bytes).unwrap();
    assert!(
        csv.contains("Personas atendidas en recepción,personas,3"),
        "{csv}"
    );
}
