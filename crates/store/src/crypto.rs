//! Keys and sealing. The data key is random; each user's passphrase derives (Argon2id) a key
//! that wraps it. Values are sealed with XChaCha20-Poly1305 under the data key with a random
//! 24-byte nonce per write; the storage key is the associated data, so a sealed value moved to
//! another key does not open. Index keys that contain personal data are BLAKE3 keyed hashes
//! under a key derived from the data key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

const NONCE_LEN: usize = 24;
/// Format byte of a sealed value.
const SEALED_V1: u8 = 1;
/// Plaintext flag: stored as is / zstd-compressed.
const RAW: u8 = 0;
const ZSTD: u8 = 1;
/// zstd with the raw-content dictionary `zstd-dict-v1.json` (typical record and op JSON).
const ZSTD_DICT_V1: u8 = 2;
static DICT_V1: &[u8] = include_bytes!("zstd-dict-v1.json");
/// Values shorter than this are not worth compressing.
const COMPRESS_MIN: usize = 64;
const ZSTD_LEVEL: i32 = 3;
/// Largest plaintext we accept to decompress (protects against decompression bombs in a
/// damaged file).
const MAX_PLAINTEXT: usize = 64 * 1024 * 1024;

/// Argon2id parameters, recorded with each user's wrapped key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl KdfParams {
    /// For real users: 64 MiB, 3 passes, 1 lane (about half a second on a modest laptop).
    pub const RECOMMENDED: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// Only for tests and benchmarks of other things: fast and weak. Still recorded in the store.
    pub const INSECURE_FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    fn argon2(&self) -> Result<argon2::Argon2<'static>> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| Error::BadKdfParams(e.to_string()))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

fn encoder_dict() -> &'static zstd::dict::EncoderDictionary<'static> {
    static DICT: std::sync::OnceLock<zstd::dict::EncoderDictionary<'static>> =
        std::sync::OnceLock::new();
    DICT.get_or_init(|| zstd::dict::EncoderDictionary::copy(DICT_V1, ZSTD_LEVEL))
}

thread_local! {
    /// One decompression context per thread: making one per value cost about a fifth of
    /// reading a whole store at unlock.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress_with_dict(frame: &[u8], size: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut context = cell.borrow_mut();
        let decompressor = match &mut *context {
            Some(d) => d,
            empty => empty.insert(zstd::bulk::Decompressor::with_prepared_dictionary(
                decoder_dict(),
            )?),
        };
        decompressor.decompress(frame, size)
    })
}

fn decoder_dict() -> &'static zstd::dict::DecoderDictionary<'static> {
    static DICT: std::sync::OnceLock<zstd::dict::DecoderDictionary<'static>> =
        std::sync::OnceLock::new();
    DICT.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICT_V1))
}

thread_local! {
    /// One compression context per thread, as for decompression: making one per value was
    /// about a tenth of an import's write.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn compress(plaintext: &[u8]) -> Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut context = cell.borrow_mut();
        let compressor = match &mut *context {
            Some(c) => c,
            empty => {
                let mut c = zstd::bulk::Compressor::with_prepared_dictionary(encoder_dict())?;
                c.include_contentsize(true)?;
                empty.insert(c)
            }
        };
        Ok(compressor.compress(plaintext)?)
    })
}

