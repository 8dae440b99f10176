//! Hybrid logical clock (HLC): timestamps that follow wall time when clocks behave, stay
//! monotonic when they do not, and give every change on every device a total order.
//!
//! Pure: the current wall time is always a parameter (`now_ms`, milliseconds since the Unix
//! epoch); nothing here reads a clock. The store keeps the last value and ticks it per change;
//! sync observes remote timestamps. Order: `wall_ms`, then `counter`, then `node` (the device),
//! so two timestamps from different devices are never equal.

use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::DeviceId;

/// How far ahead of our own clock a remote timestamp may be before sync should refuse it
/// (a device whose clock is set years ahead would otherwise drag every clock with it).
pub const MAX_DRIFT_MS: u64 = 10 * 60 * 1000;

/// A hybrid logical clock timestamp. Also the clock state: keep the last one and `tick` it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct Hlc {
    /// Physical part: milliseconds since the Unix epoch (the largest seen so far).
    #[ts(type = "number")]
    pub wall_ms: u64,
    /// Logical part: orders events within the same millisecond.
    pub counter: u32,
    /// The device that made the timestamp (a stable number derived from its device id); breaks
    /// ties so the order is total. Serialized as 16 hex digits (JSON numbers lose precision).
    #[serde(with = "node_hex")]
    #[ts(type = "string")]
    pub node: u64,
}

/// The HLC node of a device: the random tail of its id. The server refuses an op whose
/// timestamp names another node than its device's, so no device can take another's place in
/// the order of last-writer-wins.
pub fn node_of(device: DeviceId) -> u64 {
    let bytes = device.as_uuid().into_bytes();
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&bytes[8..]);
    u64::from_be_bytes(tail)
}

impl Hlc {
    /// The zero timestamp of a device: earlier than anything it will produce.
    pub const fn zero(node: u64) -> Self {
        Self {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// A new local event at wall time `now_ms`: returns a timestamp strictly greater than `self`
    /// (and than every timestamp this clock produced or observed before) and stores it.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.wall_ms {
            self.wall_ms = now_ms;
            self.counter = 0;
        } else {
            self.bump_counter();
        }
        *self
    }

    /// A remote timestamp was received (sync) at wall time `now_ms`: moves this clock past both
    /// and returns the new value, strictly greater than `self` and than `remote`. The node stays ours.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) -> Hlc {
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        if wall == self.wall_ms && wall == remote.wall_ms {
            self.counter = self.counter.max(remote.counter);
            self.bump_counter();
        } else if wall == self.wall_ms {
            self.bump_counter();
        } else if wall == remote.wall_ms {
            self.wall_ms = wall;
            self.counter = remote.counter;
            self.bump_counter();
        } else {
            self.wall_ms = wall;
            self.counter = 0;
        }
        *self
    }

    /// Whether `remote` is further ahead of `now_ms` than [`MAX_DRIFT_MS`] (sync should reject
    /// it rather than observe it).
    pub fn is_too_far_ahead(remote: &Hlc, now_ms: u64) -> bool {
        remote.wall_ms > now_ms.saturating_add(MAX_DRIFT_MS)
    }

    /// Big-endian bytes that sort like the timestamps (for ordered keys).
    pub fn to_bytes(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..8].copy_from_slice(&self.wall_ms.to_be_bytes());
        out[8..12].copy_from_slice(&self.counter.to_be_bytes());
        out[12..].copy_from_slice(&self.node.to_be_bytes());
        out
    }

    /// Inverse of [`Hlc::to_bytes`].
    pub fn from_bytes(bytes: [u8; 20]) -> Hlc {
        let mut wall = [0u8; 8];
        let mut counter = [0u8; 4];
        let mut node = [0u8; 8];
        wall.copy_from_slice(&bytes[..8]);
        counter.copy_from_slice(&bytes[8..12]);
        node.copy_from_slice(&bytes[12..]);
        Hlc {
            wall_ms: u64::from_be_bytes(wall),
            counter: u32::from_be_bytes(counter),
            node: u64::from_be_bytes(node),
        }
    }

    fn bump_counter(&mut self) {
        match self.counter.checked_add(1) {
            Some(c) => self.counter = c,
            None => {
                // 4 billion events in one millisecond: borrow the next millisecond.
                self.wall_ms = self.wall_ms.saturating_add(1);
                self.counter = 0;
            }
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:08x}.{:016x}",
            self.wall_ms, self.counter, self.node
        )
    }
}

