//! The checks behind the fuzz targets (also run on the corpus by a stable test).
#![forbid(unsafe_code)]

pub mod checks;