/// A 32-byte secret, zeroized when dropped.
pub(crate) type Secret = Zeroizing<[u8; 32]>;

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// `len` random bytes (noise that overwrites a secret).
pub(crate) fn random_vec(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

pub(crate) fn random_secret() -> Secret {
    let mut s = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(s.as_mut());
    s
}

/// The keys of an unlocked store. Dropping it zeroizes them.
pub(crate) struct Keys {
    data: Secret,
    index: Secret,
    cipher: XChaCha20Poly1305,
}

impl Keys {
    pub(crate) fn new(data: Secret) -> Keys {
        let index = Zeroizing::new(blake3::derive_key(
            "reintegra store 2024 index key v1",
            data.as_ref(),
        ));
        let cipher = XChaCha20Poly1305::new(data.as_ref().into());
        Keys {
            data,
            index,
            cipher,
        }
    }

    pub(crate) fn data_key(&self) -> &Secret {
        &self.data
    }

    /// Seals `plaintext` for storage under `aad` (compressing it first when that helps).
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut inner = Zeroizing::new(Vec::with_capacity(plaintext.len() + 1));
        if plaintext.len() >= COMPRESS_MIN {
            let compressed = compress(plaintext)?;
            if compressed.len() < plaintext.len() {
                inner.push(ZSTD_DICT_V1);
                inner.extend_from_slice(&compressed);
            }
        }
        if inner.is_empty() {
            inner.push(RAW);
            inner.extend_from_slice(plaintext);
        }
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &inner, aad })
            .map_err(|_| Error::Engine("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a value sealed by [`Keys::seal`] under the same `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let corrupt = || Error::Corrupt("an encrypted value does not decrypt".into());
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEALED_V1 {
            return Err(corrupt());
        }
        let nonce = XNonce::from_slice(&sealed[1..1 + NONCE_LEN]);
        let inner = Zeroizing::new(
            self.cipher
                .decrypt(
                    nonce,
                    Payload {
                        msg: &sealed[1 + NONCE_LEN..],
                        aad,
                    },
                )
                .map_err(|_| corrupt())?,
        );
        match inner.split_first() {
            Some((&RAW, rest)) => Ok(Zeroizing::new(rest.to_vec())),
            Some((&flag, rest)) if flag == ZSTD || flag == ZSTD_DICT_V1 => {
                let bad = || Error::Corrupt("a compressed value does not decompress".into());
                // The frame records its size: allocate exactly that (bounded), not the maximum.
                let size = zstd::zstd_safe::get_frame_content_size(rest)
                    .ok()
                    .flatten()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n <= MAX_PLAINTEXT)
                    .ok_or_else(bad)?;
                let out = if flag == ZSTD {
                    zstd::bulk::decompress(rest, size).map_err(|_| bad())?
                } else {
                    decompress_with_dict(rest, size).map_err(|_| bad())?
                };
                if out.len() != size {
                    return Err(bad());
                }
                Ok(Zeroizing::new(out))
            }
            _ => Err(corrupt()),
        }
    }

    /// Schema-v0 sealing: `nonce || ciphertext` of the plaintext, no format byte, no compression.
    pub(crate) fn open_v0(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(Error::Corrupt("a schema-v0 value is truncated".into()));
        }
        let nonce = XNonce::from_slice(&sealed[..NONCE_LEN]);
        self.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[NONCE_LEN..],
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Corrupt("a schema-v0 value does not decrypt".into()))
    }

    #[cfg(test)]
    pub(crate) fn seal_v0(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: plaintext,
                        aad,
                    },
                )
                .expect("encrypt"),
        );
        out
    }

    /// A 16-byte keyed hash of an index value (lookups without plaintext on disk).
    /// The stored value of a grouped ordered index entry: the group's keyed hash, then `value`.
    pub(crate) fn grouped_value(&self, index: u8, group: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = self.index_hash(index, group).to_vec();
        out.extend_from_slice(value);
        out
    }

    pub(crate) fn index_hash(&self, index: u8, value: &[u8]) -> [u8; 16] {
        let mut h = blake3::Hasher::new_keyed(&self.index);
        h.update(&[index]);
        h.update(value);
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.finalize().as_bytes()[..16]);
        out
    }
}

/// One user's wrapped copy of the data key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct KeySlot {
    pub kdf: KdfParams,
    #[serde(with = "hex")]
    pub salt: Vec<u8>,
    #[serde(with = "hex")]
    pub nonce: Vec<u8>,
    #[serde(with = "hex")]
    pub wrapped: Vec<u8>,
    /// The domain user this login belongs to (the author of the ops made in its sessions).
    pub user_id: uuid::Uuid,
    /// Set by an admin for the user: it must be changed at the first sign-in.
    #[serde(default)]
    pub first_passphrase: bool,
    /// What the sign-in screen shows for this slot while the store is locked: the user's
    /// initials, never a login or a name (those stay inside the encrypted records).
    #[serde(default)]
    pub label: String,
}

fn derive_kek(passphrase: &str, salt: &[u8], kdf: &KdfParams) -> Result<Secret> {
    let mut kek = Zeroizing::new([0u8; 32]);
    kdf.argon2()?
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
        .map_err(|e| Error::BadKdfParams(e.to_string()))?;
    Ok(kek)
}

