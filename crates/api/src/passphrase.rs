//! A passphrase as it arrives from the window or a terminal: wiped from memory (zeroized) when
//! dropped, never printed. What the user typed also passed through the web view and the IPC
//! message, which Rust cannot wipe; from here on no copy outlives the command.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A passphrase, zeroized on drop. Reads as `&str`.
#[derive(Clone, Default)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: String) -> Passphrase {
        Passphrase(Zeroizing::new(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Passphrase {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl<'de> Deserialize<'de> for Passphrase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Passphrase, D::Error> {
        String::deserialize(d).map(Passphrase::new)
    }
}

#[cfg(test)]
mod tests {
    use super::Passphrase;

    #[test]
    fn reads_as_text_and_never_prints() {
        let p: Passphrase = serde_json::from_str("\"clave-segura-1\"").unwrap_or_default();
        assert_eq!(p.as_str(), "clave-segura-1");
        assert_eq!(&*p, "clave-segura-1");
        assert_eq!(format!("{p:?}"), "Passphrase(…)");
    }
}
