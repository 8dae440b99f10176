//! Tauri commands. Thin: parse, call the domain, return serializable values.

use reintegra_core::territory::{Department, Place, Territory};
use tauri::{AppHandle, Manager, Runtime};

use crate::error::CommandError;
use crate::preferences::{self, Language, Preferences};

/// Upper bound on search results sent to the UI; the picker shows a short list.
const MAX_SEARCH_RESULTS: usize = 50;

#[tauri::command]
pub fn territory_departments() -> Vec<Department> {
    Territory::el_salvador().departments().to_vec()
}

#[tauri::command]
pub fn territory_search(query: String, limit: Option<usize>) -> Vec<Place> {
    let limit = limit.unwrap_or(20).min(MAX_SEARCH_RESULTS);
    Territory::el_salvador().search(&query, limit)
}

fn config_dir<R: Runtime>(app: &AppHandle<R>) -> Result<std::path::PathBuf, CommandError> {
    app.path().app_config_dir().map_err(|e| {
        CommandError::new(
            "config_dir",
            format!("No se encontró la carpeta de configuración: {e}"),
        )
    })
}

/// The remembered UI language (Spanish until someone chooses otherwise).
#[tauri::command]
pub fn preferences_language<R: Runtime>(app: AppHandle<R>) -> Result<Language, CommandError> {
    Ok(preferences::load(&config_dir(&app)?).language)
}

#[tauri::command]
pub fn set_preferences_language<R: Runtime>(
    app: AppHandle<R>,
    language: Language,
) -> Result<(), CommandError> {
    let dir = config_dir(&app)?;
    // Load first so other preferences in the file are kept.
    let mut updated: Preferences = preferences::load(&dir);
    updated.language = language;
    preferences::save(&dir, &updated).map_err(|e| {
        CommandError::new(
            "preferences_write",
            format!("No se pudo guardar la preferencia: {e}"),
        )
    })
}
