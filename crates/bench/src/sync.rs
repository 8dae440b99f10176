//! `reintegra-bench sync`: sync through the link simulator, compared with the floor.
//!
//! - push N new registrations (~1 KB single forms) on `3g` and on `3g-lossy`;
//! - bootstrap a new device with M persons on `3g`;
//! - a first full sync (push, then pull) of N local registrations on `3g`: what the pull adds
//!   to the push (a device never downloads back what it sent: ≤ 1.1× the push's bytes);
//! - the same after K interrupted attempts (each one's last batch reaches the server, its
//!   answer never the device, as when `reintegra sync` is killed): what the completing run
//!   moves, against one uninterrupted sync (≤ 1.2×).
//!
//! Floor bytes = zstd level 3 of the same records' canonical JSON (sorted keys, no whitespace),
//! as one array; floor time = floor bytes ÷ the link's bandwidth in the payload's direction +
//! 2 RTT. Bytes on the wire are what crossed the simulator each way (HTTP included).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::sync_state::canonical_json;
use reintegra_core::territory::Territory;
use reintegra_core::user::{Role, User};
use reintegra_linksim::{Preset, Proxy};
use reintegra_server::Background;
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use reintegra_sync::{Exchange, Http, Options, SyncError, Transport};
use uuid::Uuid;

use crate::intake::synthetic;

#[derive(clap::Args)]
pub struct Args {
    /// Registrations each push run sends.
    #[arg(long, default_value_t = 500)]
    persons: usize,
    /// Persons a new device downloads in the bootstrap run.
    #[arg(long, default_value_t = 10_000)]
    bootstrap: usize,
    /// Seed of the synthetic forms and of the link faults.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Push runs on 3g-lossy, each with its own fault seed (stalls are rare per run).
    #[arg(long, default_value_t = 10)]
    lossy_runs: u64,
    /// An already running server (http://host:port, or a proxy in front of one) instead of
    /// starting one here. Needs one --code (office `*`) per device: 3 + --lossy-runs.
    #[arg(long)]
    endpoint: Option<String>,
    /// One-time enrollment codes for --endpoint.
    #[arg(long = "code")]
    codes: Vec<String>,
    /// Interrupted attempts before the completing run.
    #[arg(long, default_value_t = 8)]
    interruptions: u32,
}

const PASS: &str = "clave-segura-bench";

/// Where the server is and how to get enrollment codes.
struct Target {
    own: Option<(Background, tempfile::TempDir)>,
    /// Runs the link simulator.
    rt: tokio::runtime::Runtime,
    url: String,
    upstream: SocketAddr,
    /// The one user every device of the run works as: a central admin, so the server accepts
    /// their ops from any device once the first device has pushed their record.
    admin: User,
    /// Whether a device has carried `admin`'s record yet.
    admin_sent: bool,
    codes: Vec<String>,
}

impl Target {
    fn new(args: &Args) -> Result<Target, String> {
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        match &args.endpoint {
            None => {
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let server =
                    Background::start(dir.path(), SocketAddr::from(([127, 0, 0, 1], 0)), None)
                        .map_err(|e| e.to_string())?;
                Ok(Target {
                    url: server.url(),
                    upstream: server.local_addr(),
                    own: Some((server, dir)),
                    rt,
                    codes: Vec::new(),
                    admin: bench_admin(),
                    admin_sent: false,
                })
            }
            Some(url) => {
                let hostport = url
                    .strip_prefix("http://")
                    .ok_or("--endpoint must be http://host:port (the simulator sits in front)")?
                    .trim_end_matches('/');
                let upstream = hostport
                    .to_socket_addrs()
                    .map_err(|e| format!("{hostport}: {e}"))?
                    .next()
                    .ok_or(format!("{hostport}: no address"))?;
                Ok(Target {
                    rt,
                    own: None,
                    url: url.trim_end_matches('/').to_string(),
                    upstream,
                    codes: args.codes.clone(),
                    admin: bench_admin(),
                    admin_sent: false,
                })
            }
        }
    }

    fn code(&mut self) -> Result<String, String> {
        match &self.own {
            Some((server, _)) => server.enroll_code("*").map_err(|e| e.to_string()),
            None => self.codes.pop().ok_or_else(|| {
                "not enough --code values for --endpoint (3 + --lossy-runs needed)".into()
            }),
        }
    }

