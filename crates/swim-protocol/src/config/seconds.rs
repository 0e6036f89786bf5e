//! Durations given in seconds on a command line or in a variable, such as `0.3`: the one
//! parser every option and tool uses.

use std::time::Duration;

/// Longest duration accepted: a day.
pub const MAX_SECONDS: f64 = 86_400.0;

/// Parses a number of seconds from 0 to [`MAX_SECONDS`], such as `0.3`.
///
/// ```
/// use std::time::Duration;
/// use swim_protocol::config::parse_seconds;
/// assert_eq!(parse_seconds("0.3"), Ok(Duration::from_millis(300)));
/// assert!(parse_seconds("-1").is_err());
/// ```
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    parse(text, false)
}

/// Parses a number of seconds greater than 0 and at most [`MAX_SECONDS`].
///
/// ```
/// use swim_protocol::config::parse_positive_seconds;
/// assert!(parse_positive_seconds("0").is_err());
/// assert!(parse_positive_seconds("2.5").is_ok());
/// ```
pub fn parse_positive_seconds(text: &str) -> Result<Duration, String> {
    parse(text, true)
}

fn parse(text: &str, positive: bool) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    let in_range = if positive {
        seconds > 0.0 && seconds <= MAX_SECONDS
    } else {
        (0.0..=MAX_SECONDS).contains(&seconds)
    };
    if !in_range {
        let low = if positive { "more than 0" } else { "0" };
        return Err(format!("{text:?}: expected {low} to {MAX_SECONDS} seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_or_explain() {
        assert_eq!(parse_seconds("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_seconds(" 5 "), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_positive_seconds("86400"),
            Ok(Duration::from_secs(86_400))
        );
        for bad in ["", "x", "-1", "NaN", "inf", "-inf", "1e30", "86400.5"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
            assert!(parse_positive_seconds(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_seconds("0").is_err());
        assert!(parse_positive_seconds("-0").is_err());
    }
}
