fn main() {
    // Capabilities live in src-tauri/capabilities, not next to the manifest (the product's layout).
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    ) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
