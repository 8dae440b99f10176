//! Convergence under chaos: three device stores and one server, a seeded random mix of
//! creates, concurrent edits of the same and of different fields and referral steps, synced
//! through the link simulator with stalls, resets and offline spells. After the links heal,
//! every device and the server have equal state hashes, every op was applied exactly once, and
//! every concurrent same-field edit is in the conflict list.
//!
//! A fourth, "poison" device of the same office pushes hostile ops every round straight to
//! the server (H5): records that do not decode (a number for the sex, a number for a list, a
//! record with another id), a list past the bound, and records with enum values no build
//! knows (a new person's, and one written over a person the others hold). The bad ones are
//! refused one by one; the unknown values are applied and kept, every other device holds what
//! it cannot read, and no device's pull sticks: every cursor reaches the server's sequence.
//!
//! `SYNC_CHAOS_SEEDS=N` runs N seeds (default 3) for long runs.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{ProviderId, ReferralId, UserId};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_linksim::{Preset, Proxy, Stalls};
use reintegra_proto::{Outcome, PushRequest, Version};
use reintegra_sync::Transport;
use serde_json::{json, Value};
use uuid::Uuid;

fn chaotic() -> Preset {
    Preset {
        down_bps: 20_000_000,
        up_bps: 10_000_000,
        rtt: Duration::from_millis(10),
        stalls: Some(Stalls {
            per_64k: 0.3,
            min: Duration::from_millis(20),
            max: Duration::from_millis(120),
        }),
        resets_per_mib: 0.999,
        offline: false,
    }
}

fn clean() -> Preset {
    Preset {
        stalls: None,
        resets_per_mib: 0.0,
        ..chaotic()
    }
}

#[test]
fn devices_and_server_converge_after_a_seeded_storm() {
    let seeds: u64 = std::env::var("SYNC_CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in 0..seeds {
        run(seed);
    }
}

