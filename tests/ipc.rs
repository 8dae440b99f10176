//! Commands through Tauri's real IPC layer (mock runtime, no window): the capability file must
//! allow what the UI calls, and the answers must have the shape the UI's bindings expect.

use reintegra_core::territory::{Department, Place};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

fn invoke(command: &str, args: Value) -> Result<Value, Value> {
    let app = reintegra_app::app_builder(mock_builder())
        .build(tauri::generate_context!())
        .expect("build app");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("main window");
    let request = InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("url"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(&webview, request).map(|body| body.deserialize().expect("json body"))
}

#[test]
fn district_search_is_accent_insensitive() {
    let found: Vec<Place> = serde_json::from_value(
        invoke(
            "territory_search",
            json!({"query": "nueva concepcion", "limit": 5}),
        )
        .expect("ok"),
    )
    .expect("places");
    assert_eq!(found[0].district_name, "Nueva Concepción");
    assert!(found[0].prioritized);
}

#[test]
fn search_limit_is_optional_and_capped() {
    let found: Vec<Place> =
        serde_json::from_value(invoke("territory_search", json!({"query": "a"})).expect("ok"))
            .expect("places");
    assert_eq!(found.len(), 20, "default limit");
    let found: Vec<Place> = serde_json::from_value(
        invoke("territory_search", json!({"query": "a", "limit": 10_000})).expect("ok"),
    )
    .expect("places");
    assert_eq!(found.len(), 50, "capped limit");
}

#[test]
fn departments_list_the_whole_country() {
    let deps: Vec<Department> =
        serde_json::from_value(invoke("territory_departments", json!({})).expect("ok"))
            .expect("departments");
    assert_eq!(deps.len(), 14);
}

#[test]
fn unknown_commands_are_refused() {
    assert!(invoke("no_such_command", json!({})).is_err());
}

#[test]
fn the_language_choice_is_remembered_in_the_config_dir() {
    let config = tempfile::tempdir().expect("temp dir");
    // nextest runs each test in its own process, so this affects only this test.
    std::env::set_var("XDG_CONFIG_HOME", config.path());

    assert_eq!(invoke("preferences_language", json!({})), Ok(json!("es")));
    assert_eq!(
        invoke("set_preferences_language", json!({"language": "en"})),
        Ok(Value::Null)
    );
    assert_eq!(invoke("preferences_language", json!({})), Ok(json!("en")));
    assert!(config
        .path()
        .join("sv.reintegra.app/preferences.json")
        .is_file());
    assert!(
        invoke("set_preferences_language", json!({"language": "fr"})).is_err(),
        "unknown languages are refused"
    );
}
