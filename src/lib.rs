//! KubeStack-AI: a full-screen terminal cockpit for SREs on call.
//!
//! The crate is a library plus a thin binary so that tests and benchmarks drive the same code:
//! `app` (event loop and state), `ui` (panes), `config`, `keymap`, `theme`, `plugins`
//! (the plugin trait and Redis), `diagnose` (findings), `model` (UI-free data), `cli`.

pub mod ai;
pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod diagnose;
pub mod keymap;
pub mod kube;
pub mod logging;
pub mod model;
pub mod playground;
pub mod plugins;
pub mod private_file;
pub mod repair;
pub mod runtime;
pub mod services;
pub mod theme;
pub mod tui;
pub mod ui;
