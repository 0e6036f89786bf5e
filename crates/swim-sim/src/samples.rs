//! The per-member times behind a run's percentiles, and their CSV form (what the plots read).
//!
//! The CSV has a header `kind,value` and one row per figure: `members` and
//! `msgs_per_member_s` once, then one `meta_s` row per member that saw the metadata change
//! and one `offline_s` row per member that saw the crash, in seconds, each sorted.

use std::fmt::Write as _;

/// Per-member times of one run, in virtual seconds, each sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Number of members.
    pub members: usize,
    /// Packets sent per member per second during the quiet period.
    pub msgs_per_member_s: f64,
    /// For each member other than 0 that saw it: delay until it saw member 0's metadata change.
    pub meta_s: Vec<f64>,
    /// For each live member that saw it: crash until it reported the crashed member OFFLINE.
    pub offline_s: Vec<f64>,
}

/// A line of a samples file that is not `kind,value` with a known kind and a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("samples line {line}: {reason}")]
pub struct BadSamples {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl Samples {
    /// The CSV form.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("kind,value\n");
        let _ = writeln!(out, "members,{}", self.members);
        let _ = writeln!(out, "msgs_per_member_s,{}", self.msgs_per_member_s);
        for v in &self.meta_s {
            let _ = writeln!(out, "meta_s,{v}");
        }
        for v in &self.offline_s {
            let _ = writeln!(out, "offline_s,{v}");
        }
        out
    }

    /// Reads the CSV form back.
    pub fn from_csv(text: &str) -> Result<Samples, BadSamples> {
        let mut samples = Samples::default();
        for (i, line) in text.lines().enumerate().skip(1) {
            let bad = |reason: &str| BadSamples {
                line: i + 1,
                reason: reason.to_owned(),
            };
            if line.trim().is_empty() {
                continue;
            }
            let (kind, value) = line.split_once(',').ok_or_else(|| bad("no comma"))?;
            let value: f64 = value.trim().parse().map_err(|_| bad("not a number"))?;
            match kind {
                "members" => samples.members = value as usize,
                "msgs_per_member_s" => samples.msgs_per_member_s = value,
                "meta_s" => samples.meta_s.push(value),
                "offline_s" => samples.offline_s.push(value),
                other => return Err(bad(&format!("unknown kind {other:?}"))),
            }
        }
        samples.meta_s.sort_by(f64::total_cmp);
        samples.offline_s.sort_by(f64::total_cmp);
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips() {
        let samples = Samples {
            members: 3,
            msgs_per_member_s: 3.25,
            meta_s: vec![0.01, 0.2],
            offline_s: vec![4.5],
        };
        assert_eq!(Samples::from_csv(&samples.to_csv()), Ok(samples));
    }

    #[test]
    fn bad_lines_are_named() {
        let err = Samples::from_csv("kind,value\nmeta_s,x\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(Samples::from_csv("kind,value\nfoo,1\n").is_err());
        assert!(Samples::from_csv("kind,value\nmeta_s\n").is_err());
    }
}
