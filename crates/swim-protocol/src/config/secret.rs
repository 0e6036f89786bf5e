//! The shared secret: reading it from a file, and the machine-derived default.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use swim_wire_python::{default_secret as python_default_secret, node_from_mac};

use crate::error::ConfigError;

/// Largest secret file read; a longer file is surely not a secret.
pub const MAX_SECRET_FILE_LEN: u64 = 64 * 1024;

/// Reads a secret from `path`, without its trailing `\r` and `\n` characters (as the seed).
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    read_value_file(path).map_err(|reason| ConfigError::SecretFile {
        path: path.to_owned(),
        reason,
    })
}

/// Reads a value from a file named by a `*_FILE` variable: at most [`MAX_SECRET_FILE_LEN`]
/// bytes, trailing `\r` and `\n` removed, not empty.
pub(crate) fn read_value_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = read_bounded(path, MAX_SECRET_FILE_LEN).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SECRET_FILE_LEN {
        return Err(format!("longer than {MAX_SECRET_FILE_LEN} bytes"));
    }
    while matches!(bytes.last(), Some(b'\r' | b'\n')) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err("the file is empty".to_owned());
    }
    Ok(bytes)
}

/// Reads at most `max + 1` bytes, so that a caller can tell the file is too long.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The secret used when none is configured, derived from the machine so that every member on
/// it agrees without configuration: like the seed (`b'%x' % uuid.getnode()`), the lowercase
/// hexadecimal of the first network interface's MAC address; else the contents of
/// `/etc/machine-id`. Anyone who can see the MAC address can forge packets, so this is only
/// safe when every socket is bound to loopback.
pub fn default_secret() -> Result<Vec<u8>, ConfigError> {
    default_secret_from(Path::new("/sys/class/net"), Path::new("/etc/machine-id"))
}

pub(crate) fn default_secret_from(
    net_dir: &Path,
    machine_id: &Path,
) -> Result<Vec<u8>, ConfigError> {
    if let Some(secret) = first_mac(net_dir).and_then(|mac| secret_from_mac(&mac)) {
        return Ok(secret);
    }
    if let Ok(id) = read_bounded(machine_id, 256) {
        let id = id.trim_ascii();
        if !id.is_empty() && id.len() <= 256 {
            return Ok(id.to_vec());
        }
    }
    Err(ConfigError::Invalid(
        "no secret is configured and none can be derived from this machine (no MAC address, \
         no /etc/machine-id): set one"
            .to_owned(),
    ))
}

/// The seed's secret for a MAC address written `aa:bb:cc:dd:ee:ff` (the derivation itself is
/// the Python wire's [`default_secret`](swim_wire_python::default_secret)). `None` for
/// text that is not a MAC address, and for the all-zero address of loopback.
pub(crate) fn secret_from_mac(mac: &str) -> Option<Vec<u8>> {
    let mut bytes = [0u8; 6];
    let mut parts = mac.trim().split(':');
    for byte in &mut bytes {
        let part = parts.next().filter(|part| part.len() == 2)?;
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    if parts.next().is_some() || bytes == [0; 6] {
        return None;
    }
    Some(python_default_secret(node_from_mac(bytes)))
}

/// The MAC address the seed's `uuid.getnode()` most likely picks: libuuid takes the first
/// interface (in kernel order) that has an address and a non-zero MAC. Approximated here with
/// the first interface that is up, by index; else the first with a non-zero MAC at all.
fn first_mac(net_dir: &Path) -> Option<String> {
    struct Interface {
        index: u64,
        up: bool,
        mac: String,
    }
    let read = |dir: &PathBuf, file: &str| {
        read_bounded(&dir.join(file), 64)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
    };
    let mut interfaces: Vec<Interface> = fs::read_dir(net_dir)
        .ok()?
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let mac = read(&dir, "address")?;
            secret_from_mac(&mac)?;
            Some(Interface {
                index: read(&dir, "ifindex")?.parse().ok()?,
                up: read(&dir, "operstate").as_deref() == Some("up"),
                mac,
            })
        })
        .collect();
    interfaces.sort_by_key(|i| (!i.up, i.index));
    interfaces.into_iter().next().map(|i| i.mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_becomes_the_seeds_hex_number() {
        assert_eq!(
            secret_from_mac("02:fc:00:00:00:01").as_deref(),
            Some(&b"2fc00000001"[..])
        );
        assert_eq!(
            secret_from_mac("AB:cd:ef:01:02:03\n").as_deref(),
            Some(&b"abcdef010203"[..])
        );
        assert_eq!(secret_from_mac("00:00:00:00:00:00"), None);
        assert_eq!(secret_from_mac("00:00:00:00:00"), None);
        assert_eq!(secret_from_mac("zz:00:00:00:00:01"), None);
        assert_eq!(secret_from_mac("00:00:00:00:00:00:01"), None);
    }

    fn fake_interface(root: &Path, name: &str, index: u32, state: &str, mac: &str) {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("ifindex"), format!("{index}\n")).unwrap();
        fs::write(dir.join("operstate"), format!("{state}\n")).unwrap();
        fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
    }

    #[test]
    fn first_up_interface_wins_then_machine_id() {
        let root = std::env::temp_dir().join(format!("swim-secret-{}", std::process::id()));
        let net = root.join("net");
        fake_interface(&net, "lo", 1, "unknown", "00:00:00:00:00:00");
        fake_interface(&net, "ifb0", 2, "down", "82:68:57:45:1c:18");
        fake_interface(&net, "eth1", 5, "up", "02:00:00:00:00:05");
        fake_interface(&net, "eth0", 4, "up", "02:fc:00:00:00:01");
        let machine_id = root.join("machine-id");
        fs::write(&machine_id, "3d1219c7\n").unwrap();
        assert_eq!(
            default_secret_from(&net, &machine_id).unwrap(),
            b"2fc00000001"
        );
        // Down interfaces count only when none is up.
        fs::remove_dir_all(net.join("eth0")).unwrap();
        fs::remove_dir_all(net.join("eth1")).unwrap();
        assert_eq!(
            default_secret_from(&net, &machine_id).unwrap(),
            b"826857451c18"
        );
        fs::remove_dir_all(net.join("ifb0")).unwrap();
        assert_eq!(default_secret_from(&net, &machine_id).unwrap(), b"3d1219c7");
        fs::remove_file(&machine_id).unwrap();
        assert!(default_secret_from(&net, &machine_id).is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
