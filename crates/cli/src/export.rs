//! `reintegra export`: the app's exports without the window (indicators, cases, referrals,
//! follow-ups as XLSX or CSV), signed in as for `reintegra sync`. The file is written only
//! after the export (and its audit entry) succeeded; the format is the `--out` extension.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::{Args, Subcommand};
use reintegra_api::{
    ExportFormat, ExportRequest, ExportWhat, FollowUpQuery, KdfParams, ReferralQuery, Session,
};
use reintegra_core::indicators::{IndicatorFilter, Period};

use crate::sync::passphrase;

#[derive(Args, Debug)]
pub struct Report {
    /// Período: 2026 (año), 2026-Q3 (trimestre), 2026-07 (mes) o 2026-07-01..2026-07-15.
    #[arg(long)]
    pub period: String,
    /// Código de la oficina (municipio), p. ej. SV-US-oeste; sin él, todas las que ve el usuario.
    #[arg(long)]
    pub office: Option<String>,
    /// Código del departamento, p. ej. SV-US.
    #[arg(long)]
    pub department: Option<String>,
    #[command(flatten)]
    pub file: Out,
}

#[derive(Args, Debug)]
pub struct Out {
    /// Sin nombres, DUI, teléfono ni fecha de nacimiento; celdas menores de 5 suprimidas.
    #[arg(long)]
    pub deidentified: bool,
    /// Archivo de salida: .xlsx o .csv.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum What {
    /// Cada tabla de indicadores del período.
    Indicators(Report),
    /// Los casos que retornaron o se registraron en el período.
    Cases(Report),
    /// Las referencias de la oficina.
    Referrals {
        /// Solo las abiertas.
        #[arg(long)]
        open_only: bool,
        #[command(flatten)]
        file: Out,
    },
    /// Los seguimientos pendientes de la oficina.
    FollowUps {
        /// Los que vencen en los próximos N días (0: hoy o vencidos).
        #[arg(long, default_value_t = 0)]
        within_days: u32,
        #[command(flatten)]
        file: Out,
    },
}

fn filter(r: &Report) -> Result<IndicatorFilter, String> {
    let period = Period::parse(&r.period).ok_or_else(|| {
        format!(
            "período inválido «{}»: use 2026, 2026-Q3, 2026-07 o 2026-07-01..2026-07-15",
            r.period
        )
    })?;
    let mut f = IndicatorFilter::period(period);
    f.municipality = r.office.clone();
    f.department = r.department.clone();
    Ok(f)
}

pub fn run(data: &Path, user: &str, what: What, out: &mut dyn Write) -> Result<(), String> {
    let (what, file) = match what {
        What::Indicators(r) => (
            ExportWhat::Indicators {
                filter: filter(&r)?,
            },
            r.file,
        ),
        What::Cases(r) => (
            ExportWhat::Cases {
                filter: filter(&r)?,
            },
            r.file,
        ),
        What::Referrals { open_only, file } => (
            ExportWhat::Referrals {
                query: ReferralQuery {
                    open_only,
                    ..Default::default()
                },
            },
            file,
        ),
        What::FollowUps { within_days, file } => (
            ExportWhat::FollowUps {
                query: FollowUpQuery {
                    within_days,
                    ..Default::default()
                },
            },
            file,
        ),
    };
    let format = ExportFormat::of_path(&file.out.to_string_lossy())
        .ok_or("--out debe terminar en .xlsx o .csv")?;
    let session = Session::open(data, KdfParams::RECOMMENDED).map_err(|e| e.to_string())?;
    session
        .unlock(user, &passphrase()?, Utc::now())
        .map_err(|e| e.to_string())?;
    let made = session
        .export(
            &ExportRequest {
                what,
                format,
                deidentified: file.deidentified,
            },
            Utc::now(),
        )
        .map_err(|e| e.to_string())?;
    std::fs::write(&file.out, &made.bytes)
        .map_err(|e| format!("no se puede escribir {}: {e}", file.out.display()))?;
    writeln!(
        out,
        "exportado: {} filas en {}{}",
        made.rows,
        file.out.display(),
        if file.deidentified {
            " (anonimizado)"
        } else {
            ""
        }
    )
    .map_err(|e| e.to_string())
}
