//! The `swim-protocol-demo` command: one cluster member with a live view of the whole cluster.
//!
//! The state the screen shows is computed by plain functions ([`state`], [`typed`], [`token`],
//! [`text`]); [`ui`] draws it with ratatui, [`plain`] prints it when standard output is not a
//! terminal, and [`app`] wires the member, the keyboard, the timer and the signals together.

pub mod app;
pub mod cli;
pub mod input;
pub mod plain;
pub mod state;
pub mod terminal;
pub mod text;
pub mod token;
pub mod typed;
pub mod ui;

#[cfg(test)]
mod ui_tests;

pub use app::run;
pub use cli::DemoArgs;
