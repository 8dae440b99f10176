//! OpenAPI schemas of the wire (feature `openapi`, for the server's document; the device build
//! has no utoipa). The messages of this crate derive theirs; the types they carry from
//! `reintegra-core` ([`Op`], its [`Change`] and [`Hlc`], the ids, [`User`]) are described here
//! as their serde form writes them, since core knows nothing of OpenAPI. Both directions are
//! checked by the server's API fuzz (`crates/server/tests/fuzz_api.rs`): every body generated
//! from these schemas is read by the real types, and every answer the server gives matches them.
#![allow(dead_code)] // the types exist only for their schemas

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::{Version, PROTOCOL_VERSION};

impl PartialSchema for Version {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some([PROTOCOL_VERSION]))
            .description(Some(
                "La versión del protocolo; va primero y se lee antes que todo lo demás \
                 (otra versión: 400 unsupported_version; sin ella: 400 missing_version)",
            ))
            .into()
    }
}

impl ToSchema for Version {
    fn name() -> std::borrow::Cow<'static, str> {
        "Version".into()
    }
}

/// A user's id (UUID).
#[derive(Serialize, ToSchema)]
pub struct UserId(Uuid);

/// A device's id (UUID).
#[derive(Serialize, ToSchema)]
pub struct DeviceId(Uuid);

/// The kinds of records that sync.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Person,
    Referral,
    FollowUp,
    CaseNote,
    Provider,
    User,
    Audit,
}

/// A hybrid logical clock timestamp.
#[derive(Serialize, ToSchema)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (more than 10 minutes ahead of the server's clock:
    /// the op is rejected `clock_ahead`).
    wall_ms: u64,
    /// Orders events within the same millisecond.
    #[schema(maximum = 4294967295_u64)]
    counter: u32,
    /// The device that made the timestamp (the tail of its id), 16 hex digits.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    node: String,
}

/// What happened to a record.
#[derive(Serialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The record was created: the whole record (its JSON form, checked by the server against
    /// its kind).
    Create {
        /// The record of the op's kind, free JSON here: the server reads it as that kind's
        /// domain type (its `id` the op's), bounded in sizes and list lengths, and refuses the
        /// op alone (`rejected{invalid}`) when it is not one; enum values it does not know are
        /// kept.
        record: Map<String, Value>,
    },
    /// Some top-level fields changed: their new values (`null` when a field was removed).
    Update {
        /// Top-level fields of the record and their new values (checked as for `create`, on
        /// the record they produce).
        fields: Map<String, Value>,
    },
    /// The record was deleted.
    Delete,
}

/// A change to one record.
#[derive(Serialize, ToSchema)]
pub struct Change {
    entity: EntityKind,
    id: Uuid,
    #[serde(flatten)]
    action: Action,
}

/// One operation of a device's outbox.
#[derive(Serialize, ToSchema)]
pub struct Op {
    /// Unique id (UUIDv7); the server applies each op at most once.
    op_id: Uuid,
    author: UserId,
    device: DeviceId,
    hlc: Hlc,
    /// The server sequence this device had pulled up to when it made the change (0 if absent).
    #[serde(default)]
    base_seq: u64,
    change: Change,
}

/// A user's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Caseworker,
    Reception,
}

/// A user of the system.
#[derive(Serialize, ToSchema)]
pub struct User {
    id: UserId,
    name: String,
    /// What the user types to sign in (older records: empty, the name is the login).
    #[serde(default)]
    login: String,
    role: Role,
    /// The municipality code of the user's office; null for central staff.
    office_municipality: Option<String>,
    active: bool,
    #[serde(default)]
    also_supervisor: bool,
}

/// Every schema of the wire, by name, for the document's components.
pub fn components() -> Vec<(String, RefOr<Schema>)> {
    let mut all = Vec::new();
    fn add<T: ToSchema>(all: &mut Vec<(String, RefOr<Schema>)>) {
        all.push((T::name().into_owned(), T::schema()));
        T::schemas(all);
    }
    add::<crate::EnrollRequest>(&mut all);
    add::<crate::EnrollResponse>(&mut all);
    add::<crate::PushRequest>(&mut all);
    add::<crate::PushResponse>(&mut all);
    add::<crate::AppliedRequest>(&mut all);
    add::<crate::AppliedResponse>(&mut all);
    add::<crate::PullResponse>(&mut all);
    add::<crate::StateResponse>(&mut all);
    add::<crate::BucketsResponse>(&mut all);
    add::<crate::RecordsResponse>(&mut all);
    add::<crate::ConflictsResponse>(&mut all);
    add::<crate::ResolveRequest>(&mut all);
    add::<crate::ResolveResponse>(&mut all);
    add::<crate::ErrorBody>(&mut all);
    add::<Version>(&mut all);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    all
}
