//! Waiting for a condition with a deadline, and the figures the tests print.

use std::time::{Duration, Instant};

/// Time between two looks; each look runs `docker exec` in every container, which takes a
/// while by itself.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Polls `probe` until it returns `Ok(Some(value))`, for at most `timeout`. Returns the value
/// and how long it took; on timeout, an error with `what` and the last state `probe`
/// described through `Ok(None)`'s companion, `describe`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
    describe: impl Fn() -> String,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match probe() {
            Ok(Some(value)) => return Ok((value, start.elapsed())),
            Ok(None) => {}
            Err(err) => last_error = Some(err),
        }
        if start.elapsed() > timeout {
            let error = last_error.map_or_else(String::new, |e| format!(" (last error: {e})"));
            return Err(format!(
                "timed out after {timeout:?} waiting until {what}{error}\n{}",
                describe()
            ));
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Prints one measured figure in the form the README and the report quote.
pub fn figure(what: &str, took: Duration) {
    eprintln!("e2e figure: {what}: {:.1} s", took.as_secs_f64());
}
