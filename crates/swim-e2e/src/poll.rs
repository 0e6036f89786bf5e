//! Waiting for a condition with a deadline, and the figures the tests print.

use std::time::{Duration, Instant};

use swim_test_support::poll_for;

/// Time between two looks; each look runs `docker exec` in every container, which takes a
/// while by itself.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Polls `probe` until it returns `Ok(Some(value))`, for at most `timeout`. Returns the value
/// and how long it took; on timeout, an error naming `what`, the last error `probe` returned,
/// and the state `describe` gives.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
    describe: impl Fn() -> String,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    let mut last_error = None;
    let found = poll_for(timeout, POLL_EVERY, || match probe() {
        Ok(value) => value,
        Err(err) => {
            last_error = Some(err);
            None
        }
    });
    match found {
        Some(value) => Ok((value, start.elapsed())),
        None => {
            let error = last_error.map_or_else(String::new, |e| format!(" (last error: {e})"));
            Err(format!(
                "timed out after {timeout:?} waiting until {what}{error}\n{}",
                describe()
            ))
        }
    }
}

/// Prints one measured figure in the form the README and the report quote.
pub fn figure(what: &str, took: Duration) {
    eprintln!("e2e figure: {what}: {:.1} s", took.as_secs_f64());
}
