//! Device preferences that must survive a restart: the UI language and the idle time before the
//! session locks itself — nothing about who works here (the sign-in screen lists users by the
//! initials their key slots carry; logins stay keyed hashes). Kept in a small JSON file in the
//! app's config directory, readable by its owner only, written atomically, so a choice is never
//! lost or half-written when the app is closed right after it. A file written by an older
//! version loses its list of names at the next write.

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
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            language: Language::default(),
            idle_lock_minutes: DEFAULT_IDLE_LOCK_MINUTES,
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
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
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
            },
        )
        .unwrap();
        assert_eq!(load(&sub).language, Language::En);
        assert_eq!(load(&sub).idle_lock_minutes, 5);
        assert!(!sub.join("preferences.json.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(sub.join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the owner's only");
        }
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
    fn names_kept_by_an_older_version_are_dropped_at_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        fs::write(
            &file,
            br#"{"language":"en","recent_users":["Ana Morales"]}"#,
        )
        .unwrap();
        let loaded = load(dir.path());
        assert_eq!(loaded.language, Language::En, "the rest is kept");
        save(dir.path(), &loaded).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        assert!(!text.contains("Ana"), "{text}");
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
