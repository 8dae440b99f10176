//! `reintegra import`: an office's spreadsheet (XLSX or CSV) into the store without the window,
//! signed in as for `reintegra sync`. Prints the rows read, imported, merged into persons
//! already registered and refused (each with its reasons). Exit code 0 when the batch was
//! written (refused rows are listed, not fatal), non-zero when the file cannot be read.
//! The mapping file (TOML) is described in docs/import.md.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use reintegra_api::{ImportMapping, ImportSource, KdfParams, RowOutcome, Session};

use crate::sync::passphrase;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// La planilla: .xlsx o .csv.
    pub file: PathBuf,
    /// Qué columna es qué campo (TOML; ver docs/import.md). Sin él, según los encabezados.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Solo dice qué pasaría con cada fila; no escribe nada.
    #[arg(long)]
    pub dry_run: bool,
    /// Escribe las filas rechazadas, con sus motivos, en este XLSX.
    #[arg(long)]
    pub errors: Option<PathBuf>,
}

/// Reads a mapping file (TOML).
pub fn read_mapping(path: &Path) -> Result<ImportMapping, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("no se puede leer el mapeo {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("el mapeo {} no es válido: {e}", path.display()))
}

pub fn run(data: &Path, user: &str, args: ImportArgs, out: &mut dyn Write) -> Result<(), String> {
    let mapping = match &args.mapping {
        Some(p) => read_mapping(p)?,
        None => ImportMapping::default(),
    };
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("no se puede leer {}: {e}", args.file.display()))?;
    let source = ImportSource {
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bytes,
    };
    let session = Session::open(data, KdfParams::RECOMMENDED).map_err(|e| e.to_string())?;
    session
        .unlock(user, &passphrase()?, Utc::now())
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    let report = if args.dry_run {
        session.import_preview(&source, &mapping, now)
    } else {
        session.import_commit(&source, &mapping, now)
    }
    .map_err(|e| e.to_string())?;
    let w = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(|e| e.to_string());
    w(out, format!("encabezados en la fila {}", report.header_row))?;
    for c in &report.columns {
        w(out, format!("  «{}» → {}", c.header, c.field.label()))?;
    }
    w(out, format!("filas leídas: {}", report.rows_read))?;
    w(out, format!("fichas nuevas: {}", report.new_persons))?;
    w(
        out,
        format!(
            "retornos agregados a personas ya registradas: {}",
            report.returns_added
        ),
    )?;
    w(
        out,
        format!("ya registradas (nada nuevo): {}", report.already_there),
    )?;
    w(out, format!("rechazadas: {}", report.refused))?;
    w(out, format!("referencias: {}", report.referrals))?;
    for r in &report.rows {
        if r.outcome == RowOutcome::Refused {
            w(out, format!("  fila {}: {}", r.row, r.reasons.join("; ")))?;
        }
        for n in &r.notes {
            w(out, format!("  fila {} (aviso): {n}", r.row))?;
        }
    }
    if let Some(path) = &args.errors {
        let file = reintegra_api::import_error_report(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, &file.bytes)
            .map_err(|e| format!("no se puede escribir {}: {e}", path.display()))?;
        w(out, format!("errores en {}", path.display()))?;
    }
    w(
        out,
        if args.dry_run {
            "prueba: no se escribió nada".into()
        } else {
            "importación escrita en un solo lote".into()
        },
    )
}