mod node_hex {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(node: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{node:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        u64::from_str_radix(&text, 16).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hlc() -> impl Strategy<Value = Hlc> {
        (0u64..1_000, 0u32..5, 0u64..4).prop_map(|(wall_ms, counter, node)| Hlc {
            wall_ms,
            counter,
            node,
        })
    }

    #[test]
    fn follows_wall_time_when_it_moves_forward() {
        let mut c = Hlc::zero(7);
        assert_eq!(
            c.tick(100),
            Hlc {
                wall_ms: 100,
                counter: 0,
                node: 7
            }
        );
        assert_eq!(
            c.tick(100),
            Hlc {
                wall_ms: 100,
                counter: 1,
                node: 7
            }
        );
        assert_eq!(
            c.tick(90),
            Hlc {
                wall_ms: 100,
                counter: 2,
                node: 7
            }
        );
        assert_eq!(
            c.tick(101),
            Hlc {
                wall_ms: 101,
                counter: 0,
                node: 7
            }
        );
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let mut c = Hlc {
            wall_ms: 5,
            counter: u32::MAX,
            node: 1,
        };
        let before = c;
        let next = c.tick(5);
        assert!(next > before);
        assert_eq!(
            next,
            Hlc {
                wall_ms: 6,
                counter: 0,
                node: 1
            }
        );
    }

    #[test]
    fn serializes_node_as_hex_and_round_trips() {
        let h = Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 3,
            node: u64::MAX,
        };
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"{"wall_ms":1700000000000,"counter":3,"node":"ffffffffffffffff"}"#
        );
        assert_eq!(serde_json::from_str::<Hlc>(&json).unwrap(), h);
    }

    #[test]
    fn rejects_far_future_remote() {
        let r = Hlc {
            wall_ms: 10 + MAX_DRIFT_MS + 1,
            counter: 0,
            node: 2,
        };
        assert!(Hlc::is_too_far_ahead(&r, 10));
        assert!(!Hlc::is_too_far_ahead(&r, 11));
    }

    proptest! {
        #[test]
        fn tick_is_strictly_monotonic(start in hlc(), nows in proptest::collection::vec(0u64..1_200, 1..50)) {
            let mut c = start;
            let mut last = start;
            for now in nows {
                let t = c.tick(now);
                prop_assert!(t > last);
                prop_assert!(t.wall_ms >= now);
                prop_assert_eq!(t.node, start.node);
                last = t;
            }
        }

        #[test]
        fn observe_moves_past_both(local in hlc(), remote in hlc(), now in 0u64..1_200) {
            let mut c = local;
            let t = c.observe(&remote, now);
            prop_assert!(t > local);
            prop_assert!((t.wall_ms, t.counter) > (remote.wall_ms, remote.counter));
            prop_assert!(t.wall_ms >= now);
            prop_assert_eq!(t.node, local.node);
            prop_assert_eq!(c, t);
        }

        #[test]
        fn order_is_total_and_matches_bytes(a in hlc(), b in hlc()) {
            // Exactly one of <, ==, > holds, and the byte encoding sorts the same way.
            let lt = a < b;
            let eq = a == b;
            let gt = a > b;
            prop_assert_eq!(u8::from(lt) + u8::from(eq) + u8::from(gt), 1);
            prop_assert_eq!(a.cmp(&b), a.to_bytes().cmp(&b.to_bytes()));
            prop_assert_eq!(Hlc::from_bytes(a.to_bytes()), a);
        }

        #[test]
        fn causality_across_devices(
            steps in proptest::collection::vec((any::<bool>(), 0u64..1_000), 1..40)
        ) {
            // Two devices exchanging messages: a received timestamp is always before every
            // later event of the receiver (happened-before implies <).
            let mut a = Hlc::zero(1);
            let mut b = Hlc::zero(2);
            for (a_sends, now) in steps {
                if a_sends {
                    let sent = a.tick(now);
                    let got = b.observe(&sent, now / 2);
                    prop_assert!(got > sent);
                } else {
                    let sent = b.tick(now);
                    let got = a.observe(&sent, now / 3);
                    prop_assert!(got > sent);
                }
            }
        }
    }
}
