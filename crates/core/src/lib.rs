//! Reintegra's domain: the single form of a returned person and everything around it.
//!
//! Invariant: this crate does no IO and reads no clock. Time (`now`, `today`) and ids are
//! parameters, so every rule here can be tested with plain values.

pub mod audit;
pub mod calendar;
pub mod case_note;
pub mod consent;
pub mod dui;
pub mod follow_up;
pub mod hlc;
pub mod ids;
pub mod indicators;
pub mod merge;
pub mod op;
pub mod permission;
pub mod person;
pub mod plan;
pub mod provider;
pub mod referral;
pub mod return_event;
pub mod service;
pub mod slip;
pub mod sync_state;
pub mod territory;
pub mod text;
pub mod user;
pub mod validation;
pub mod vulnerability;
