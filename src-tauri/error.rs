//! What a failed command gives the UI: a stable code to translate and a Spanish message to show
//! when the UI has no translation for the code.

use reintegra_core::validation::ValidationErrors;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    /// For `invalid`: each field's problem, so the UI can show it next to the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<ValidationErrors>,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> CommandError {
        CommandError {
            code,
            message: message.into(),
            fields: None,
        }
    }
}
