//! The one font the charts use, read from a file at run time: plotters draws text with the
//! pure-Rust `ab_glyph` rasterizer, so nothing links fontconfig or freetype.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use plotters::style::{register_font, FontStyle};

/// Where a sans-serif TrueType font usually is (Debian's `fonts-dejavu-core` first).
pub const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// The font file to use: `explicit` if given, else the first of [`CANDIDATES`] that exists.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "no TrueType font found (looked for {}); install Debian's fonts-dejavu-core \
                 or pass --font FILE.ttf",
                CANDIDATES.join(", ")
            )
        })
}

/// Reads `path` and registers it as the charts' `sans-serif` family (every style).
pub fn register(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("font {}", path.display()))?;
    // plotters keeps registered fonts for the life of the process; so does this short-lived
    // command, which registers one font once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    for style in [FontStyle::Normal, FontStyle::Bold] {
        register_font("sans-serif", style, bytes)
            .map_err(|_| anyhow!("font {}: not a TrueType or OpenType font", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_font_is_refused_with_its_path() {
        let dir = std::env::temp_dir().join(format!("swim-plots-font-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("not-a-font.ttf");
        std::fs::write(&path, b"hello").unwrap();
        let err = register(&path).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("not-a-font.ttf"), "{err}");
        assert!(err.contains("not a TrueType"), "{err}");
    }

    #[test]
    fn an_explicit_path_is_taken_as_given() {
        let p = Path::new("/nowhere/font.ttf");
        assert_eq!(locate(Some(p)).unwrap(), p);
        let err = register(p).unwrap_err().to_string();
        assert!(err.contains("/nowhere/font.ttf"), "{err}");
    }
}
