//! Every failure a request can meet, with its HTTP status and stable code. Bad input is a 4xx
//! with a body that says what is wrong; only a failing database is a 5xx, and its answer says
//! nothing of the database (no SQL, no table, no stored value): the detail goes to the
//! server's log ([`crate::log`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reintegra_proto::{ErrorBody, Outcome, ProtoError, Version};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error("falta el token del dispositivo (Authorization: Bearer …)")]
    NoToken,
    #[error("este dispositivo no está inscrito en este servidor")]
    UnknownDevice,
    #[error("este dispositivo fue dado de baja; inscríbalo de nuevo con un código")]
    DeviceRevoked,
    #[error("el código de inscripción no existe, ya se usó o venció")]
    BadEnrollCode,
    #[error("ya hay un dispositivo inscrito con ese id: un dispositivo se inscribe una sola vez (para reemplazarlo, inscriba uno nuevo)")]
    DeviceExists,
    #[error("este código es para unirse a una oficina con un usuario que ya existe: use «Unirse a una oficina»")]
    CodeForJoining,
    #[error("este código es para el primer equipo de una oficina, no para unirse: pida un código hecho para su usuario (enroll-code --login)")]
    CodeForFirstDevice,
    #[error("no hay ningún usuario activo «{0}» que trabaje en esa oficina")]
    NoSuchUser(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("«{0}» no es una oficina: use «*» o el código de un municipio (SV-…)")]
    NotAnOffice(String),
    #[error("la operación {0} es de otro dispositivo")]
    OtherDevicesOp(Uuid),
    #[error("operaciones fuera de la oficina de este dispositivo: {}", ids(.0))]
    OutOfScope(Vec<Uuid>),
    #[error("no existe esa ruta")]
    NotFound,
    #[error("no existe ese conflicto")]
    UnknownConflict,
    #[error("el conflicto ya fue resuelto")]
    AlreadyResolved,
    #[error("un conflicto se resuelve con el valor que ganó o con el que perdió, no con otro")]
    BadResolution,
    #[error("{0}")]
    Forbidden(String),
    /// A value that would leave a record its kind cannot read ([`crate::validate`]).
    #[error("{0}")]
    Invalid(String),
    #[error("el lote trae {0} operaciones y el máximo es {max}: envíelas en lotes más pequeños", max = reintegra_proto::MAX_BATCH_OPS)]
    TooManyOps(usize),
    #[error("demasiados intentos de inscripción desde esta dirección; espere {0} segundos y vuelva a intentar")]
    TooManyAttempts(u64),
    #[error("la solicitud tardó demasiado y se cortó; vuelva a intentar")]
    Timeout,
    #[error("error de la base de datos del servidor: {0}")]
    Database(#[from] sqlx::Error),
    #[error("un dato guardado en el servidor está dañado: {0}")]
    Corrupt(String),
    #[error("no se pudo usar la carpeta de datos: {0}")]
    DataDir(String),
}

