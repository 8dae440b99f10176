//! Saving a file the app made (an export, an import's error report) in the folder the user
//! chose: never over an existing file (a number is added: `casos (2).xlsx`), written to a
//! temporary name and renamed, so a half-written file never carries the final name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::{ApiError, ExportFile, Result};

/// Where a file was saved, and how many data rows it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SavedFile {
    pub path: String,
    pub rows: u32,
}

fn unwritable(dir: &Path, e: impl std::fmt::Display) -> ApiError {
    ApiError::Export(format!(
        "no se puede escribir en la carpeta «{}»: {e}",
        dir.display()
    ))
}

/// A name in `dir` not taken yet: `name`, else `stem (2).ext`, `stem (3).ext`…
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}).{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Saves `file` in `dir` (which must exist) under its own name or a free one like it.
pub fn save_in(dir: &Path, file: &ExportFile) -> Result<SavedFile> {
    if !dir.is_absolute() || !dir.is_dir() {
        return Err(ApiError::Export(format!(
            "la carpeta «{}» no existe; elija una carpeta de este equipo",
            dir.display()
        )));
    }
    let name = Path::new(&file.file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reintegra.xlsx".into());
    let target = free_name(dir, &name);
    let temp = dir.join(format!(".{name}.{}.parcial", uuid::Uuid::now_v7().simple()));
    let written = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(&file.bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(unwritable(dir, e));
    }
    Ok(SavedFile {
        path: target.to_string_lossy().into_owned(),
        rows: file.rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_over_an_existing_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = ExportFile {
            file_name: "casos-2026.xlsx".into(),
            rows: 3,
            bytes: b"uno".to_vec(),
        };
        let a = save_in(dir.path(), &file).unwrap_or_else(|e| panic!("{e}"));
        let b = save_in(dir.path(), &file).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.path.ends_with("casos-2026.xlsx"));
        assert!(b.path.ends_with("casos-2026 (2).xlsx"));
        assert_eq!(std::fs::read(&b.path).unwrap_or_default(), b"uno");
        assert_eq!(
            std::fs::read_dir(dir.path())
                .map(|d| d.count())
                .unwrap_or(0),
            2,
            "no temporary file left"
        );
        assert!(save_in(&dir.path().join("no-existe"), &file).is_err());
        assert!(save_in(Path::new("relativa"), &file).is_err());
    }
}