impl KeySlot {
    /// Wraps `data_key` for a passphrase. `aad` binds the slot to its store and login.
    pub(crate) fn wrap(
        data_key: &Secret,
        passphrase: &str,
        kdf: KdfParams,
        user_id: uuid::Uuid,
        aad: &[u8],
    ) -> Result<KeySlot> {
        let salt: [u8; 16] = random_bytes();
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let kek = derive_kek(passphrase, &salt, &kdf)?;
        let wrapped = XChaCha20Poly1305::new(kek.as_ref().into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data_key.as_ref(),
                    aad,
                },
            )
            .map_err(|_| Error::Engine("key wrapping failed".into()))?;
        Ok(KeySlot {
            kdf,
            salt: salt.to_vec(),
            nonce: nonce.to_vec(),
            wrapped,
            user_id,
            first_passphrase: false,
            label: String::new(),
        })
    }

    /// Unwraps the data key; a wrong passphrase fails authentication.
    pub(crate) fn unwrap_key(&self, passphrase: &str, aad: &[u8]) -> Result<Secret> {
        if self.nonce.len() != NONCE_LEN {
            return Err(Error::Corrupt("a key slot is damaged".into()));
        }
        let kek = derive_kek(passphrase, &self.salt, &self.kdf)?;
        let mut plain = XChaCha20Poly1305::new(kek.as_ref().into())
            .decrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: &self.wrapped,
                    aad,
                },
            )
            .map_err(|_| Error::WrongPassphrase)?;
        if plain.len() != 32 {
            plain.zeroize();
            return Err(Error::Corrupt("a key slot is damaged".into()));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&plain);
        plain.zeroize();
        Ok(key)
    }
}

