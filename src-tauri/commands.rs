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

pub(crate) fn config_dir<R: Runtime>(
    app: &AppHandle<R>,
) -> Result<std::path::PathBuf, CommandError> {
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
    update_preferences(&app, |p| p.language = language)
}

/// Idle minutes before the session locks itself.
#[tauri::command]
pub fn preferences_idle_lock<R: Runtime>(app: AppHandle<R>) -> Result<u32, CommandError> {
    Ok(preferences::load(&config_dir(&app)?).idle_lock_minutes)
}

#[tauri::command]
pub fn set_preferences_idle_lock<R: Runtime>(
    app: AppHandle<R>,
    minutes: u32,
) -> Result<(), CommandError> {
    if !preferences::IDLE_LOCK_MINUTES.contains(&minutes) {
        return Err(CommandError::new(
            "idle_lock_range",
            format!(
                "El bloqueo automático debe estar entre {} y {} minutos.",
                preferences::IDLE_LOCK_MINUTES.start(),
                preferences::IDLE_LOCK_MINUTES.end()
            ),
        ));
    }
    update_preferences(&app, |p| p.idle_lock_minutes = minutes)
}

/// Loads first so the other preferences in the file are kept.
pub(crate) fn update_preferences<R: Runtime>(
    app: &AppHandle<R>,
    change: impl FnOnce(&mut Preferences),
) -> Result<(), CommandError> {
    let dir = config_dir(app)?;
    let mut updated = preferences::load(&dir);
    change(&mut updated);
    preferences::save(&dir, &updated).map_err(|e| {
        CommandError::new(
            "preferences_write",
            format!("No se pudo guardar la preferencia: {e}"),
        )
    })
}
