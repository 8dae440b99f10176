//! `reintegra-linksim --listen ADDR --upstream ADDR --preset 3g --seed N`: put a bad link in
//! front of a server (for manual tests and the sync benchmark against a running server).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use reintegra_linksim::{Preset, Proxy};

#[derive(Parser)]
#[command(
    name = "reintegra-linksim",
    about = "Simulador de enlace (proxy TCP con ancho de banda, latencia, cortes)"
)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    #[arg(long)]
    upstream: SocketAddr,
    /// edge, 3g, 3g-lossy or offline.
    #[arg(long, default_value = "3g")]
    preset: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let Some(preset) = Preset::named(&args.preset) else {
        eprintln!(
            "reintegra-linksim: preset desconocido {:?} (edge, 3g, 3g-lossy, offline)",
            args.preset
        );
        return ExitCode::FAILURE;
    };
    match Proxy::listen(args.listen, args.upstream, preset, args.seed).await {
        Ok(proxy) => {
            println!(
                "{} → {} ({})",
                proxy.local_addr(),
                args.upstream,
                args.preset
            );
            let _ = tokio::signal::ctrl_c().await;
            let (up, down) = proxy.bytes();
            println!("bytes: {up} subida, {down} bajada");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reintegra-linksim: {e}");
            ExitCode::FAILURE
        }
    }
}
