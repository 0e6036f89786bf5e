//! The real-process figures: `docs/plots/real-processes.csv`, one row per implementation and
//! cluster size, as `bench/cluster.sh` measures them.

use anyhow::{bail, Context};

/// The columns after `impl,members`, with the titles the plot gives them.
pub const FIGURES: [(&str, &str); 6] = [
    ("join_s", "join (s)"),
    ("meta_s", "metadata change to all (s)"),
    ("offline_s", "crash to OFFLINE everywhere (s)"),
    ("dgrams_per_s", "idle datagrams/member/s"),
    ("cpu_pct", "idle CPU/member (%)"),
    ("rss_kib", "RSS/member (KiB)"),
];

/// One measured figure: a number, or `never` (the phase did not finish in the run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Measured.
    Number(f64),
    /// The phase never finished.
    Never,
    /// Not measured (an empty cell).
    Missing,
}

/// One row: an implementation at one cluster size.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `ours`, `memberlist`, `python`, ...
    pub implementation: String,
    /// Processes in the cluster.
    pub members: u32,
    /// The figures, in the order of [`FIGURES`].
    pub values: [Value; 6],
}

/// Parses the CSV; the header must name the columns in the documented order.
pub fn parse(text: &str) -> anyhow::Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    let expected: Vec<&str> = ["impl", "members"]
        .into_iter()
        .chain(FIGURES.iter().map(|(c, _)| *c))
        .collect();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if header != expected {
        bail!("header must be {}", expected.join(","));
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != expected.len() {
            bail!(
                "line {}: {} cells, expected {}",
                i + 1,
                cells.len(),
                expected.len()
            );
        }
        let members = cells[1]
            .parse()
            .with_context(|| format!("line {}: members {:?}", i + 1, cells[1]))?;
        let mut values = [Value::Missing; 6];
        for (slot, cell) in values.iter_mut().zip(&cells[2..]) {
            *slot = match *cell {
                "" => Value::Missing,
                "never" => Value::Never,
                number => Value::Number(
                    number
                        .parse()
                        .with_context(|| format!("line {}: {number:?}", i + 1))?,
                ),
            };
        }
        rows.push(Row {
            implementation: cells[0].to_owned(),
            members,
            values,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_never_and_gaps() {
        let text = "impl,members,join_s,meta_s,offline_s,dgrams_per_s,cpu_pct,rss_kib\n\
                    ours,80,1.5,never,,2,0.02,5000\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].members, 80);
        assert_eq!(rows[0].values[0], Value::Number(1.5));
        assert_eq!(rows[0].values[1], Value::Never);
        assert_eq!(rows[0].values[2], Value::Missing);
    }

    #[test]
    fn rejects_a_wrong_header_or_row() {
        assert!(parse("impl,members\nours,1\n").is_err());
        let header = "impl,members,join_s,meta_s,offline_s,dgrams_per_s,cpu_pct,rss_kib\n";
        assert!(parse(&format!("{header}ours,80,1\n")).is_err());
        assert!(parse(&format!("{header}ours,x,1,1,1,1,1,1\n")).is_err());
        assert!(parse(&format!("{header}ours,1,1,1,1,1,1,abc\n")).is_err());
    }

    #[test]
    fn the_committed_file_parses() {
        let text = include_str!("../../../docs/plots/real-processes.csv");
        assert!(!parse(text).unwrap().is_empty());
    }
}
