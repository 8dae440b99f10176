//! The Tauri shell: wiring only. Commands parse their input, call the Tauri-free crates and map
//! errors to `{code, message}` for the UI.

mod commands;
mod error;
mod preferences;

/// Builds the app on any runtime, so tests can pass Tauri's mock builder.
pub fn app_builder<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::territory_departments,
        commands::territory_search,
        commands::preferences_language,
        commands::set_preferences_language,
    ])
}

pub fn run() {
    let app = app_builder(tauri::Builder::default()).run(tauri::generate_context!());
    if let Err(e) = app {
        eprintln!("Reintegra no pudo iniciar: {e}");
        std::process::exit(1);
    }
}
