//! Printing the window: with the referral slip open, its print styles leave only the slip on
//! paper. The system's print dialog lets the worker choose a printer or "Imprimir en un
//! archivo" (PDF). Debug builds (the E2E run) given `REINTEGRA_PRINT_TO_PDF=/path/file.pdf`
//! print straight to that file with no dialog, so a test can read what would be on paper; a
//! release build ignores the variable.

use tauri::{Runtime, WebviewWindow};

use crate::error::CommandError;

#[tauri::command]
pub fn print_window<R: Runtime>(window: WebviewWindow<R>) -> Result<(), CommandError> {
    #[cfg(all(debug_assertions, target_os = "linux"))]
    if let Some(path) = std::env::var_os("REINTEGRA_PRINT_TO_PDF") {
        return to_pdf_without_dialog(&window, std::path::PathBuf::from(path));
    }
    window.print().map_err(|e| {
        CommandError::new(
            "print_failed",
            format!("No se pudo abrir la impresión: {e}"),
        )
    })
}

#[cfg(all(debug_assertions, target_os = "linux"))]
fn to_pdf_without_dialog<R: Runtime>(
    window: &WebviewWindow<R>,
    path: std::path::PathBuf,
) -> Result<(), CommandError> {
    use webkit2gtk::PrintOperationExt;

    let uri = format!("file://{}", path.display());
    window
        .with_webview(move |webview| {
            let settings = gtk::PrintSettings::new();
            // GTK's own "print to file" backend.
            settings.set_printer("Print to File");
            settings.set(gtk::PRINT_SETTINGS_OUTPUT_FILE_FORMAT, Some("pdf"));
            settings.set(gtk::PRINT_SETTINGS_OUTPUT_URI, Some(&uri));
            let operation = webkit2gtk::PrintOperation::new(&webview.inner());
            operation.set_print_settings(&settings);
            operation.print();
        })
        .map_err(|e| CommandError::new("print_failed", format!("No se pudo imprimir: {e}")))
}
