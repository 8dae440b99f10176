//! CLI tests: the JSONL formats and bad input. The round trip generate → `reintegra dedup` →
//! score is a test of `reintegra-bench` (crates/bench/src/dedup_files.rs).

use std::path::Path;

use reintegra_dedup::MATCH_THRESHOLD;

use super::*;

fn cli(args: &[&str]) -> Result<String, String> {
    let argv = std::iter::once("reintegra").chain(args.iter().copied());
    let parsed = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    execute(parsed.command, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

const RECORDS: &str = r#"{"id":"r1","given_names":"María José","first_surname":"Hernández","second_surname":"López","sex":"F","birth_date":"1990-05-17","dui":"01234567-8","district":"San Salvador Centro","phone":"7123-4567"}
{"id":"r2","given_names":"José Luis","first_surname":"Martínez","second_surname":"Rivas","sex":"M","birth_date":"1985","dui":"","district":"Soyapango","phone":""}

{"id":"r3","given_names":"María José","first_surname":"Hernández","second_surname":"López","sex":"F","birth_date":"1972-11-02","dui":"04567890-3","district":"San Miguel Centro","phone":""}
"#;

#[test]
fn subcommands_are_recognised() {
    for s in ["dedup", "sync", "--help"] {
        assert!(is_subcommand(s), "{s}");
    }
    // The synthetic data and its scoring are `reintegra-bench` subcommands, not in the app.
    for s in ["dedup-generate", "dedup-score"] {
        assert!(!is_subcommand(s), "{s}");
    }
    assert!(!is_subcommand("--devtools"));
    assert!(!is_subcommand(""));
}

#[test]
fn dedup_writes_ranked_candidates_without_the_query_itself() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "r.jsonl", RECORDS);
    let q = write(
        dir.path(),
        "q.jsonl",
        concat!(
            r#"{"id":"q1","given_names":"MARIA","first_surname":"Lopez","second_surname":"Hernandez","sex":"F","birth_date":"1990-05-17","dui":"","district":"San Salvador Centro","phone":null}"#,
            "\n",
            r#"{"id":"r2","given_names":"Jose Luis","first_surname":"Martinez","second_surname":"","sex":"M","birth_date":"1985-03-04","dui":"","district":"Soyapango","phone":""}"#,
            "\n"
        ),
    );
    let out = dir.path().join("out.jsonl");
    let msg = cli(&[
        "dedup",
        "--records",
        &r,
        "--queries",
        &q,
        "--top",
        "10",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(msg.contains("3 registros"), "{msg}");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["query_id"], "q1");
    let cands = lines[0]["candidates"].as_array().unwrap();
    assert_eq!(cands[0]["id"], "r1");
    let scores: Vec<f64> = cands.iter().map(|c| c["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores[0] >= f64::from(MATCH_THRESHOLD));
    assert_eq!(
        cands[0].as_object().unwrap().len(),
        2,
        "only id and score by default"
    );
    // The query's own id is left out even though r2 is in the records.
    assert_eq!(lines[1]["query_id"], "r2");
    assert!(lines[1]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != "r2"));
}

#[test]
fn dedup_can_add_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "r.jsonl", RECORDS);
    let q = write(
        dir.path(),
        "q.jsonl",
        r#"{"id":"q1","given_names":"Maria Jose","first_surname":"Hernandez","second_surname":"Lopez","birth_date":"1990-05-17","dui":"01234567-8"}"#,
    );
    let out = dir.path().join("out.jsonl");
    cli(&[
        "dedup",
        "--records",
        &r,
        "--queries",
        &q,
        "--out",
        out.to_str().unwrap(),
        "--reasons",
    ])
    .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    let reasons = v["candidates"][0]["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r == "mismo DUI"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r == "misma fecha de nacimiento"),
        "{reasons:?}"
    );
}