fn run(seed: u64) {
    let net = net();
    let (district, office) = office_place(2);
    let proxies: Vec<Proxy> = (0..3)
        .map(|i| {
            net.block_on(Proxy::start(net.addr(), chaotic(), seed * 10 + i))
                .unwrap()
        })
        .collect();
    let offices = [office.as_str(), office.as_str(), "*"];
    let devices: Vec<Device> = (0..3)
        .map(|i| {
            net.device(
                i as u8 + 1,
                offices[i],
                &format!("http://{}", proxies[i].local_addr()),
            )
        })
        .collect();
    let poison = net.device(4, &office, &net.url());
    // The admin's ops (the users) went up before the storm.
    let setup_ops = net.op_count();
    let mut poison_applied = 0u64;
    let mut poison_refused = 0u64;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ops_made = 0u64;
    let mut count = |saved: reintegra_store::Saved| ops_made += u64::from(saved.op_id.is_some());
    let mut expected_conflicts: HashSet<(Uuid, String)> = HashSet::new();
    let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().unwrap();
    let mut minute = 0i64;

    for round in 0..10 {
        for (i, d) in devices.iter().enumerate() {
            // Creates.
            if rng.gen_bool(0.6) {
                let p = new_person(&format!("S{seed}R{round}D{i}"), &district);
                count(d.store.save_person(&p).unwrap());
            }
            let persons = d.store.persons().unwrap();
            // Edits of different fields.
            if let Some(mut p) = pick(&mut rng, &persons) {
                match rng.gen_range(0..3) {
                    0 => p.occupation = format!("oficio {seed}-{round}-{i}"),
                    1 => p.household_notes = format!("hogar {seed}-{round}-{i}"),
                    _ => p.skills.push(format!("habilidad {round}-{i}")),
                }
                count(d.store.save_person(&p).unwrap());
            }
            // Referral steps.
            if let Some(p) = pick(&mut rng, &persons) {
                let referrals = d.store.referrals_of_person(p.id).unwrap();
                minute += 1;
                let at = t0 + chrono::Duration::minutes(minute);
                match pick(&mut rng, &referrals) {
                    None => {
                        let r = Referral::propose(
                            ReferralId::new(Uuid::now_v7()),
                            p.id,
                            ServiceType::Vocational,
                            at,
                            d.store.user(),
                        );
                        count(d.store.save_referral(&r).unwrap());
                    }
                    Some(mut r) => {
                        let next: Vec<_> = ReferralStatus::ALL
                            .into_iter()
                            .filter(|s| r.status().can_move_to(*s))
                            .collect();
                        if let Some(to) = next.get(rng.gen_range(0..next.len().max(1))) {
                            r.provider = Some(ProviderId::new(Uuid::from_u128(7)));
                            if r.transition(*to, at, d.store.user()).is_ok() {
                                count(d.store.save_referral(&r).unwrap());
                            }
                        }
                    }
                }
            }
        }
        // A concurrent edit of the same field on two devices, before either syncs.
        if rng.gen_bool(0.5) {
            let (x, y) = (rng.gen_range(0..3), rng.gen_range(0..3));
            if x != y {
                let on_x = devices[x].store.persons().unwrap();
                let shared: Vec<_> = on_x
                    .into_iter()
                    .filter(|p| devices[y].store.person(p.id).unwrap().is_some())
                    .collect();
                if let Some(p) = pick(&mut rng, &shared) {
                    for (k, d) in [x, y].into_iter().enumerate() {
                        let mut mine = devices[d].store.person(p.id).unwrap().unwrap();
                        mine.phone = format!("7{seed}{round}{k}-0000");
                        count(devices[d].store.save_person(&mine).unwrap());
                    }
                    expected_conflicts.insert((p.id.as_uuid(), "phone".to_string()));
                }
            }
        }
        // The poison device's batch.
        // A person the server has (one only on a device would be out of scope).
        let known: Vec<Uuid> = devices[0]
            .store
            .persons()
            .unwrap()
            .into_iter()
            .map(|p| p.id.as_uuid())
            .filter(|id| {
                let bucket = reintegra_core::sync_state::bucket_of(*id);
                let records = transport(&poison).records(bucket).unwrap().message.records;
                records.iter().any(|r| r.id == *id)
            })
            .collect();
        let target = pick(&mut rng, &known);
        let ops = hostile(&poison, &district, round, target);
        let answer = transport(&poison)
            .push(reintegra_proto::encode(&PushRequest {
                v: Version::default(),
                ops,
            }))
            .unwrap();
        for r in answer.message.results {
            match r.outcome {
                Outcome::Applied { .. } => poison_applied += 1,
                Outcome::Rejected { code, .. } => {
                    assert!(
                        code == "invalid" || code == "list_too_long",
                        "seed {seed}: {code}"
                    );
                    poison_refused += 1;
                }
                Outcome::Duplicate => panic!("seed {seed}: a new op is no duplicate"),
            }
        }
        // The links misbehave; devices sync when they can.
        for (i, d) in devices.iter().enumerate() {
            let offline = rng.gen_bool(0.2);
            proxies[i].set_preset(if offline { Preset::OFFLINE } else { chaotic() });
            if rng.gen_bool(0.7) {
                let _ = sync(d);
            }
        }
    }

    // Heal and settle.
    for p in &proxies {
        p.set_preset(clean());
    }
    for _ in 0..3 {
        for d in &devices {
            sync(d).unwrap();
        }
    }
    let server_seq = transport(&devices[2]).state().unwrap().seq;
    for (i, d) in devices.iter().enumerate() {
        assert_eq!(
            d.store.pull_cursor(),
            server_seq,
            "seed {seed}: device {i}'s pull stuck"
        );
        assert!(
            !d.store.held().unwrap().is_empty(),
            "seed {seed}: device {i} holds the records it cannot read"
        );
        assert_eq!(d.store.outbox_len(), 0, "seed {seed}: device {i} outbox");
        assert!(
            d.store.quarantined().unwrap().is_empty(),
            "seed {seed}: device {i} quarantine"
        );
        assert_eq!(
            local_hash(d),
            net.server_hash(d),
            "seed {seed}: device {i} differs from the server"
        );
    }
    // Devices of the same office hold the same records.
    assert_eq!(local_hash(&devices[0]), local_hash(&devices[1]));
    assert_eq!(
        net.op_count() - setup_ops,
        ops_made + poison_applied,
        "seed {seed}: an op lost or applied twice"
    );
    assert_eq!(poison_refused, 10 * 4, "seed {seed}: every bad op refused");
    // The central device's queue, as a central supervisor reads it.
    let supervisor = net.new_user(reintegra_core::user::Role::Supervisor, None);
    let listed: HashSet<(Uuid, String)> =
        reintegra_sync::all_conflicts(&transport(&devices[2]), supervisor, true)
            .unwrap()
            .into_iter()
            .map(|c| (c.record_id, c.field))
            .collect();
    let resets: u64 = proxies
        .iter()
        .map(|p| {
            p.counters()
                .resets
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .sum();
    eprintln!(
        "seed {seed}: {ops_made} ops, {} concurrent same-field edits, {} conflicts listed, {resets} resets",
        expected_conflicts.len(),
        listed.len()
    );
    for expected in &expected_conflicts {
        assert!(
            listed.contains(expected),
            "seed {seed}: concurrent edit {expected:?} missing from {listed:?}"
        );
    }
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[rng.gen_range(0..items.len())].clone())
    }
}

/// The poison device's ops of a round: four that must be refused and two with enum values no
/// build knows (a new person; and `target`, a person the others hold, if any).
fn hostile(poison: &Device, district: &str, round: u32, target: Option<Uuid>) -> Vec<Op> {
    let device = poison.store.device();
    let op = |n: u32, id: Uuid, action: Action| Op {
        op_id: Uuid::now_v7(),
        author: UserId::new(Uuid::from_u128(5)),
        device,
        hlc: Hlc {
            wall_ms: u64::try_from(Utc::now().timestamp_millis()).unwrap(),
            counter: round * 10 + n,
            node: device.as_uuid().as_u64_pair().1,
        },
        base_seq: 0,
        change: Change {
            entity: EntityKind::Person,
            id,
            action,
        },
    };
    let person = |edit: Value| {
        let p = new_person(&format!("Veneno {round}"), district);
        let mut record = serde_json::to_value(&p).unwrap();
        for (k, v) in edit.as_object().unwrap() {
            record[k] = v.clone();
        }
        (p.id.as_uuid(), Action::Create { record })
    };
    let mut ops = Vec::new();
    for (n, edit) in [
        json!({"sex": 7}),
        json!({"skills": vec!["x"; 1001]}),
        json!({"return_events": "ninguno"}),
        json!({"sex": "intersex", "vulnerabilities": ["pregnant", "climate_displaced"]}),
    ]
    .into_iter()
    .enumerate()
    {
        let (id, action) = person(edit);
        ops.push(op(n as u32, id, action));
    }
    // A record that says it is another one.
    let (_, action) = person(json!({}));
    ops.push(op(5, Uuid::now_v7(), action));
    if let Some(id) = target {
        ops.push(op(
            6,
            id,
            Action::Update {
                fields: json!({"education": "doctorate_in_the_future"})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
        ));
    }
    ops
}
