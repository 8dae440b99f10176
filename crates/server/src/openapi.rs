//! The OpenAPI document of `/v1`, built with utoipa from one table of endpoints. The table is
//! the document's only source; `routes::router` lists the endpoints a second time (with their
//! handlers), and a test reconciles the two: it asks the running server for every path of the
//! document (none may fall through to "not found") and compares the document with
//! `docs/openapi.json`.

use reintegra_proto::CONTENT_TYPE_ZSTD_JSON;
use serde_json::Value;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApiBuilder, PathItem,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder,
};

const JSON: &str = "application/json";

/// What a parameter holds.
#[derive(Clone, Copy)]
pub enum Param {
    /// A whole number from 0 up to the given maximum (`u64::MAX`: any the server reads).
    Int(u64),
    Uuid,
    Bool,
}

/// One endpoint of the API.
pub struct Endpoint {
    pub method: HttpMethod,
    pub path: &'static str,
    summary: &'static str,
    /// Content type and schema (a component of `reintegra-proto`) of the request body, if any.
    request: Option<(&'static str, &'static str)>,
    /// Content type and schema of the success response.
    response: (&'static str, &'static str),
    /// Path and query parameters: where, name, whether it must be given, what it holds,
    /// description.
    params: &'static [(ParameterIn, &'static str, Required, Param, &'static str)],
    /// The error statuses it may answer besides 503 (every one an [`ErrorBody`] in JSON).
    errors: &'static [u16],
    authenticated: bool,
}

/// What an error status means (the `code` of the body says exactly what).
fn error_status(status: u16) -> &'static str {
    match status {
        400 => "entrada inválida: bad_json, missing_version, unsupported_version, bad_compression, bad_request, invalid, no_such_user, code_for_joining, code_for_first_device, bad_resolution",
        401 => "sin token, token desconocido o de un dispositivo dado de baja: no_token, unknown_device, device_revoked",
        403 => "no autorizado: bad_enroll_code, forbidden, out_of_scope (con op_ids)",
        404 => "no existe: unknown_conflict, not_found",
        409 => "en conflicto con lo que hay: device_exists, already_resolved",
        413 => "demasiado grande: too_large (cuerpo de más de 1 MiB comprimido u 8 MiB descomprimido), too_many_ops",
        429 => "demasiados intentos desde esta dirección (inscripciones o tokens rechazados): too_many_attempts, con Retry-After",
        503 => "el servidor no puede atender ahora (timeout: la solicitud tardó demasiado; database): vuelva a intentar",
        _ => "error",
    }
}

