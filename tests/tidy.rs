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

/// The doors of the api: the wire is the sync crate's (api never names proto), and the headless
/// commands go through the api's `Session` (cli reaches neither the store nor the sync engine).
#[test]
fn api_does_not_know_the_wire_and_cli_goes_through_the_api() {
    let api = direct_dependencies(&root().join("crates/api/Cargo.toml"));
    assert!(
        !api.iter().any(|d| d == "reintegra-proto"),
        "crates/api must not depend on reintegra-proto: the sync crate owns the wire"
    );
    let cli = direct_dependencies(&root().join("crates/cli/Cargo.toml"));
    let bypass: Vec<_> = cli
        .iter()
        .filter(|d| *d == "reintegra-store" || *d == "reintegra-sync")
        .collect();
    assert!(
        bypass.is_empty(),
        "crates/cli must go through reintegra-api's Session, not {bypass:?}"
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

// The commands the UI may call are written in four places, which must name the same commands:
// `src-tauri/build.rs` COMMANDS (tauri-build makes an `allow-<command>` permission of each), the
// `generate_handler!` list in `src-tauri/lib.rs`, the permissions `src-tauri/capabilities/main.json`
// grants, and the command names `ui/src/ipc` invokes.

/// The quoted strings of the `COMMANDS` array in build.rs.
fn commands_in_build_rs(text: &str) -> Vec<String> {
    let start = text
        .find("const COMMANDS")
        .expect("build.rs has const COMMANDS");
    let body = &text[start..];
    let body = &body[body.find("&[").expect("COMMANDS = &[") + 2..];
    let body = &body[..body.find("];").expect("COMMANDS ends with ];")];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The function names (last path segment) in `generate_handler![...]`.
fn commands_in_generate_handler(text: &str) -> Vec<String> {
    let start = text
        .find("generate_handler![")
        .expect("lib.rs calls generate_handler!");
    let body = &text[start + "generate_handler![".len()..];
    let body = &body[..body.find(']').expect("generate_handler! ends with ]")];
    body.split(',')
        .map(|path| path.trim())
        .filter(|path| !path.is_empty())
        .map(|path| path.rsplit("::").next().unwrap_or(path).to_owned())
        .collect()
}

/// The commands granted as `allow-<command-with-dashes>` in a capability file.
fn commands_in_capability(json: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(json).expect("capability is JSON");
    doc["permissions"]
        .as_array()
        .expect("capability has permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect()
}

/// The string literals passed as the first argument of `call(...)` or `invoke(...)` (with or
/// without type arguments) in the UI's IPC module.
fn commands_in_ipc(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["call", "invoke"] {
        let mut rest = text;
        while let Some(at) = rest.find(name) {
            let before = rest[..at].chars().next_back();
            let mut after = &rest[at + name.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            if let Some(generic) = after.strip_prefix('<') {
                match generic.find('>') {
                    Some(end) => after = &generic[end + 1..],
                    None => continue,
                }
            }
            let Some(args) = after.strip_prefix('(') else {
                continue;
            };
            let Some(literal) = args.trim_start().strip_prefix('"') else {
                continue;
            };
            if let Some(end) = literal.find('"') {
                found.push(literal[..end].to_owned());
            }
        }
    }
    found
}

/// What is wrong between named command lists: duplicates in one, and commands some lists have
/// and others lack. Empty when they agree.
fn command_list_disagreements(lists: &[(&str, Vec<String>)]) -> Vec<String> {
    use std::collections::BTreeSet;
    let mut problems = Vec::new();
    let mut all = BTreeSet::new();
    for (name, list) in lists {
        let mut seen = BTreeSet::new();
        for command in list {
            if !seen.insert(command) {
                problems.push(format!("{name} names {command} twice"));
            }
            all.insert(command.clone());
        }
    }
    for (name, list) in lists {
        for command in &all {
            if !list.contains(command) {
                let having: Vec<_> = lists
                    .iter()
                    .filter(|(_, l)| l.contains(command))
                    .map(|(n, _)| *n)
                    .collect();
                problems.push(format!(
                    "{name} lacks {command} (named in {})",
                    having.join(", ")
                ));
            }
        }
    }
    problems
}

fn ipc_sources() -> String {
    let dir = root().join("ui/src/ipc");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("ui/src/ipc")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().expect("name").to_string_lossy();
            name.ends_with(".ts") && !name.ends_with(".test.ts")
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| fs::read_to_string(f).expect("read ipc source"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_four_command_lists_agree() {
    let read = |path: &str| fs::read_to_string(root().join(path)).expect(path);
    let lists = [
        (
            "src-tauri/build.rs COMMANDS",
            commands_in_build_rs(&read("src-tauri/build.rs")),
        ),
        (
            "src-tauri/lib.rs generate_handler!",
            commands_in_generate_handler(&read("src-tauri/lib.rs")),
        ),
        (
            "src-tauri/capabilities/main.json",
            commands_in_capability(&read("src-tauri/capabilities/main.json")),
        ),
        ("ui/src/ipc", commands_in_ipc(&ipc_sources())),
    ];
    for (name, list) in &lists {
        // A parser that found nothing would make the comparison pass vacuously.
        assert!(list.len() >= 10, "found only {list:?} in {name}");
    }
    let problems = command_list_disagreements(&lists);
    assert!(
        problems.is_empty(),
        "the command lists disagree (a new command goes in all four):\n{}",
        problems.join("\n")
    );
}

#[test]
fn command_list_check_sees_a_command_missing_from_any_one_list() {
    let build =
        "const COMMANDS: &[&str] = &[\n    \"case_close\",\n    \"sync_now\",\n];\nfn main() {}";
    let handler = "builder.invoke_handler(tauri::generate_handler![\n    casework::case_close,\n    sync::sync_now,\n])";
    let capability = r#"{"permissions": ["core:default", "allow-case-close", "allow-sync-now"]}"#;
    let ipc = "async function call<T>(command: string) { return await invoke<T>(command); }\n\
               const a = { close: (id: string) => call(\"case_close\", { id }),\n\
               now: () =>\n    call<void>(\n      \"sync_now\"), recall: () => recall(\"not_a_command\") };";
    let both = ["case_close", "sync_now"];
    assert_eq!(commands_in_build_rs(build), both);
    assert_eq!(commands_in_generate_handler(handler), both);
    assert_eq!(commands_in_capability(capability), both);
    assert_eq!(commands_in_ipc(ipc), both);

    const NAMES: [&str; 4] = ["build.rs", "lib.rs", "main.json", "ipc"];
    // All four lists name both commands, except `short`, which lacks sync_now.
    let lists = |short: Option<&str>| -> Vec<(&str, Vec<String>)> {
        NAMES
            .iter()
            .map(|&name| {
                let keep = if short == Some(name) { 1 } else { 2 };
                (name, both[..keep].iter().map(|c| c.to_string()).collect())
            })
            .collect()
    };
    assert!(command_list_disagreements(&lists(None)).is_empty());
    for short in NAMES {
        let others: Vec<_> = NAMES.into_iter().filter(|n| *n != short).collect();
        assert_eq!(
            command_list_disagreements(&lists(Some(short))),
            [format!(
                "{short} lacks sync_now (named in {})",
                others.join(", ")
            )],
        );
    }
    let twice = [
        ("a", vec!["x".to_owned(), "x".to_owned()]),
        ("b", vec!["x".to_owned()]),
    ];
    assert_eq!(command_list_disagreements(&twice), ["a names x twice"]);
}
