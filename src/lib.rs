//! KubeStack-AI: a full-screen terminal cockpit for SREs on call.
//!
//! The crate is a library plus a thin binary so that tests and benchmarks drive the same code.
//! Each module below documents what it owns; docs/architecture.md draws the layers and how data
//! flows between them. Not shipped here: the demo's and the tests' stand-in servers (the
//! `kubestack-playground` crate in `playground/`) and the tests' sample dashboard
//! (`tests/common/fixtures.rs`).

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
pub mod plugins;
pub mod private_file;
pub mod repair;
pub mod runtime;
pub mod services;
pub mod theme;
pub mod tui;
pub mod ui;