    /// A new device store, enrolled, that talks to the server through `proxy` (or directly).
    fn device(&mut self, dir: &Path, proxy: Option<&Proxy>) -> Result<Store, String> {
        let store = LockedStore::create(
            dir,
            NewStore {
                device: DeviceId::new(Uuid::now_v7()),
                login: "bench",
                user_id: self.admin.id,
                passphrase: PASS,
                kdf: KdfParams::INSECURE_FAST,
            },
        )
        .map_err(|e| e.to_string())?;
        if !std::mem::replace(&mut self.admin_sent, true) {
            // The server learns who acts from the first device: its first admin's own record.
            store.save_user(&self.admin).map_err(|e| e.to_string())?;
        }
        let code = self.code()?;
        let mut settings =
            reintegra_sync::enroll(&store, &self.url, &code, "bench").map_err(|e| e.to_string())?;
        if let Some(proxy) = proxy {
            settings.endpoint = format!("http://{}", proxy.local_addr());
            store
                .set_sync_settings(Some(&settings))
                .map_err(|e| e.to_string())?;
        }
        Ok(store)
    }

    fn proxy(&self, preset: Preset, seed: u64) -> Result<Proxy, String> {
        self.rt
            .block_on(Proxy::start(self.upstream, preset, seed))
            .map_err(|e| e.to_string())
    }
}

fn bench_admin() -> User {
    User {
        id: UserId::new(Uuid::now_v7()),
        name: "Bench".into(),
        login: "bench".into(),
        role: Role::Admin,
        office_municipality: None,
        active: true,
        also_supervisor: true,
    }
}

/// zstd-3 of the canonical JSON array of a store's persons, and how many there are.
fn floor_bytes(store: &Store) -> Result<(usize, usize), String> {
    let persons = store.persons().map_err(|e| e.to_string())?;
    let mut json = b"[".to_vec();
    for (i, p) in persons.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend(canonical_json(
            &serde_json::to_value(p).map_err(|e| e.to_string())?,
        ));
    }
    json.push(b']');
    let compressed = zstd::bulk::compress(&json, 3).map_err(|e| e.to_string())?;
    Ok((compressed.len(), persons.len()))
}

struct PushRun {
    bytes_ratio: f64,
    time_ratio: f64,
}

fn floor_secs(bytes: usize, bps: u64, preset: &Preset) -> f64 {
    bytes as f64 * 8.0 / bps as f64 + 2.0 * preset.rtt.as_secs_f64()
}

fn transport(store: &Store) -> Result<Http, String> {
    Ok(reintegra_sync::http_for(store)
        .map_err(|e| e.to_string())?
        .0)
}