/// How the compressed bodies are framed, for the document's description.
const FRAMING: &str = "Los cuerpos `application/vnd.reintegra+json+zstd` (envío, lectura de \
    cambios, registros) son el JSON UTF-8 del mensaje comprimido como un solo frame zstd \
    (RFC 8878), sin otro encabezado ni longitud: el esquema describe el JSON de dentro. El \
    servidor lee a lo sumo 1 MiB comprimido y 8 MiB descomprimido (más: 413 too_large) y no \
    mira el Content-Type de la solicitud: lee el cuerpo como dice cada operación. Los errores \
    van siempre en JSON sin comprimir (ErrorBody). Cada mensaje lleva \"v\" (versión del \
    protocolo), que se lee antes que todo lo demás. Las operaciones autenticadas llevan \
    `Authorization: Bearer <device_token>` (el de la inscripción).";

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/enroll",
        summary: "Inscribe un dispositivo con un código de un solo uso",
        request: Some((
            JSON,
            "EnrollRequest",
        )),
        response: (
            JSON,
            "EnrollResponse",
        ),
        params: &[],
        errors: &[400, 403, 409, 413, 429],
        authenticated: false,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/push",
        summary: "Envía un lote de operaciones (cada una se aplica a lo sumo una vez)",
        request: Some((
            CONTENT_TYPE_ZSTD_JSON,
            "PushRequest",
        )),
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "PushResponse",
        ),
        params: &[],
        errors: &[400, 401, 403, 413, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/push/applied",
        summary: "Cuáles de estas operaciones del dispositivo ya aplicó el servidor (para reanudar un envío cortado sin reenviarlas)",
        request: Some((
            CONTENT_TYPE_ZSTD_JSON,
            "AppliedRequest",
        )),
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "AppliedResponse",
        ),
        params: &[],
        errors: &[400, 401, 413, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/pull",
        summary: "Cambios efectivos después de un cursor, en el alcance del dispositivo",
        request: None,
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "PullResponse",
        ),
        params: &[
            (
                ParameterIn::Query,
                "after",
                Required::True,
                Param::Int(u64::MAX),
                "el cursor: la secuencia ya aplicada",
            ),
            (
                ParameterIn::Query,
                "max_bytes",
                Required::False,
                Param::Int(u64::MAX),
                "tamaño máximo de la página comprimida",
            ),
        ],
        errors: &[400, 401, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/state",
        summary: "Secuencia del servidor y hash de estado del alcance del dispositivo",
        request: None,
        response: (JSON, "StateResponse"),
        params: &[],
        errors: &[401, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/state/buckets",
        summary: "Los 256 hashes de cubeta, para encontrar dónde difieren dos copias",
        request: None,
        response: (JSON, "BucketsResponse"),
        params: &[],
        errors: &[401, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/records",
        summary: "Los registros actuales de una cubeta (reparación)",
        request: None,
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "RecordsResponse",
        ),
        params: &[(
            ParameterIn::Query,
            "bucket",
            Required::True,
            Param::Int(255),
            "la cubeta, 0–255",
        )],
        errors: &[400, 401, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/conflicts",
        summary: "Una página de la cola de conflictos del alcance del dispositivo, del más antiguo al más nuevo (por id); solo los no resueltos salvo all=true",
        request: None,
        response: (
            JSON,
            "ConflictsResponse",
        ),
        params: &[
            (
                ParameterIn::Query,
                "user",
                Required::True,
                Param::Uuid,
                "quien lee (UUID): un usuario activo de la oficina del dispositivo que puede resolver conflictos; si no, 403",
            ),
            (
                ParameterIn::Query,
                "after",
                Required::False,
                Param::Uuid,
                "id (UUID) del último conflicto ya leído; sin él, desde el principio",
            ),
            (
                ParameterIn::Query,
                "limit",
                Required::False,
                Param::Int(u64::MAX),
                "conflictos por página: 200 si no se dice, 1000 como máximo",
            ),
            (
                ParameterIn::Query,
                "all",
                Required::False,
                Param::Bool,
                "true: también los ya resueltos (con su resolución)",
            ),
        ],
        errors: &[400, 401, 403, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/conflicts/{id}/resolve",
        summary: "Resuelve un conflicto con el valor elegido (se aplica como una operación nueva)",
        request: Some((JSON, "ResolveRequest")),
        response: (JSON, "ResolveResponse"),
        params: &[(
            ParameterIn::Path,
            "id",
            Required::True,
            Param::Uuid,
            "id del conflicto (UUID)",
        )],
        errors: &[400, 401, 403, 404, 409, 413, 429],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/openapi.json",
        summary: "Este documento",
        request: None,
        response: (JSON, ""),
        params: &[],
        errors: &[],
        authenticated: false,
    },
];

/// A body whose schema is a component (empty name: any JSON object).
fn body(schema: &str) -> utoipa::openapi::Content {
    let schema: RefOr<Schema> = if schema.is_empty() {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .into()
    } else {
        Ref::from_schema_name(schema).into()
    };
    ContentBuilder::new().schema(Some(schema)).build()
}

/// What a parameter holds, as a schema.
fn param_schema(param: Param) -> Schema {
    let builder = match param {
        // No `int64` format: the server reads these as unsigned 64-bit numbers, up to the
        // maximum said.
        Param::Int(max) => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .minimum(Some(0))
            .maximum(Some(max)),
        Param::Uuid => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        Param::Bool => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Boolean)),
    };
    builder.build().into()
}

/// The document.
pub fn document() -> Value {
    let mut paths = PathsBuilder::new();
    for e in ENDPOINTS {
        let mut op = OperationBuilder::new().summary(Some(e.summary)).response(
            "200",
            ResponseBuilder::new()
                .description(if e.response.0 == JSON {
                    "correcto"
                } else {
                    "correcto: el JSON del esquema, comprimido con zstd (un frame)"
                })
                .content(e.response.0, body(e.response.1)),
        );
        for status in e.errors.iter().chain(&[503]) {
            let mut response = ResponseBuilder::new()
                .description(error_status(*status))
                .content(JSON, body("ErrorBody"));
            if *status == 429 {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(param_schema(Param::Int(u64::MAX)))
                        .description(Some("segundos que esperar antes de volver a intentar"))
                        .build(),
                );
            }
            op = op.response(status.to_string(), response);
        }
        if let Some((content_type, schema)) = e.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some(if content_type == JSON {
                        "JSON UTF-8 (se lee como JSON sea cual sea el Content-Type)"
                    } else {
                        "el JSON del esquema comprimido con zstd, un frame (≤ 1 MiB comprimido, ≤ 8 MiB descomprimido)"
                    }))
                    .required(Some(Required::True))
                    .content(content_type, body(schema))
                    .build(),
            ));
        }
        for (place, name, required, param, description) in e.params {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(place.clone())
                    .required(required.clone())
                    .schema(Some(param_schema(*param)))
                    .description(Some(*description)),
            );
        }
        if e.authenticated {
            op = op.security(SecurityRequirement::new(
                "device_token",
                Vec::<String>::new(),
            ));
        }
        paths = paths.path(e.path, PathItem::new(e.method.clone(), op));
    }
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Reintegra — endpoint de formulario único")
                .version(format!("v{}", reintegra_proto::PROTOCOL_VERSION))
                .description(Some(format!(
                    "Sincronización de dispositivos Reintegra. {FRAMING} Contrato completo: \
                     docs/sync.md."
                ))),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(reintegra_proto::schema::components())
                .security_scheme(
                    "device_token",
                    SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
                )
                .build(),
        ))
        .build();
    serde_json::to_value(doc).unwrap_or_default()
}
