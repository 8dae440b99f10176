//! The pure half of sync: what to send, what the answers mean, whether to repair. No IO.

use reintegra_core::op::Op;
use reintegra_proto::{pack_ops, Batch, OpResult, Outcome};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The push batches for the ops waiting in the outbox (oldest first).
pub fn push_batches(outbox: &[Op], max_bytes: usize) -> Vec<Batch> {
    pack_ops(outbox, max_bytes)
}

/// What the device does with the server's answer to a push.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PushOutcome {
    /// Applied or already applied: leave the outbox.
    pub done: Vec<Uuid>,
    /// Refused: quarantine, with code and reason.
    pub rejected: Vec<(Uuid, String, String)>,
    /// Applied, but some fields lost to a concurrent write: the values the server kept.
    pub superseded: Vec<(Uuid, Map<String, Value>)>,
}

/// Sorts the per-op results of a push. An op the server did not mention stays in the outbox.
pub fn read_push_results(results: &[OpResult]) -> PushOutcome {
    let mut out = PushOutcome::default();
    for r in results {
        match &r.outcome {
            Outcome::Applied { superseded } => {
                out.done.push(r.op_id);
                if !superseded.is_empty() {
                    out.superseded.push((r.op_id, superseded.clone()));
                }
            }
            Outcome::Duplicate => out.done.push(r.op_id),
            Outcome::Rejected { code, reason } => {
                out.rejected.push((r.op_id, code.clone(), reason.clone()));
            }
        }
    }
    out
}

/// Whether the device's copy should equal the server's, so that different state hashes mean
/// divergence: nothing is in flight either way (the outbox is empty and the device has pulled
/// everything the server has).
pub fn comparable(outbox_len: usize, cursor: u64, server_seq: u64) -> bool {
    outbox_len == 0 && cursor == server_seq
}

/// The buckets whose hashes differ.
pub fn differing_buckets(local: &[String], remote: &[String]) -> Vec<u8> {
    (0..=255u8)
        .filter(|b| local.get(usize::from(*b)) != remote.get(usize::from(*b)))
        .collect()
}

/// The size to ask for the next pull page: four times larger after a page arrived whole
/// (fewer round trips on a good link, up to the largest body a reader accepts), back to `base`
/// after a cut one (a lost page costs little on a bad link).
pub fn next_page_bytes(current: usize, arrived: bool, base: usize) -> usize {
    if arrived {
        (current * 4).min(reintegra_proto::MAX_COMPRESSED)
    } else {
        base
    }
}

/// Wait before retry number `attempt` (0-based): exponential from `base_ms`, capped at
/// `max_ms`, with "full jitter" drawn from `unit` in [0, 1) so devices do not retry in step.
pub fn backoff_ms(attempt: u32, base_ms: u64, max_ms: u64, unit: f64) -> u64 {
    let exp = base_ms.saturating_mul(1u64 << attempt.min(20)).min(max_ms);
    let jittered = (exp as f64 * (0.5 + unit.clamp(0.0, 1.0) / 2.0)) as u64;
    jittered.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_sort_into_ack_quarantine_and_superseded() {
        let mut kept = Map::new();
        kept.insert("phone".into(), Value::from("7000-0000"));
        let ids: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
        let results = vec![
            OpResult {
                op_id: ids[0],
                outcome: Outcome::Applied {
                    superseded: Map::new(),
                },
            },
            OpResult {
                op_id: ids[1],
                outcome: Outcome::Duplicate,
            },
            OpResult {
                op_id: ids[2],
                outcome: Outcome::Rejected {
                    code: "deleted".into(),
                    reason: "borrado".into(),
                },
            },
            OpResult {
                op_id: ids[3],
                outcome: Outcome::Applied {
                    superseded: kept.clone(),
                },
            },
        ];
        let out = read_push_results(&results);
        assert_eq!(out.done, vec![ids[0], ids[1], ids[3]]);
        assert_eq!(
            out.rejected,
            vec![(ids[2], "deleted".to_string(), "borrado".to_string())]
        );
        assert_eq!(out.superseded, vec![(ids[3], kept)]);
    }

    #[test]
    fn copies_are_compared_only_when_nothing_is_in_flight() {
        assert!(comparable(0, 5, 5));
        assert!(!comparable(1, 5, 5));
        assert!(!comparable(0, 4, 5));
        let local: Vec<String> = (0..256).map(|i| i.to_string()).collect();
        let mut remote = local.clone();
        remote[3] = "x".into();
        remote[200] = "y".into();
        assert_eq!(differing_buckets(&local, &remote), vec![3, 200]);
    }

    #[test]
    fn pull_pages_grow_on_a_good_link_and_shrink_after_a_cut() {
        let base = 64 * 1024;
        let mut size = base;
        for _ in 0..10 {
            size = next_page_bytes(size, true, base);
        }
        assert_eq!(size, reintegra_proto::MAX_COMPRESSED);
        assert_eq!(next_page_bytes(size, false, base), base);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_ms(0, 100, 10_000, 1.0), 100);
        assert_eq!(backoff_ms(3, 100, 10_000, 1.0), 800);
        assert_eq!(backoff_ms(30, 100, 10_000, 1.0), 10_000);
        assert_eq!(backoff_ms(3, 100, 10_000, 0.0), 400);
    }
}