fn ids(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ServerError {
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Proto(e) => e.code(),
            ServerError::NoToken => "no_token",
            ServerError::UnknownDevice => "unknown_device",
            ServerError::DeviceRevoked => "device_revoked",
            ServerError::BadEnrollCode => "bad_enroll_code",
            ServerError::DeviceExists => "device_exists",
            ServerError::CodeForJoining => "code_for_joining",
            ServerError::CodeForFirstDevice => "code_for_first_device",
            ServerError::NoSuchUser(_) => "no_such_user",
            ServerError::BadRequest(_)
            | ServerError::NotAnOffice(_)
            | ServerError::OtherDevicesOp(_) => "bad_request",
            ServerError::OutOfScope(_) => "out_of_scope",
            ServerError::UnknownConflict => "unknown_conflict",
            ServerError::NotFound => "not_found",
            ServerError::AlreadyResolved => "already_resolved",
            ServerError::BadResolution => "bad_resolution",
            ServerError::Invalid(_) => "invalid",
            ServerError::Forbidden(_) => "forbidden",
            ServerError::TooManyAttempts(_) => "too_many_attempts",
            ServerError::TooManyOps(_) => "too_many_ops",
            ServerError::Timeout => "timeout",
            ServerError::Database(_) => "database",
            ServerError::Corrupt(_) => "corrupt",
            ServerError::DataDir(_) => "data_dir",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Proto(ProtoError::TooLarge { .. }) | ServerError::TooManyOps(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ServerError::Proto(_)
            | ServerError::BadRequest(_)
            | ServerError::NotAnOffice(_)
            | ServerError::OtherDevicesOp(_)
            | ServerError::BadResolution
            | ServerError::Invalid(_)
            | ServerError::CodeForJoining
            | ServerError::CodeForFirstDevice
            | ServerError::NoSuchUser(_) => StatusCode::BAD_REQUEST,
            ServerError::NoToken | ServerError::UnknownDevice | ServerError::DeviceRevoked => {
                StatusCode::UNAUTHORIZED
            }
            ServerError::BadEnrollCode => StatusCode::FORBIDDEN,
            ServerError::OutOfScope(_) | ServerError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServerError::UnknownConflict | ServerError::NotFound => StatusCode::NOT_FOUND,
            ServerError::AlreadyResolved | ServerError::DeviceExists => StatusCode::CONFLICT,
            ServerError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Database(_) | ServerError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Corrupt(_) | ServerError::DataDir(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a client is told of a failure inside the server: words that name no internals.
const UNAVAILABLE: &str =
    "el servidor no puede atender esta solicitud ahora; vuelva a intentar más tarde";

impl ServerError {
    /// Whether the failure is the server's own (its detail stays in the server's log).
    fn is_internal(&self) -> bool {
        matches!(
            self,
            ServerError::Database(_) | ServerError::Corrupt(_) | ServerError::DataDir(_)
        )
    }

    /// The message a client gets: the error's words, or a generic one for the server's own
    /// failures.
    pub fn public_message(&self) -> String {
        if self.is_internal() {
            UNAVAILABLE.to_string()
        } else {
            self.to_string()
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        if self.is_internal() {
            crate::log::error(self.code(), &self);
        }
        let body = ErrorBody {
            v: Version::default(),
            code: self.code().to_string(),
            message: self.public_message(),
            op_ids: match &self {
                ServerError::OutOfScope(ids) => ids.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let ServerError::TooManyAttempts(wait) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, wait.into());
        }
        response
    }
}

/// Why one op of a push was refused while the rest of the batch goes on: a stable code, and
/// words for the person at the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// The op's clock is too far ahead of the server's.
    ClockAhead,
    /// The merge refused the op; its code (`deleted`: the record was deleted on the server).
    Merge(&'static str),
    /// Its author may not make this change (unknown or inactive user, another office, a role
    /// without the permission, or a change nobody may make): why, in words.
    Forbidden(String),
    /// What it holds is not a record of its kind, or passes a bound ([`crate::validate`]).
    Invalid(String),
}

impl From<Rejected> for Outcome {
    fn from(rejected: Rejected) -> Outcome {
        let (code, reason) = match rejected {
            Rejected::ClockAhead => (
                "clock_ahead",
                "el reloj de este dispositivo está adelantado: corrija la fecha y la hora y vuelva a sincronizar".to_string(),
            ),
            Rejected::Merge("list_too_long") => (
                "list_too_long",
                format!(
                    "una lista del registro pasaría de {} elementos",
                    reintegra_core::merge::MAX_LIST_ITEMS
                ),
            ),
            Rejected::Merge(code) => (code, "el registro fue borrado en el servidor".to_string()),
            Rejected::Forbidden(reason) => ("forbidden", reason),
            Rejected::Invalid(reason) => ("invalid", reason),
        };
        Outcome::Rejected {
            code: code.into(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_found_by_the_db_layer_is_a_bad_request() {
        for e in [
            ServerError::NotAnOffice("SV-XX".into()),
            ServerError::OtherDevicesOp(Uuid::nil()),
        ] {
            assert_eq!(
                (e.code(), e.status()),
                ("bad_request", StatusCode::BAD_REQUEST)
            );
        }
        assert_eq!(
            ServerError::NotAnOffice("SV-XX".into()).to_string(),
            "«SV-XX» no es una oficina: use «*» o el código de un municipio (SV-…)"
        );
    }

    #[test]
    fn the_servers_own_failures_name_no_internals() {
        let leaky = [
            ServerError::Database(sqlx::Error::Protocol(
                "no such table: conflicts (SELECT body FROM conflicts)".into(),
            )),
            ServerError::Corrupt("invalid type: string \"Rosa Pérez\"".into()),
            ServerError::DataDir("/srv/reintegra: permission denied".into()),
        ];
        for e in leaky {
            let message = e.public_message();
            assert_eq!(message, UNAVAILABLE);
            assert!(
                e.to_string().len() > message.len() / 2,
                "the log keeps the detail"
            );
        }
        assert_eq!(
            ServerError::BadEnrollCode.public_message(),
            ServerError::BadEnrollCode.to_string()
        );
    }

    #[test]
    fn a_rejected_op_keeps_its_code() {
        let codes = [
            Rejected::ClockAhead,
            Rejected::Merge("deleted"),
            Rejected::Merge("list_too_long"),
            Rejected::Forbidden("no".into()),
            Rejected::Invalid("no".into()),
        ]
        .map(|r| match r.into() {
            Outcome::Rejected { code, .. } => code,
            other => panic!("{other:?}"),
        });
        assert_eq!(
            codes,
            [
                "clock_ahead",
                "deleted",
                "list_too_long",
                "forbidden",
                "invalid"
            ]
        );
    }
}
