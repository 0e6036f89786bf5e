//! Waiting for a set of member containers to agree on who is there.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::poll::wait_for;
use crate::view::{describe, read_views, View};

/// Waits until `check` holds for the views of all `containers`; returns how long it took, or
/// an error with every container's view and last log lines.
pub fn wait_views(
    containers: &[String],
    what: &str,
    timeout: Duration,
    check: impl Fn(&[View]) -> bool,
) -> Result<Duration, String> {
    let (_, took) = wait_for(
        what,
        timeout,
        || {
            let views = read_views(containers)?;
            Ok(check(&views).then_some(()))
        },
        || describe(containers),
    )?;
    Ok(took)
}

/// The members' own names, as their views say.
pub fn locals(views: &[View]) -> BTreeSet<String> {
    views.iter().map(|v| v.local.clone()).collect()
}
