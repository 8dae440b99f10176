//! Headless subcommands of the `reintegra` binary. `reintegra` with no subcommand opens the window.
//!
//! - `reintegra dedup --records R.jsonl --queries Q.jsonl --top 10 --out results.jsonl`
//! - `reintegra sync --data DIR --user LOGIN [--enroll CODE --endpoint URL]` (a new address is
//!   a new enrollment: the token never travels to it)
//! - `reintegra export --data DIR --user LOGIN indicators|cases --period 2026-Q3 [--office CODE]
//!   [--deidentified] --out F.xlsx|F.csv` (also `referrals`, `follow-ups`)
//! - `reintegra import --data DIR --user LOGIN FILE.xlsx|FILE.csv [--mapping M.toml] [--dry-run]
//!   [--errors OUT.xlsx]` (docs/import.md)
//!
//! See docs/dedup.md and docs/sync.md. The synthetic data and the scoring of `reintegra dedup`'s
//! results are not in the app: `reintegra-bench dedup-generate` and `dedup-score`.

mod export;
mod import;
mod sync;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use reintegra_dedup::{Index, Record, SearchOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Whether `arg` (the first command-line argument) names a headless subcommand.
pub fn is_subcommand(arg: &str) -> bool {
    matches!(
        arg,
        "dedup" | "sync" | "export" | "import" | "help" | "--help" | "-h"
    )
}

/// Runs a headless subcommand; `args` includes the program name.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match execute(cli.command, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reintegra: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "reintegra",
    about = "Reintegra: subcomandos sin ventana (sin subcomando se abre la aplicación)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Busca duplicados: para cada consulta, los registros más parecidos, el mejor primero.
    Dedup {
        /// Registros (JSONL, una persona por línea).
        #[arg(long)]
        records: PathBuf,
        /// Consultas (JSONL, mismo formato).
        #[arg(long)]
        queries: PathBuf,
        /// Candidatos por consulta.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Resultados (JSONL): {"query_id", "candidates": [{"id", "score"}, ...]}.
        #[arg(long)]
        out: PathBuf,
        /// Añade a cada candidato las razones en palabras ("reasons").
        #[arg(long)]
        reasons: bool,
    },
    /// Sincroniza el almacén de este dispositivo con el servidor, sin ventana. La frase de
    /// acceso se pide en la terminal o se lee de REINTEGRA_PASSPHRASE.
    Sync {
        /// Carpeta de datos de la aplicación (el almacén cifrado).
        #[arg(long)]
        data: PathBuf,
        /// Usuario que desbloquea el almacén (o REINTEGRA_USER).
        #[arg(long)]
        user: Option<String>,
        /// Dirección del servidor (https://…); cambia la guardada.
        #[arg(long)]
        endpoint: Option<String>,
        /// Inscribe el dispositivo con este código de un solo uso antes de sincronizar.
        #[arg(long)]
        enroll: Option<String>,
        /// Nombre del dispositivo al inscribirlo.
        #[arg(long, default_value = "reintegra sync")]
        device_name: String,
    },
    /// Exporta indicadores, casos, referencias o seguimientos a XLSX o CSV (con su entrada de
    /// auditoría). La frase de acceso como en `sync`.
    Export {
        /// Carpeta de datos de la aplicación (el almacén cifrado).
        #[arg(long)]
        data: PathBuf,
        /// Usuario que desbloquea el almacén (o REINTEGRA_USER).
        #[arg(long)]
        user: Option<String>,
        #[command(subcommand)]
        what: export::What,
    },
    /// Importa personas y retornos de una planilla XLSX o CSV de la oficina, en un solo lote
    /// (con auditoría). La frase de acceso como en `sync`.
    Import {
        /// Carpeta de datos de la aplicación (el almacén cifrado).
        #[arg(long)]
        data: PathBuf,
        /// Usuario que desbloquea el almacén (o REINTEGRA_USER).
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        args: import::ImportArgs,
    },
}

fn execute(command: Command, out: &mut dyn Write) -> Result<(), String> {
    let user_of = |user: Option<String>| {
        user.or_else(|| std::env::var(sync::USER_ENV).ok())
            .ok_or("falta --user (o REINTEGRA_USER): el usuario que desbloquea el almacén")
    };
    match command {
        Command::Export { data, user, what } => export::run(&data, &user_of(user)?, what, out),
        Command::Import { data, user, args } => import::run(&data, &user_of(user)?, args, out),
        Command::Dedup {
            records,
            queries,
            top,
            out: out_path,
            reasons,
        } => dedup(&records, &queries, top, &out_path, reasons, out),
        Command::Sync {
            data,
            user,
            endpoint,
            enroll,
            device_name,
        } => sync::run(
            sync::SyncArgs {
                data: &data,
                user: &user.or_else(|| std::env::var(sync::USER_ENV).ok()).ok_or(
                    "falta --user (o REINTEGRA_USER): el usuario que desbloquea el almacén",
                )?,
                endpoint: endpoint.as_deref(),
                enroll: enroll.as_deref(),
                device_name: &device_name,
            },
            out,
        ),
    }
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

fn read_records(path: &Path) -> Result<Vec<Record>, String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut line = 0;
    read_jsonl(path, |r: &Record| {
        line += 1;
        r.validate().map_err(|e| e.to_string())?;
        if let Some(first) = seen.insert(r.id.trim().to_string(), line) {
            return Err(format!(
                "id repetido \"{}\" (ya en el registro n.º {first})",
                r.id
            ));
        }
        Ok(())
    })
}

#[derive(Serialize)]
struct OutCandidate<'a> {
    id: &'a str,
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<Vec<&'static str>>,
}

#[derive(Serialize)]
struct OutLine<'a> {
    query_id: &'a str,
    candidates: Vec<OutCandidate<'a>>,
}

fn dedup(
    records: &Path,
    queries: &Path,
    top: usize,
    out_path: &Path,
    with_reasons: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let t = Instant::now();
    let recs = read_records(records)?;
    let index = Index::build(&recs).map_err(|(i, e)| format!("registro {}: {e}", i + 1))?;
    drop(recs);
    let build = t.elapsed();
    let qs = read_jsonl(queries, |r: &Record| {
        r.validate().map_err(|e| e.to_string())
    })?;
    let opts = SearchOptions {
        top,
        ..SearchOptions::default()
    };
    let t = Instant::now();
    let file = File::create(out_path)
        .map_err(|e| format!("no se puede escribir {}: {e}", out_path.display()))?;
    let mut w = BufWriter::new(file);
    for q in &qs {
        let cands = index
            .search(q, &opts)
            .map_err(|e| format!("consulta {}: {e}", q.id))?;
        let line = OutLine {
            query_id: &q.id,
            candidates: cands
                .iter()
                .map(|c| OutCandidate {
                    id: &c.id,
                    score: (f64::from(c.score) * 10_000.0).round() / 10_000.0,
                    reasons: with_reasons.then(|| c.reasons.iter().map(|r| r.text()).collect()),
                })
                .collect(),
        };
        serde_json::to_writer(&mut w, &line)
            .map_err(io::Error::from)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(|e| format!("no se puede escribir {}: {e}", out_path.display()))?;
    }
    w.flush()
        .map_err(|e| format!("no se puede escribir {}: {e}", out_path.display()))?;
    let _ = writeln!(
        out,
        "{} registros indexados en {:.2} s; {} consultas en {:.2} s → {}",
        index.len(),
        build.as_secs_f64(),
        qs.len(),
        t.elapsed().as_secs_f64(),
        out_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