#[test]
fn bad_lines_are_reported_with_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let q = write(dir.path(), "q.jsonl", r#"{"id":"q1","given_names":"Ana"}"#);
    let out = dir.path().join("out.jsonl");
    let out = out.to_str().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("{\"id\":\"a\",\"given_names\":\"Ana\"}\n{not json\n", "r.jsonl:2:", "línea inválida"),
        (
            "{\"id\":\"a\",\"given_names\":\"Ana\"}\n\n{\"id\":\"b\",\"given_names\":\"Eva\",\"dui\":\"1234\"}\n",
            "r.jsonl:3:",
            "DUI inválido",
        ),
        (
            "{\"id\":\"a\",\"given_names\":\"Ana\",\"birth_date\":\"1990-13-01\"}\n",
            "r.jsonl:1:",
            "fecha de nacimiento inválida",
        ),
        ("{\"given_names\":\"Ana\"}\n", "r.jsonl:1:", "id"),
        ("{\"id\":\"a\",\"given_names\":\"\"}\n", "r.jsonl:1:", "sin nombre"),
        (
            "{\"id\":\"a\",\"given_names\":\"Ana\"}\n{\"id\":\"a\",\"given_names\":\"Eva\"}\n",
            "r.jsonl:2:",
            "id repetido",
        ),
        ("[1,2]\n", "r.jsonl:1:", "línea inválida"),
    ];
    for (text, place, reason) in cases {
        let r = write(dir.path(), "r.jsonl", text);
        let err = cli(&["dedup", "--records", &r, "--queries", &q, "--out", out]).unwrap_err();
        assert!(
            err.contains(place) && err.contains(reason),
            "{text:?} → {err}"
        );
    }
    // Bad queries too.
    let r = write(dir.path(), "r.jsonl", RECORDS);
    let q = write(
        dir.path(),
        "q.jsonl",
        "{\"id\":\"q1\",\"given_names\":\"Ana\",\"birth_date\":\"17/05/1990\"}\n",
    );
    let err = cli(&["dedup", "--records", &r, "--queries", &q, "--out", out]).unwrap_err();
    assert!(
        err.contains("q.jsonl:1:") && err.contains("17/05/1990"),
        "{err}"
    );
    // Missing file.
    let err = cli(&[
        "dedup",
        "--records",
        "/nonexistent/r.jsonl",
        "--queries",
        &q,
        "--out",
        out,
    ])
    .unwrap_err();
    assert!(err.contains("no se puede abrir"), "{err}");
    // Missing argument: a usage error from clap, exit code 2, no panic.
    let code = run(["reintegra", "dedup", "--records", &r].map(OsString::from));
    assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::from(2)));
}

