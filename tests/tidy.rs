//! Architecture rules (ARCHITECTURE.md), checked on every test run.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<_> = fs::read_dir(root().join("crates"))
        .expect("crates/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Names of the direct dependencies (normal, dev and build) declared in a manifest.
fn direct_dependencies(manifest: &Path) -> Vec<String> {
    let text = fs::read_to_string(manifest).expect("read manifest");
    let doc: toml::Table = text.parse().expect("valid TOML");
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| doc.get(*section).and_then(|v| v.as_table()))
        .flat_map(|table| table.keys().cloned())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Crate directories (by name) whose manifest depends directly on a crate matching `forbidden`.
fn crates_depending_on(forbidden: impl Fn(&str) -> bool) -> Vec<String> {
    crate_dirs()
        .into_iter()
        .filter(|dir| {
            direct_dependencies(&dir.join("Cargo.toml"))
                .iter()
                .any(|d| forbidden(d))
        })
        .map(|dir| {
            dir.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn only_the_store_uses_sled() {
    let offenders: Vec<_> = crates_depending_on(|d| d == "sled")
        .into_iter()
        .filter(|name| name != "store")
        .collect();
    assert!(
        offenders.is_empty(),
        "only crates/store may use sled: {offenders:?}"
    );
    let root_deps = direct_dependencies(&root().join("Cargo.toml"));
    assert!(
        !root_deps.iter().any(|d| d == "sled"),
        "the app must reach sled through crates/store"
    );
}

#[test]
fn dependency_scan_sees_every_section() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("Cargo.toml");
    fs::write(
        &manifest,
        "[package]\nname = \"x\"\n[dependencies]\nsled = \"0.34\"\n\
         [dev-dependencies]\ntauri = \"2\"\n[build-dependencies]\ntauri-build = \"2\"\n",
    )
    .expect("write manifest");
    let deps = direct_dependencies(&manifest);
    assert_eq!(deps, ["sled", "tauri", "tauri-build"]);
}

#[test]
fn only_the_app_uses_tauri() {
    let offenders = crates_depending_on(|d| d.starts_with("tauri"));
    assert!(
        offenders.is_empty(),
        "only the root app package may depend on Tauri: {offenders:?}"
    );
}

#[test]
fn core_does_no_io_and_reads_no_clock() {
    const FORBIDDEN: &[&str] = &[
        "std::fs",
        "std::net",
        "std::process",
        "SystemTime::now",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "now_v7",
        "new_v4",
    ];
    let mut files = Vec::new();
    rust_files(&root().join("crates/core/src"), &mut files);
    assert!(!files.is_empty());
    let mut offences = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("read source");
        for pattern in FORBIDDEN {
            if text.contains(pattern) {
                offences.push(format!("{}: {pattern}", file.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "crates/core must do no IO and read no clock: {offences:#?}"
    );
}

#[test]
fn only_the_ipc_module_talks_to_tauri_from_the_ui() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "ts" || e == "svelte") {
                out.push(path);
            }
        }
    }
    let ui_src = root().join("ui/src");
    let mut files = Vec::new();
    walk(&ui_src, &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with(ui_src.join("ipc")))
        .filter(|f| {
            fs::read_to_string(f)
                .expect("read")
                .contains("@tauri-apps/")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "only ui/src/ipc may import @tauri-apps: {offenders:?}"
    );
}