fn fill(store: &Store, n: usize, rng: &mut StdRng, districts: &[String]) -> Result<(), String> {
    let user = store.user();
    for _ in 0..n {
        store
            .save_person(&synthetic(rng, districts, user))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A first full sync of `--persons` registrations, uninterrupted and after
/// `--interruptions` cut attempts: bytes each way, and changes pulled back.
fn round_trips(
    target: &mut Target,
    args: &Args,
    rng: &mut StdRng,
    districts: &[String],
) -> Result<(), String> {
    let options = Options::default();
    // Uninterrupted: the push alone, then what the rest of the sync adds.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let proxy = target.proxy(Preset::THREE_G, args.seed)?;
    let store = target.device(dir.path(), Some(&proxy))?;
    // What the earlier runs left on the server first: only the device's own ops are measured.
    reintegra_sync::sync(&store, &transport(&store)?, &options, 1, &mut |_| {})
        .map_err(|e| e.to_string())?;
    fill(&store, args.persons, rng, districts)?;
    let start = proxy.bytes();
    let pushed = reintegra_sync::push(&store, &transport(&store)?, &options, &mut |_| {})
        .map_err(|e| e.to_string())?;
    let (up, down) = proxy.bytes();
    let (up, down) = (up - start.0, down - start.1);
    let push_bytes = up + down;
    let report = reintegra_sync::sync(&store, &transport(&store)?, &options, 1, &mut |_| {})
        .map_err(|e| e.to_string())?;
    let (up2, down2) = proxy.bytes();
    let whole = up2 + down2 - start.0 - start.1;
    println!(
        "first sync of {} registrations on 3g: push {} ops, {push_bytes} B ({up} B up); the pull \
         and check after it {} B, {} changes pulled back; whole sync {:.2}× the push (≤ 1.1)",
        args.persons,
        pushed.progress.ops_pushed,
        whole - push_bytes,
        report.progress.changes_pulled,
        whole as f64 / push_bytes as f64
    );

    // Interrupted: each attempt's last batch reaches the server, its answer never the device.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let proxy = target.proxy(Preset::THREE_G, args.seed + 1)?;
    let store = target.device(dir.path(), Some(&proxy))?;
    let http = transport(&store)?;
    reintegra_sync::sync(&store, &http, &options, 1, &mut |_| {}).map_err(|e| e.to_string())?;
    fill(&store, args.persons, rng, districts)?;
    let mut attempts_bytes = 0;
    for i in 0..args.interruptions {
        let cut = Killed {
            inner: &http,
            batches_left: std::sync::atomic::AtomicU32::new(i % 3),
        };
        let before = proxy.bytes();
        let _ = reintegra_sync::sync(&store, &cut, &options, 1, &mut |_| {});
        let after = proxy.bytes();
        attempts_bytes += (after.0 - before.0) + (after.1 - before.1);
    }
    let left = store.outbox_len();
    let before = proxy.bytes();
    let report =
        reintegra_sync::sync(&store, &http, &options, 1, &mut |_| {}).map_err(|e| e.to_string())?;
    let after = proxy.bytes();
    let completing = (after.0 - before.0) + (after.1 - before.1);
    println!(
        "after {} interrupted attempts ({attempts_bytes} B, {left} ops still in the outbox): the \
         completing run {completing} B ({} ops sent, {} changes pulled back), {:.2}× one \
         uninterrupted sync (≤ 1.2); outbox left {}",
        args.interruptions,
        report.progress.ops_pushed,
        report.progress.changes_pulled,
        completing as f64 / whole as f64,
        store.outbox_len()
    );
    Ok(())
}

/// A sync killed mid-push: after `batches_left` batches, the next one reaches the server but
/// its answer is lost, and the run ends there.
struct Killed<'a> {
    inner: &'a Http,
    batches_left: std::sync::atomic::AtomicU32,
}

impl Transport for Killed<'_> {
    fn enroll(
        &self,
        request: &reintegra_proto::EnrollRequest,
    ) -> Result<reintegra_proto::EnrollResponse, SyncError> {
        self.inner.enroll(request)
    }
    fn applied(
        &self,
        body: Vec<u8>,
    ) -> Result<Exchange<reintegra_proto::AppliedResponse>, SyncError> {
        self.inner.applied(body)
    }
    fn push(&self, body: Vec<u8>) -> Result<Exchange<reintegra_proto::PushResponse>, SyncError> {
        use std::sync::atomic::Ordering;
        let answer = self.inner.push(body)?;
        match self
            .batches_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Ok(answer),
            Err(_) => Err(SyncError::Refused {
                status: 499,
                code: "killed".into(),
                message: "killed".into(),
                op_ids: Vec::new(),
            }),
        }
    }
    fn pull(
        &self,
        after: u64,
        max_bytes: usize,
    ) -> Result<Exchange<reintegra_proto::PullResponse>, SyncError> {
        self.inner.pull(after, max_bytes)
    }
    fn state(&self) -> Result<reintegra_proto::StateResponse, SyncError> {
        self.inner.state()
    }
    fn buckets(&self) -> Result<reintegra_proto::BucketsResponse, SyncError> {
        self.inner.buckets()
    }
    fn records(&self, bucket: u8) -> Result<Exchange<reintegra_proto::RecordsResponse>, SyncError> {
        self.inner.records(bucket)
    }
    fn conflicts(
        &self,
        user: UserId,
        after: Option<Uuid>,
        all: bool,
    ) -> Result<reintegra_proto::ConflictsResponse, SyncError> {
        self.inner.conflicts(user, after, all)
    }
    fn resolve(
        &self,
        id: Uuid,
        request: &reintegra_proto::ResolveRequest,
    ) -> Result<reintegra_proto::ResolveResponse, SyncError> {
        self.inner.resolve(id, request)
    }
}

