//! The events the reducer takes, defined by the services that send them (the terminal input is
//! one producer among them).

pub use crate::services::event::{AppEvent, Health, ResolvedLogin};
