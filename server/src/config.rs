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