pub(crate) mod hex {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn encode(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if text.len() % 2 != 0 {
            return None;
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).ok_or_else(|| D::Error::custom("bad hex"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_location_binding() {
        let keys = Keys::new(random_secret());
        let long = "Josefina Hernández ".repeat(20);
        for text in ["", "x", long.as_str()] {
            let sealed = keys.seal(b"k1", text.as_bytes()).unwrap();
            assert_eq!(&keys.open(b"k1", &sealed).unwrap()[..], text.as_bytes());
            assert!(matches!(keys.open(b"k2", &sealed), Err(Error::Corrupt(_))));
        }
        // Random nonce: same plaintext twice gives different bytes.
        assert_ne!(
            keys.seal(b"k", b"same").unwrap(),
            keys.seal(b"k", b"same").unwrap()
        );
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        let keys = Keys::new(random_secret());
        let sealed = keys.seal(b"k", &[7u8; 500]).unwrap();
        for cut in 0..sealed.len() {
            assert!(keys.open(b"k", &sealed[..cut]).is_err());
        }
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(keys.open(b"k", &flipped).is_err());
    }

    #[test]
    fn slot_unwraps_only_with_the_right_passphrase() {
        let key = random_secret();
        let slot = KeySlot::wrap(
            &key,
            "correcto",
            KdfParams::INSECURE_FAST,
            uuid::Uuid::nil(),
            b"a",
        )
        .unwrap();
        assert_eq!(*slot.unwrap_key("correcto", b"a").unwrap(), *key);
        assert!(matches!(
            slot.unwrap_key("incorrecto", b"a"),
            Err(Error::WrongPassphrase)
        ));
        let json = serde_json::to_string(&slot).unwrap();
        let back: KeySlot = serde_json::from_str(&json).unwrap();
        assert_eq!(*back.unwrap_key("correcto", b"a").unwrap(), *key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod dictionary_samples {
    //! Writes `src/zstd-dict-v1.json`, the raw-content zstd dictionary behind flag 2: typical
    //! JSON of each record kind and of outbox ops (field names, enum values; no real data).
    //! It is part of the on-disk format: never regenerate it once stores exist (add a v2).

    use chrono::{NaiveDate, TimeZone, Utc};
    use reintegra_core::audit::{AuditAction, AuditEntry, EntityRef, RecordKind};
    use reintegra_core::case_note::CaseNote;
    use reintegra_core::consent::{Consent, ConsentPurpose};
    use reintegra_core::dui::Dui;
    use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
    use reintegra_core::hlc::Hlc;
    use reintegra_core::ids::*;
    use reintegra_core::op::{Change, EntityKind, Op};
    use reintegra_core::person::{BirthDate, Education, Person, Sex};
    use reintegra_core::referral::{Referral, ServiceType};
    use reintegra_core::return_event::*;
    use reintegra_core::vulnerability::Vulnerability;
    use uuid::Uuid;

    #[test]
    #[ignore = "writes the committed dictionary"]
    fn write_dictionary() {
        let u = |n: u128| Uuid::from_u128(0x0190_a1b2_c3d4_7e5f_8a6b_7c8d_9e0f_0000 + n);
        let at = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let user = UserId::new(u(1));
        let mut p = Person::new(PersonId::new(u(2)), "María José", "Hernández", at);
        p.second_surname = "López".into();
        p.sex = Some(Sex::Female);
        p.birth_date = Some(BirthDate::Exact {
            date: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        });
        p.dui = Dui::from_body("01234567");
        p.phone = "7000-0000".into();
        p.origin_district = "SV-SS-san-salvador".into();
        p.destination_district = "SV-LI-la-libertad".into();
        p.education = Some(Education::Primary);
        p.occupation = "agricultor".into();
        p.skills = vec!["construcción".into()];
        p.household_notes = "Vive con familiares.".into();
        p.caseworker = Some(user);
        p.return_events.push(ReturnEvent {
            id: ReturnEventId::new(u(3)),
            date: day,
            modality: ReturnModality::Air,
            country_from: "US".into(),
            reception_center: ReceptionCenter::Gami,
            custody_days: Some(30),
            travelled: TravelCompanion::Alone,
            assistance: vec![
                ImmediateAssistance::Food,
                ImmediateAssistance::HygieneKit,
                ImmediateAssistance::Transport,
            ],
            assistance_notes: "Kit de higiene y transporte al municipio de destino.".into(),
        });
        p.vulnerabilities.push(Vulnerability::ChronicIllness);
        p.consents.push(Consent::new(
            ConsentId::new(u(4)),
            ConsentPurpose::Registration,
            day,
            user,
        ));
        let mut r = Referral::propose(
            ReferralId::new(u(5)),
            p.id,
            ServiceType::Vocational,
            at,
            user,
        );
        r.provider = Some(ProviderId::new(u(6)));
        r.reason = "Interés en curso de formación.".into();
        let consent = reintegra_core::consent::Consent::new(
            reintegra_core::ids::ConsentId::new(u(9)),
            reintegra_core::consent::ConsentPurpose::ReferralSharing {
                provider: None,
                service_type: None,
            },
            day,
            user,
        );
        r.send(&[consent], at, user, None).unwrap();
        let f = FollowUp::new(FollowUpId::new(u(7)), p.id, day, FollowUpChannel::Phone);
        let n = CaseNote {
            id: CaseNoteId::new(u(8)),
            person: p.id,
            text: "Entrevista de seguimiento.".into(),
            author: user,
            at,
            sensitive: false,
        };
        let a = AuditEntry::new(
            AuditId::new(u(9)),
            at,
            user,
            AuditAction::Update,
            EntityRef::new(RecordKind::Person, p.id),
        )
        .on_device(DeviceId::new(u(10)))
        .with_changed_fields(["phone"]);
        let op = |change: Change| Op {
            op_id: u(11),
            author: user,
            device: DeviceId::new(u(10)),
            hlc: Hlc {
                wall_ms: 1_717_243_200_000,
                counter: 0,
                node: 0x8a6b_7c8d_9e0f_0000,
            },
            base_seq: 0,
            change,
        };
        let pj = serde_json::to_value(&p).unwrap();
        let mut p2 = pj.clone();
        p2["phone"] = "7111-1111".into();
        let mut lines = vec![
            serde_json::to_string(&op(Change::between(
                EntityKind::Person,
                u(2),
                Some(&pj),
                &p2,
            )
            .unwrap()))
            .unwrap(),
            serde_json::to_string(&op(Change::between(
                EntityKind::Referral,
                u(5),
                None,
                &serde_json::to_value(&r).unwrap(),
            )
            .unwrap()))
            .unwrap(),
            serde_json::to_string(&f).unwrap(),
            serde_json::to_string(&n).unwrap(),
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&r).unwrap(),
            serde_json::to_string(&op(
                Change::between(EntityKind::Person, u(2), None, &pj).unwrap()
            ))
            .unwrap(),
            serde_json::to_string(&p).unwrap(),
        ];
        lines.push(String::new());
        // zstd favours the end of a raw dictionary: the most common shapes (person) go last.
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/zstd-dict-v1.json"),
            lines.join("\n"),
        )
        .unwrap();
    }
}
