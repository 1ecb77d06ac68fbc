//! Server configuration beyond the command line: where the built site (wasm, JS, CSS) lives.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LEPTOS_SITE_ROOT` | `target/site` | folder with the built site (from `cargo leptos build`) |
//! | `LEPTOS_SITE_PKG_DIR` | `pkg` | its sub-folder with `billops.js`, `.wasm`, `.css` |

use std::net::SocketAddr;

use leptos::config::LeptosOptions;

/// The name of the bundle cargo-leptos builds (`[[workspace.metadata.leptos]] name`).
pub const OUTPUT_NAME: &str = "billops";

/// The file name of the site's WASM that the pages ask for: `billops.wasm` when the server was
/// built with `LEPTOS_OUTPUT_NAME` set (cargo-leptos sets it, and `.cargo/config.toml` does for
/// every other build), else Leptos's own default `billops_bg.wasm`.
pub fn wasm_file_name() -> String {
    match option_env!("LEPTOS_OUTPUT_NAME") {
        Some(_) => format!("{OUTPUT_NAME}.wasm"),
        None => format!("{OUTPUT_NAME}_bg.wasm"),
    }
}

/// Checks that the site holds what the pages reference (the JS glue and the WASM). `Ok(false)`:
/// there is no built site at all (pages render, nothing hydrates); an error: a site built for
/// other names, which would fail in every browser without a word.
pub fn check_site(options: &LeptosOptions) -> Result<bool, String> {
    let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if !pkg.exists() {
        return Ok(false);
    }
    for file in [format!("{OUTPUT_NAME}.js"), wasm_file_name()] {
        if !pkg.join(&file).is_file() {
            return Err(format!(
                "the site in {} has no {file}, which every page asks for: build it with \
                 `cargo leptos build` (the same LEPTOS_OUTPUT_NAME as this binary), or point \
                 LEPTOS_SITE_ROOT at such a site",
                pkg.display()
            ));
        }
    }
    Ok(true)
}

/// The Leptos options for serving on `listen`, with the site root from the environment.
pub fn site_options(listen: SocketAddr) -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let pkg_dir = std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into());
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root)
        .site_pkg_dir(pkg_dir)
        .site_addr(listen)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_must_hold_the_wasm_the_pages_ask_for() {
        let dir = tempfile::tempdir().expect("dir");
        let options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(dir.path().to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .build();
        assert_eq!(check_site(&options), Ok(false), "no site: nothing to check");
        let pkg = dir.path().join("pkg");
        std::fs::create_dir(&pkg).expect("pkg");
        std::fs::write(pkg.join("billops.js"), "").expect("js");
        std::fs::write(pkg.join("billops_other.wasm"), "").expect("wasm");
        let error = check_site(&options).expect_err("a site built for other names");
        assert!(error.contains(&wasm_file_name()), "{error}");
        std::fs::write(pkg.join(wasm_file_name()), "").expect("wasm");
        assert_eq!(check_site(&options), Ok(true));
        assert_eq!(
            wasm_file_name(),
            "billops.wasm",
            "every build names it as cargo-leptos does"
        );
    }
}