#[test]
fn export_writes_the_file_the_extension_names_and_refuses_a_bad_period() {
    use reintegra_api::{ArrivalInput, KdfParams, Session};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let s = Session::open(&data, KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", "clave-segura-de-prueba", chrono::Utc::now())
        .unwrap();
    let district = reintegra_core::territory::Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "Jiquilisco")
        .unwrap()
        .district_code
        .clone();
    s.register_arrival(
        &ArrivalInput {
            beneficiary_type: Default::default(),
            first_contact: Default::default(),
            given_names: "=HYPERLINK(\"x\")".into(),
            first_surname: "López".into(),
            second_surname: String::new(),
            sex: Some(reintegra_core::person::Sex::Female),
            birth_date: None,
            dui: String::new(),
            other_document: None,
            phone: "7123-4567".into(),
            education: None,
            occupation: String::new(),
            origin_district: String::new(),
            destination_district: district,
            return_event: None,
            vulnerabilities: vec![],
            consent_registration: true,
            consent_referral_sharing: false,
            family_of: None,
            caseworker: None,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    s.lock(chrono::Utc::now());
    drop(s);
    // The only test that sets it; `reintegra sync`'s tests are in another binary.
    std::env::set_var(sync::PASSPHRASE_ENV, "clave-segura-de-prueba");
    let data = data.to_string_lossy().into_owned();
    let year = chrono::Datelike::year(&chrono::Utc::now()).to_string();
    let csv = dir.path().join("casos.csv");
    let printed = cli(&[
        "export",
        "--data",
        &data,
        "--user",
        "Central",
        "cases",
        "--period",
        &year,
        "--out",
        &csv.to_string_lossy(),
    ])
    .unwrap();
    assert!(printed.contains("exportado: 1 filas"), "{printed}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");

    let xlsx = dir.path().join("ind.xlsx");
    let printed = cli(&[
        "export",
        "--data",
        &data,
        "--user",
        "Central",
        "indicators",
        "--period",
        &year,
        "--deidentified",
        "--out",
        &xlsx.to_string_lossy(),
    ])
    .unwrap();
    assert!(printed.contains("(anonimizado)"));
    assert!(
        std::fs::read(&xlsx).unwrap().starts_with(b"PK"),
        "an XLSX is a zip"
    );

    let bad = cli(&[
        "export",
        "--data",
        &data,
        "--user",
        "Central",
        "indicators",
        "--period",
        "2026-Q5",
        "--out",
        "x.xlsx",
    ]);
    assert!(bad.unwrap_err().contains("período inválido"));
    let bad = cli(&[
        "export",
        "--data",
        &data,
        "--user",
        "Central",
        "referrals",
        "--out",
        "x.pdf",
    ]);
    assert!(bad.unwrap_err().contains(".xlsx o .csv"));
}

#[test]
fn import_reads_a_csv_with_a_mapping_lists_refused_rows_and_writes_one_batch() {
    use reintegra_api::{CaseQuery, KdfParams, Session};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let s = Session::open(&data, KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", "clave-segura-de-prueba", chrono::Utc::now())
        .unwrap();
    s.lock(chrono::Utc::now());
    drop(s);
    // The same value as the export test sets (tests of this binary may run at once).
    std::env::set_var(sync::PASSPHRASE_ENV, "clave-segura-de-prueba");
    let csv = write(
        dir.path(),
        "oficina.csv",
        "Listado de la oficina;;;;;\n\
         Nombre;Apellidos;Sexo;Municipio;Fecha;Pais;Acepta\n\
         Marta;Rivas;F;Jiquilisco;15/07/2026;USA;si\n\
         Pedro;Díaz;X;Jiquilisco;16/07/2026;USA;si\n\
         @SUM(A1);López;F;Jiquilisco;16/07/2026;USA;si\n",
    );
    let mapping = write(
        dir.path(),
        "mapeo.toml",
        "header_row = 2\n\n[columns]\n\"Nombre\" = \"given_names\"\n\"Apellidos\" = \"first_surname\"\n\"Municipio\" = \"destination_district\"\n\"Acepta\" = \"consent_registration\"\n",
    );
    let data_s = data.to_string_lossy().into_owned();
    let errors = dir.path().join("errores.xlsx");
    let args = |dry: bool| {
        let mut a = vec![
            "import".to_string(),
            "--data".into(),
            data_s.clone(),
            "--user".into(),
            "Central".into(),
            csv.clone(),
            "--mapping".into(),
            mapping.clone(),
            "--errors".into(),
            errors.to_string_lossy().into_owned(),
        ];
        if dry {
            a.push("--dry-run".into());
        }
        a
    };
    let run_with = |a: Vec<String>| cli(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let printed = run_with(args(true)).unwrap();
    assert!(printed.contains("filas leídas: 3"), "{printed}");
    assert!(printed.contains("fichas nuevas: 1"), "{printed}");
    assert!(printed.contains("rechazadas: 2"), "{printed}");
    assert!(
        printed.contains("fila 4: Sexo: «X» no se entiende"),
        "{printed}"
    );
    assert!(
        printed.contains("fila 5: Nombres:") && printed.contains("fórmula"),
        "{printed}"
    );
    assert!(printed.contains("prueba: no se escribió nada"), "{printed}");
    assert!(std::fs::read(&errors).unwrap().starts_with(b"PK"));

    let printed = run_with(args(false)).unwrap();
    assert!(
        printed.contains("importación escrita en un solo lote"),
        "{printed}"
    );
    let s = Session::open(&data, KdfParams::INSECURE_FAST).unwrap();
    s.unlock("Central", "clave-segura-de-prueba", chrono::Utc::now())
        .unwrap();
    let today = reintegra_api::today_in_el_salvador(chrono::Utc::now());
    assert_eq!(s.caseload(&CaseQuery::default(), today).unwrap().total, 1);
    drop(s);

    // A file it cannot read: an error (non-zero exit), nothing written.
    let bad = write(dir.path(), "notas.txt.docx", "hola");
    let e = cli(&["import", "--data", &data_s, "--user", "Central", &bad]).unwrap_err();
    assert!(e.contains(".xlsx o .csv"), "{e}");
    let e = cli(&[
        "import",
        "--data",
        &data_s,
        "--user",
        "Central",
        "--mapping",
        &csv,
        &csv,
    ])
    .unwrap_err();
    assert!(e.contains("el mapeo"), "{e}");
}
