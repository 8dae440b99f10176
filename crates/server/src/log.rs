//! The server's own log, on standard error: what went wrong inside (a database error, a damaged
//! row) with its detail, which a client never sees. Every line is one event: control characters
//! of the text are escaped, so nothing written can forge another line or drive a terminal.

use std::fmt::Display;

use chrono::{SecondsFormat, Utc};

/// Logs a failure of the server itself: `what` happened, with its detail.
pub fn error(what: &str, detail: &dyn Display) {
    eprintln!(
        "{} ERROR {}: {}",
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        what,
        escape_control(&detail.to_string())
    );
}

/// `text` with every control character (newlines and ANSI escapes included) written as
/// `\u{…}`, for a terminal or a log line.
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_is_kept() {
        assert_eq!(
            escape_control("portátil\u{1b}[2J\nfalso\u{7f}"),
            "portátil\\u{1b}[2J\\u{a}falso\\u{7f}"
        );
        assert_eq!(escape_control("Oficina Ñ 1"), "Oficina Ñ 1");
    }
}
