//! The OpenAPI document of `/v1`, built with utoipa from one table of endpoints. The table is
//! the document's only source; `routes::router` lists the endpoints a second time (with their
//! handlers), and a test reconciles the two: it asks the running server for every path of the
//! document (none may fall through to "not found") and compares the document with
//! `docs/openapi.json`.

use reintegra_proto::CONTENT_TYPE_ZSTD_JSON;
use serde_json::Value;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApiBuilder, PathItem,
    PathsBuilder, Required, ResponseBuilder,
};

const JSON: &str = "application/json";

/// One endpoint of the API.
pub struct Endpoint {
    pub method: HttpMethod,
    pub path: &'static str,
    summary: &'static str,
    /// Content type and description of the request body, if any.
    request: Option<(&'static str, &'static str)>,
    /// Content type and description of the success response.
    response: (&'static str, &'static str),
    /// Path and query parameters: where, name, whether it must be given, description.
    params: &'static [(ParameterIn, &'static str, Required, &'static str)],
    authenticated: bool,
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/enroll",
        summary: "Inscribe un dispositivo con un código de un solo uso",
        request: Some((
            JSON,
            "EnrollRequest {v, code, device_id, device_name, join?}",
        )),
        response: (
            JSON,
            "EnrollResponse {v, device_token, office, server_id, user?}",
        ),
        params: &[],
        authenticated: false,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/push",
        summary: "Envía un lote de operaciones (cada una se aplica a lo sumo una vez)",
        request: Some((
            CONTENT_TYPE_ZSTD_JSON,
            "PushRequest {v, ops}, comprimido con zstd (≤ 1 MiB)",
        )),
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "PushResponse {v, results: [{op_id, status, …}], seq}, comprimido",
        ),
        params: &[],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/push/applied",
        summary: "Cuáles de estas operaciones del dispositivo ya aplicó el servidor (para reanudar un envío cortado sin reenviarlas)",
        request: Some((
            CONTENT_TYPE_ZSTD_JSON,
            "AppliedRequest {v, op_ids} (≤ 10 000), comprimido con zstd",
        )),
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "AppliedResponse {v, applied: [op_id]}, comprimido",
        ),
        params: &[],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/pull",
        summary: "Cambios efectivos después de un cursor, en el alcance del dispositivo",
        request: None,
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "PullResponse {v, changes: [{seq, op}], next, more, server: {id, epoch}}",
        ),
        params: &[
            (
                ParameterIn::Query,
                "after",
                Required::True,
                "el cursor: la secuencia ya aplicada",
            ),
            (
                ParameterIn::Query,
                "max_bytes",
                Required::False,
                "tamaño máximo de la página comprimida",
            ),
        ],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/state",
        summary: "Secuencia del servidor y hash de estado del alcance del dispositivo",
        request: None,
        response: (JSON, "StateResponse {v, seq, hash, server: {id, epoch}}"),
        params: &[],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/state/buckets",
        summary: "Los 256 hashes de cubeta, para encontrar dónde difieren dos copias",
        request: None,
        response: (JSON, "BucketsResponse {v, buckets}"),
        params: &[],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/records",
        summary: "Los registros actuales de una cubeta (reparación)",
        request: None,
        response: (
            CONTENT_TYPE_ZSTD_JSON,
            "RecordsResponse {v, records: [{entity, id, record}]}",
        ),
        params: &[(
            ParameterIn::Query,
            "bucket",
            Required::True,
            "la cubeta, 0–255",
        )],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/conflicts",
        summary: "Una página de la cola de conflictos del alcance del dispositivo, del más antiguo al más nuevo (por id); solo los no resueltos salvo all=true",
        request: None,
        response: (
            JSON,
            "ConflictsResponse {v, conflicts, next?}: next es el id con que pedir la página siguiente (after=next); sin next no hay más",
        ),
        params: &[
            (
                ParameterIn::Query,
                "user",
                Required::True,
                "quien lee (UUID): un usuario activo de la oficina del dispositivo que puede resolver conflictos; si no, 403",
            ),
            (
                ParameterIn::Query,
                "after",
                Required::False,
                "id (UUID) del último conflicto ya leído; sin él, desde el principio",
            ),
            (
                ParameterIn::Query,
                "limit",
                Required::False,
                "conflictos por página: 200 si no se dice, 1000 como máximo",
            ),
            (
                ParameterIn::Query,
                "all",
                Required::False,
                "true: también los ya resueltos (con su resolución)",
            ),
        ],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Post,
        path: "/v1/conflicts/{id}/resolve",
        summary: "Resuelve un conflicto con el valor elegido (se aplica como una operación nueva)",
        request: Some((JSON, "ResolveRequest {v, value, author}")),
        response: (JSON, "ResolveResponse {v, seq}"),
        params: &[(
            ParameterIn::Path,
            "id",
            Required::True,
            "id del conflicto (UUID)",
        )],
        authenticated: true,
    },
    Endpoint {
        method: HttpMethod::Get,
        path: "/v1/openapi.json",
        summary: "Este documento",
        request: None,
        response: (JSON, "OpenAPI 3.1"),
        params: &[],
        authenticated: false,
    },
];

/// A body of any content type, described in words (the messages are in `reintegra-proto`).
fn described(description: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some(description))
                .build(),
        ))
        .build()
}

/// The document.
pub fn document() -> Value {
    let mut paths = PathsBuilder::new();
    for e in ENDPOINTS {
        let mut op = OperationBuilder::new()
            .summary(Some(e.summary))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("correcto")
                    .content(e.response.0, described(e.response.1)),
            )
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description(
                        "entrada inválida o no autorizada: {v, code, message} (429 \
                         too_many_attempts: demasiados intentos de inscripción, con Retry-After)",
                    )
                    .content(JSON, described("ErrorBody {v, code, message, op_ids?}")),
            )
            .response(
                "503",
                ResponseBuilder::new()
                    .description(
                        "el servidor no puede atender ahora (timeout: la solicitud tardó \
                         demasiado; database): vuelva a intentar",
                    )
                    .content(JSON, described("ErrorBody {v, code, message}")),
            );
        if let Some((content_type, description)) = e.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(content_type, described(description))
                    .build(),
            ));
        }
        for (place, name, required, description) in e.params {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(place.clone())
                    .required(required.clone())
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
                .description(Some(
                    "Sincronización de dispositivos Reintegra. Cada mensaje lleva \"v\" (versión \
                     del protocolo). Contrato completo: docs/sync.md.",
                )),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "device_token",
                    SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
                )
                .build(),
        ))
        .build();
    serde_json::to_value(doc).unwrap_or_default()
}
