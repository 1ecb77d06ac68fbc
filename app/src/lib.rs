//! billops: the "Current operations" console of a hosting billing platform.
//!
//! This crate is shared by the server and the browser: [`types`] (wasm-safe data), [`api`]
//! (`#[server]` functions) and [`ui`] (Leptos components) build for both; [`service`] (the use
//! cases) and [`store`] (the only SQL) exist only with the `ssr` feature.

pub mod api;
pub mod types;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

pub use ui::{shell, App};
