//! Every failure a request can meet, with its HTTP status and stable code. Bad input is a 4xx
//! with a body that says what is wrong; only a failing database is a 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reintegra_proto::{ErrorBody, ProtoError, Version};
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
    #[error("{0}")]
    BadRequest(String),
    #[error("operaciones fuera de la oficina de este dispositivo: {}", ids(.0))]
    OutOfScope(Vec<Uuid>),
    #[error("no existe esa persona en el alcance de este dispositivo")]
    UnknownPerson,
    #[error("no existe esa ruta")]
    NotFound,
    #[error("no existe ese conflicto")]
    UnknownConflict,
    #[error("el conflicto ya fue resuelto")]
    AlreadyResolved,
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
            ServerError::BadRequest(_) => "bad_request",
            ServerError::OutOfScope(_) => "out_of_scope",
            ServerError::UnknownConflict => "unknown_conflict",
            ServerError::UnknownPerson => "unknown_person",
            ServerError::NotFound => "not_found",
            ServerError::AlreadyResolved => "already_resolved",
            ServerError::Database(_) => "database",
            ServerError::Corrupt(_) => "corrupt",
            ServerError::DataDir(_) => "data_dir",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Proto(ProtoError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::Proto(_) | ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::NoToken | ServerError::UnknownDevice | ServerError::DeviceRevoked => {
                StatusCode::UNAUTHORIZED
            }
            ServerError::BadEnrollCode => StatusCode::FORBIDDEN,
            ServerError::OutOfScope(_) => StatusCode::FORBIDDEN,
            ServerError::UnknownConflict | ServerError::UnknownPerson | ServerError::NotFound => {
                StatusCode::NOT_FOUND
            }
            ServerError::AlreadyResolved => StatusCode::CONFLICT,
            ServerError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Corrupt(_) | ServerError::DataDir(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            v: Version::default(),
            code: self.code().to_string(),
            message: self.to_string(),
            op_ids: match &self {
                ServerError::OutOfScope(ids) => ids.clone(),
                _ => Vec::new(),
            },
        };
        (self.status(), axum::Json(body)).into_response()
    }
}
