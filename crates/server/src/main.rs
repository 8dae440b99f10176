//! `reintegra-server`: serve the single-form endpoint, or manage enrollment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reintegra_server::log::escape_control;
use reintegra_server::{parse_since, Db, Tls};

#[derive(Parser)]
#[command(
    name = "reintegra-server",
    about = "Endpoint de formulario único de Reintegra"
)]
struct Cli {
    /// Directory of the server's data (created if missing).
    #[arg(long, global = true, default_value = "reintegra-server-data")]
    data: PathBuf,
    /// Address to listen on. Plain HTTP only on a loopback address; elsewhere pass --cert/--key.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a one-time enrollment code for an office (a municipality code SV-… or `*`).
    EnrollCode {
        #[arg(long)]
        office: String,
        /// For this user (their login) to set up another device of an office that already
        /// works; without it, the code is for the office's first device.
        #[arg(long)]
        login: Option<String>,
    },
    /// Revokes a device: its token stops working.
    RevokeDevice {
        #[arg(long)]
        device: String,
    },
    /// Lists the enrolled devices.
    Devices,
    /// After restoring the server's data from an older copy: devices start their cursors again,
    /// repair, and send back what the copy lacks.
    Restored,
    /// Prints the security log (enrollments, refused tokens, revocations, resolutions, refused
    /// ops), oldest first: at, kind, device, office, user, detail (tab-separated).
    SecurityLog {
        /// From this date (YYYY-MM-DD, UTC) or instant (RFC 3339) on.
        #[arg(long)]
        since: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        None => {
            let tls = cli.cert.zip(cli.key).map(|(cert, key)| Tls { cert, key });
            let scheme = if tls.is_some() { "https" } else { "http" };
            let running = reintegra_server::start(&cli.data, cli.listen, tls)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "reintegra-server escuchando en {scheme}://{} (datos en {})",
                running.local_addr(),
                cli.data.display()
            );
            running.wait().await.map_err(|e| e.to_string())
        }
        Some(command) => {
            let db = Db::open(&cli.data).await.map_err(|e| e.to_string())?;
            match command {
                Command::EnrollCode { office, login } => {
                    let code = db
                        .new_enroll_code(&office, login.as_deref())
                        .await
                        .map_err(|e| e.to_string())?;
                    println!("{code}");
                    match login {
                        None => eprintln!(
                            "código de un solo uso para el primer equipo de la oficina {office}, válido 7 días"
                        ),
                        Some(login) => eprintln!(
                            "código de un solo uso para que «{login}» una un equipo a la oficina {office}, válido 7 días"
                        ),
                    }
                }
                Command::Restored => {
                    let epoch = db.bump_epoch().await.map_err(|e| e.to_string())?;
                    println!(
                        "época {epoch}: los equipos se pondrán al día en su próxima sincronización"
                    );
                }
                Command::RevokeDevice { device } => {
                    if !db.revoke_device(&device).await.map_err(|e| e.to_string())? {
                        return Err(format!("no hay ningún dispositivo {device}"));
                    }
                    println!("dispositivo {device} dado de baja");
                }
                Command::SecurityLog { since } => {
                    let since = since
                        .as_deref()
                        .map(parse_since)
                        .transpose()
                        .map_err(|e| e.to_string())?;
                    let events = db
                        .security_events(since.as_deref())
                        .await
                        .map_err(|e| e.to_string())?;
                    let field = |v: &Option<String>| escape_control(v.as_deref().unwrap_or("-"));
                    for e in events {
                        // What a client sent (names, reasons) is escaped: nothing printed can
                        // forge a line or drive the terminal.
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            e.at,
                            e.kind,
                            field(&e.device),
                            field(&e.office),
                            field(&e.user),
                            escape_control(&e.detail)
                        );
                    }
                }
                Command::Devices => {
                    for d in db.devices().await.map_err(|e| e.to_string())? {
                        let state = if d.revoked { "dado de baja" } else { "activo" };
                        // Names are checked at enrollment; escaped anyway (older servers
                        // kept whatever came).
                        println!(
                            "{}\t{}\t{}\t{}\t{state}",
                            d.id,
                            d.office,
                            d.enrolled_at,
                            escape_control(&d.name)
                        );
                    }
                }
            }
            Ok(())
        }
    }
}