pub fn run(args: Args) -> Result<(), String> {
    let mut target = Target::new(&args)?;
    let districts: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.district_code.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let options = Options::default();
    println!("server: {}", target.url);

    // Bootstrap first (on a fresh server it holds exactly these persons): a seeder pushes M
    // persons directly, then a new device downloads them on 3g.
    let seed_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let seeder = target.device(seed_dir.path(), None)?;
    let t = Instant::now();
    fill(&seeder, args.bootstrap, &mut rng, &districts)?;
    reintegra_sync::push(&seeder, &transport(&seeder)?, &options, &mut |_| {})
        .map_err(|e| e.to_string())?;
    println!(
        "seeded {} persons on the server in {:.1} s",
        args.bootstrap,
        t.elapsed().as_secs_f64()
    );
    let preset = Preset::THREE_G;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let proxy = target.proxy(preset, args.seed)?;
    let device = target.device(dir.path(), Some(&proxy))?;
    let t = Instant::now();
    let report = reintegra_sync::pull(&device, &transport(&device)?, &options, &mut |_| {})
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let (up, down) = proxy.bytes();
    let (floor, n) = floor_bytes(&device)?;
    let floor_t = floor_secs(floor, preset.down_bps, &preset);
    let apply_secs = report.apply_micros as f64 / 1e6;
    let t = Instant::now();
    device.state_hasher("*").map_err(|e| e.to_string())?;
    let hash_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "bootstrap {n} persons on 3g: down {down} B (floor {floor} B, {:.2}× ≤ 1.25), up {up} B, \
         {secs:.2} s (floor {floor_t:.2} s, {:.2}× ≤ 1.5); {} pages; local apply {:.0} records/s (≥ 20000); \
         state hash of the device's copy {hash_ms:.0} ms",
        down as f64 / floor as f64,
        secs / floor_t,
        report.progress.pages_received,
        f64::from(report.progress.changes_pulled) / apply_secs.max(1e-9),
    );

    let mut push_run = |name: &str, preset: Preset, link_seed: u64| -> Result<PushRun, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let proxy = target.proxy(preset, link_seed)?;
        let store = target.device(dir.path(), Some(&proxy))?;
        fill(&store, args.persons, &mut rng, &districts)?;
        let (floor, n) = floor_bytes(&store)?;
        let t = Instant::now();
        let report = reintegra_sync::push(&store, &transport(&store)?, &options, &mut |_| {})
            .map_err(|e| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        let (up, down) = proxy.bytes();
        let run = PushRun {
            bytes_ratio: up as f64 / floor as f64,
            time_ratio: secs / floor_secs(floor, preset.up_bps, &preset),
        };
        println!(
            "push {n} registrations on {name} (link seed {link_seed}): up {up} B (floor {floor} B, {:.2}×), \
             down {down} B, {secs:.2} s ({:.2}× the floor time); {} batches, {} retries, {} left in outbox",
            run.bytes_ratio,
            run.time_ratio,
            report.progress.batches_sent,
            report.retries,
            store.outbox_len()
        );
        Ok(run)
    };
    let on_3g = push_run("3g", Preset::THREE_G, args.seed)?;
    println!(
        "  3g: bytes {:.2}× (≤ 1.25), time {:.2}× (≤ 1.5)",
        on_3g.bytes_ratio, on_3g.time_ratio
    );
    let mut lossy = Vec::new();
    for i in 0..args.lossy_runs.max(1) {
        lossy.push(push_run("3g-lossy", Preset::THREE_G_LOSSY, args.seed + i)?);
    }
    let mut times: Vec<f64> = lossy.iter().map(|r| r.time_ratio).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "  3g-lossy over {} runs: bytes {:.2}× (≤ 1.25), time mean {:.2}×, median {:.2}×, worst {:.2}× (≤ 2)",
        lossy.len(),
        lossy.iter().map(|r| r.bytes_ratio).sum::<f64>() / lossy.len() as f64,
        times.iter().sum::<f64>() / times.len() as f64,
        times[times.len() / 2],
        times[times.len() - 1]
    );

    round_trips(&mut target, &args, &mut rng, &districts)?;
    Ok(())
}
