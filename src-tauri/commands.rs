//! Tauri commands. Thin: parse, call the domain, return serializable values.

use reintegra_core::territory::{Department, Place, Territory};

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
