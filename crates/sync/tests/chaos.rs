//! Convergence under chaos: three device stores and one server, a seeded random mix of
//! creates, concurrent edits of the same and of different fields and referral steps, synced
//! through the link simulator with stalls, resets and offline spells. After the links heal,
//! every device and the server have equal state hashes, every op was applied exactly once, and
//! every concurrent same-field edit is in the conflict list.
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
use reintegra_core::ids::{ProviderId, ReferralId};
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_linksim::{Preset, Proxy, Stalls};
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
    // The admin's ops (the users) went up before the storm.
    let setup_ops = net.op_count();
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
    for (i, d) in devices.iter().enumerate() {
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
        ops_made,
        "seed {seed}: an op lost or applied twice"
    );
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
