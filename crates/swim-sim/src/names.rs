//! The simulated members' names: an address-like string per index, and back.

use swim_core::MemberName;

/// The name of simulated member `i`: an address-like string of realistic length.
pub fn member_name(i: usize) -> MemberName {
    format!("10.{}.{}.{}:7946", i / 65536 % 256, i / 256 % 256, i % 256).into()
}

/// The index of the simulated member called `name`, if it is one.
pub fn member_index(name: &str) -> Option<usize> {
    let host = name.strip_suffix(":7946")?;
    let mut parts = host.split('.');
    if parts.next()? != "10" {
        return None;
    }
    let mut index = 0usize;
    for _ in 0..3 {
        index = index * 256 + parts.next()?.parse::<u8>().ok()? as usize;
    }
    parts.next().is_none().then_some(index)
}
