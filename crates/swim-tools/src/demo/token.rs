//! The `token` metadata key that `--token-interval` refreshes with random bytes.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, Normal};

/// The metadata key holding the random token.
pub const TOKEN_KEY: &str = "token";

/// How many random bytes a token has.
pub const TOKEN_LEN: usize = 16;

/// The shortest wait between two tokens, whatever the draw.
pub const MIN_TOKEN_DELAY: Duration = Duration::from_millis(10);

/// A fresh random token.
pub fn new_token<R: Rng + ?Sized>(rng: &mut R) -> [u8; TOKEN_LEN] {
    rng.random()
}

/// The wait before the next token: drawn from a normal distribution with mean `interval` and
/// standard deviation a fifth of it (as the seed does), never shorter than [`MIN_TOKEN_DELAY`].
pub fn next_token_delay<R: Rng + ?Sized>(interval: Duration, rng: &mut R) -> Duration {
    let mean = interval.as_secs_f64();
    let drawn = match Normal::new(mean, mean / 5.0) {
        Ok(normal) => normal.sample(rng),
        // Only reachable with a non-finite mean, which parsing rules out.
        Err(_) => mean,
    };
    Duration::try_from_secs_f64(drawn)
        .unwrap_or(Duration::ZERO)
        .max(MIN_TOKEN_DELAY)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn delays_follow_the_normal_distribution() {
        let mut rng = StdRng::seed_from_u64(7);
        let interval = Duration::from_secs(10);
        let draws: Vec<f64> = (0..4000)
            .map(|_| next_token_delay(interval, &mut rng).as_secs_f64())
            .collect();
        let n = draws.len() as f64;
        let mean = draws.iter().sum::<f64>() / n;
        let sd = (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 10.0).abs() < 0.15, "mean {mean}");
        assert!((sd - 2.0).abs() < 0.15, "standard deviation {sd}");
    }

    #[test]
    fn delays_are_never_below_the_minimum() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            assert!(next_token_delay(Duration::from_millis(12), &mut rng) >= MIN_TOKEN_DELAY);
            assert_eq!(
                next_token_delay(Duration::from_nanos(1), &mut rng),
                MIN_TOKEN_DELAY
            );
        }
    }

    #[test]
    fn tokens_are_fresh() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_ne!(new_token(&mut rng), new_token(&mut rng));
    }
}
