//! `reintegra-bench dedup-generate` and `reintegra-bench dedup-score`: the dedup evaluation on
//! files, so that any ranking can be scored — the app's `reintegra dedup`, or another tool
//! writing the same results format. Formats: docs/dedup.md.
//!
//! ```sh
//! reintegra-bench dedup-generate --persons 100000 --queries 5000 --seed 42 --out-dir DIR
//! reintegra dedup --records DIR/records.jsonl --queries DIR/queries.jsonl --out DIR/results.jsonl
//! reintegra-bench dedup-score --results DIR/results.jsonl --labels DIR/labels.jsonl
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use reintegra_dedup::MATCH_THRESHOLD;
use reintegra_dedup_eval::eval::{self, Ranked};
use reintegra_dedup_eval::generate::{self, Label};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Persons in records.jsonl.
    #[arg(long, default_value_t = 10_000)]
    persons: usize,
    /// Labelled queries (70 % duplicates with variations, 20 % same name other person, 10 % new
    /// people).
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Seed (the same parameters give the same data).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Probability that a duplicate carries a second variation in another field.
    #[arg(long, default_value_t = 0.25)]
    second_variation: f64,
    /// Output directory (created if missing): records.jsonl, queries.jsonl, labels.jsonl.
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Output of `reintegra dedup`: {"query_id", "candidates": [{"id", "score"}, ...]} per line.
    #[arg(long)]
    results: PathBuf,
    /// labels.jsonl of `dedup-generate` (or your own: {"query_id", "match_id", "kind"}).
    #[arg(long)]
    labels: PathBuf,
    /// Match threshold.
    #[arg(long, default_value_t = MATCH_THRESHOLD)]
    threshold: f32,
    /// Print the per-variation breakdown.
    #[arg(long)]
    by_kind: bool,
}

/// Reads a JSONL file: one value per non-blank line; errors name the file and line.
fn read_jsonl<T: DeserializeOwned>(
    path: &Path,
    mut check: impl FnMut(&T) -> Result<(), String>,
) -> Result<Vec<T>, String> {
    let file =
        File::open(path).map_err(|e| format!("no se puede abrir {}: {e}", path.display()))?;
    let mut items = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| format!("{}:{n}: no se puede leer: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        if !line.trim_start().starts_with('{') {
            return Err(format!(
                "{}:{n}: línea inválida: se espera un objeto JSON {{...}}",
                path.display()
            ));
        }
        let item: T = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{n}: línea inválida: {e}", path.display()))?;
        check(&item).map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        items.push(item);
    }
    Ok(items)
}

fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("no se puede escribir {}: {e}", path.display());
    let file = File::create(path).map_err(|e| err(&e))?;
    let mut w = BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut w, item).map_err(|e| err(&e))?;
        w.write_all(b"\n").map_err(|e| err(&e))?;
    }
    w.flush().map_err(|e| err(&e))
}

pub fn generate(args: GenerateArgs, out: &mut dyn Write) -> Result<(), String> {
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("no se puede crear {}: {e}", dir.display()))?;
    let data = generate::generate(&generate::Config {
        persons: args.persons,
        queries: args.queries,
        seed: args.seed,
        second_variation: args.second_variation,
        ..generate::Config::default()
    });
    write_jsonl(&dir.join("records.jsonl"), &data.records)?;
    write_jsonl(&dir.join("queries.jsonl"), &data.queries)?;
    write_jsonl(&dir.join("labels.jsonl"), &data.labels)?;
    writeln!(
        out,
        "{} registros, {} consultas → {}/{{records,queries,labels}}.jsonl",
        data.records.len(),
        data.queries.len(),
        dir.display()
    )
    .map_err(|e| e.to_string())
}

pub fn score(args: ScoreArgs, out: &mut dyn Write) -> Result<(), String> {
    let results: Vec<Ranked> = read_jsonl(&args.results, |r: &Ranked| {
        if r.candidates.iter().any(|c| !c.score.is_finite()) {
            return Err("puntaje no numérico".into());
        }
        Ok(())
    })?;
    let labels: Vec<Label> = read_jsonl(&args.labels, |_: &Label| Ok(()))?;
    let m = eval::evaluate(&results, &labels, args.threshold);
    let text = if args.by_kind {
        m.to_string()
    } else {
        m.to_string()
            .lines()
            .take(5)
            .map(|l| format!("{l}\n"))
            .collect()
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::ffi::OsString;
    use std::process::ExitCode;

    use super::*;

    /// generate → the app's `reintegra dedup` → score: the files fit together end to end.
    #[test]
    fn generate_dedup_score_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut msg = Vec::new();
        generate(
            GenerateArgs {
                persons: 3000,
                queries: 300,
                seed: 7,
                second_variation: 0.25,
                out_dir: dir.path().to_path_buf(),
            },
            &mut msg,
        )
        .unwrap();
        let msg = String::from_utf8(msg).unwrap();
        assert!(msg.contains("3000 registros"), "{msg}");
        let labels = std::fs::read_to_string(dir.path().join("labels.jsonl")).unwrap();
        assert_eq!(labels.lines().count(), 300);
        let first: serde_json::Value =
            serde_json::from_str(labels.lines().next().unwrap()).unwrap();
        assert!(first.get("query_id").is_some() && first.get("match_id").is_some());

        let path = |name: &str| dir.path().join(name).into_os_string();
        let code = reintegra_cli::run([
            OsString::from("reintegra"),
            "dedup".into(),
            "--records".into(),
            path("records.jsonl"),
            "--queries".into(),
            path("queries.jsonl"),
            "--top".into(),
            "10".into(),
            "--out".into(),
            path("results.jsonl"),
        ]);
        assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::SUCCESS));

        let mut report = Vec::new();
        score(
            ScoreArgs {
                results: dir.path().join("results.jsonl"),
                labels: dir.path().join("labels.jsonl"),
                threshold: MATCH_THRESHOLD,
                by_kind: false,
            },
            &mut report,
        )
        .unwrap();
        let report = String::from_utf8(report).unwrap();
        let value = |name: &str| -> f64 {
            let line = report.lines().find(|l| l.starts_with(name)).unwrap();
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        assert!(value("recall@1:") > 0.95, "{report}");
        assert!(value("recall@10:") > 0.97, "{report}");
        assert!(value("top-1 accepted") > 0.9, "{report}");
        assert!(value("false-match rate (same name") < 0.05, "{report}");
    }

    #[test]
    fn score_reports_bad_lines_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let labels = write(
            "lab.jsonl",
            "{\"query_id\":\"q1\",\"match_id\":\"a\",\"kind\":\"x\"}\n",
        );
        let args = |results: PathBuf, labels: &Path| ScoreArgs {
            results,
            labels: labels.to_path_buf(),
            threshold: MATCH_THRESHOLD,
            by_kind: false,
        };
        let no_score = write(
            "res.jsonl",
            "{\"query_id\":\"q1\",\"candidates\":[{\"id\":\"a\"}]}\n",
        );
        let err = score(args(no_score, &labels), &mut Vec::new()).unwrap_err();
        assert!(
            err.contains("res.jsonl:1:") && err.contains("score"),
            "{err}"
        );
        let not_json = write("bad.jsonl", "\n{not json\n");
        let err = score(args(not_json, &labels), &mut Vec::new()).unwrap_err();
        assert!(
            err.contains("bad.jsonl:2:") && err.contains("línea inválida"),
            "{err}"
        );
        let err = score(
            args(dir.path().join("missing.jsonl"), &labels),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.contains("no se puede abrir"), "{err}");
    }
}
