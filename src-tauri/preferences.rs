//! Device preferences that must survive a restart (the UI language, the idle time before the
//! session locks itself, the staff who signed in on this device lately — so the sign-in screen
//! lets them choose their name; the store itself keeps logins only as keyed hashes). Kept in a small JSON file in
//! the app's config directory, written atomically, so a choice is never lost or half-written when
//! the app is closed right after it.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "preferences.json";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Es,
    En,
}

/// Idle minutes before the session locks itself, unless changed (issue #5: default 10).
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 10;
/// The range a user may choose: long enough to type a case, short enough to protect it.
pub const IDLE_LOCK_MINUTES: std::ops::RangeInclusive<u32> = 1..=120;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub language: Language,
    pub idle_lock_minutes: u32,
    /// User names that signed in on this device, most recent first.
    pub recent_users: Vec<String>,
}

/// How many names the sign-in screen offers.
const MAX_RECENT_USERS: usize = 8;

impl Preferences {
    /// Puts `name` first among the recent users (once, case-insensitively).
    pub fn remember_user(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        self.recent_users
            .retain(|n| n.to_lowercase() != name.to_lowercase());
        self.recent_users.insert(0, name.to_string());
        self.recent_users.truncate(MAX_RECENT_USERS);
    }
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            language: Language::default(),
            idle_lock_minutes: DEFAULT_IDLE_LOCK_MINUTES,
            recent_users: Vec::new(),
        }
    }
}

/// The saved preferences; defaults when there are none or the file is unreadable (a damaged
/// preferences file must never keep the app from starting).
pub fn load(dir: &Path) -> Preferences {
    let mut preferences: Preferences = fs::read(dir.join(FILE_NAME))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    if !IDLE_LOCK_MINUTES.contains(&preferences.idle_lock_minutes) {
        preferences.idle_lock_minutes = DEFAULT_IDLE_LOCK_MINUTES;
    }
    preferences
}

/// Writes to a temporary file, syncs it, then renames it over the old one.
pub fn save(dir: &Path, preferences: &Preferences) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(preferences)?)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_spanish_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).language, Language::Es);
    }

    #[test]
    fn a_saved_language_is_loaded_back() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("new");
        save(
            &sub,
            &Preferences {
                language: Language::En,
                idle_lock_minutes: 5,
                recent_users: vec!["Ana Morales".into()],
            },
        )
        .unwrap();
        assert_eq!(load(&sub).language, Language::En);
        assert_eq!(load(&sub).idle_lock_minutes, 5);
        assert_eq!(load(&sub).recent_users, ["Ana Morales"]);
        assert!(!sub.join("preferences.json.tmp").exists());
    }

    #[test]
    fn a_damaged_file_falls_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        assert_eq!(load(dir.path()), Preferences::default());
        fs::write(dir.path().join(FILE_NAME), br#"{"language":"fr"}"#).unwrap();
        assert_eq!(load(dir.path()), Preferences::default());
    }

    #[test]
    fn the_latest_user_comes_first_once_and_the_list_stays_short() {
        let mut p = Preferences::default();
        for i in 0..10 {
            p.remember_user(&format!("Usuario {i}"));
        }
        p.remember_user(" usuario 5 ");
        p.remember_user("   ");
        assert_eq!(p.recent_users.len(), MAX_RECENT_USERS);
        assert_eq!(p.recent_users[0], "usuario 5");
        assert_eq!(p.recent_users[1], "Usuario 9");
        assert_eq!(
            p.recent_users
                .iter()
                .filter(|n| n.to_lowercase() == "usuario 5")
                .count(),
            1
        );
    }

    #[test]
    fn an_idle_time_out_of_range_falls_back_to_the_default() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE_NAME),
            br#"{"language":"en","idle_lock_minutes":0}"#,
        )
        .unwrap();
        let loaded = load(dir.path());
        assert_eq!(loaded.language, Language::En);
        assert_eq!(loaded.idle_lock_minutes, DEFAULT_IDLE_LOCK_MINUTES);
    }
}
