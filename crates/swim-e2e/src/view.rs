//! What each container's member sees: its `swim-protocol-sync` directory, read with
//! `docker exec` (the images carry busybox for this).

use std::collections::BTreeSet;
use std::fmt;

use crate::docker::{docker, run_with_env, CommandError};

/// The directory every container mirrors the cluster into.
pub const DATA_DIR: &str = "/data";

/// One member's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    /// The member's own name (where `.local` points).
    pub local: String,
    /// Members linked in `.online`.
    pub online: BTreeSet<String>,
    /// Members linked in `.suspect`.
    pub suspect: BTreeSet<String>,
    /// Members linked in `.offline`.
    pub offline: BTreeSet<String>,
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: online {:?} suspect {:?} offline {:?}",
            self.local, self.online, self.suspect, self.offline
        )
    }
}

/// Reads the view of the member in `container`; an error until the member has started.
pub fn read_view(container: &str) -> Result<View, CommandError> {
    let script = format!(
        "cd {DATA_DIR} && readlink .local && for d in .online .suspect .offline; do \
         echo \"#$d\"; ls -1 $d; done"
    );
    let out = docker(&["exec", container, "/bin/sh", "-c", &script])?;
    let mut lines = out.lines();
    let local = lines.next().unwrap_or_default().trim().to_owned();
    if local.is_empty() || local.starts_with('#') {
        return Err(CommandError(format!("{container}: no .local yet")));
    }
    let mut view = View {
        local,
        ..View::default()
    };
    let mut current = None;
    for line in lines {
        match line {
            "#.online" => current = Some(&mut view.online),
            "#.suspect" => current = Some(&mut view.suspect),
            "#.offline" => current = Some(&mut view.offline),
            name => {
                if let Some(set) = current.as_mut() {
                    set.insert(name.to_owned());
                }
            }
        }
    }
    Ok(view)
}

/// The views of all `containers`, in order; an error if one cannot be read.
pub fn read_views(containers: &[String]) -> Result<Vec<View>, String> {
    containers
        .iter()
        .map(|c| read_view(c).map_err(|e| e.to_string()))
        .collect()
}

/// The value of `member`'s `key` as mirrored in `container`, if the file is there.
pub fn read_mirrored(container: &str, member: &str, key: &str) -> Option<String> {
    docker(&[
        "exec",
        container,
        "/bin/cat",
        &format!("{DATA_DIR}/{member}/{key}"),
    ])
    .ok()
}

/// Every container's view and last log lines, for a failure message.
pub fn describe(containers: &[String]) -> String {
    let mut text = String::new();
    for container in containers {
        let view = read_view(container).map_or_else(|e| e.to_string(), |v| v.to_string());
        // The members log to stderr, which `docker logs` replays on its own stderr.
        let logs = run_with_env(
            "sh",
            &["-c", &format!("docker logs --tail 15 {container} 2>&1")],
            &[],
        )
        .unwrap_or_else(|e| e.to_string());
        text.push_str(&format!("--- {container}: {view}\n{logs}\n"));
    }
    text
}

/// Whether each view's ONLINE set is exactly the other names of `live` (nothing missing,
/// nothing stale), and every view belongs to one of `live`.
pub fn all_see_exactly(views: &[View], live: &BTreeSet<String>) -> bool {
    views.iter().all(|v| {
        let mut others = live.clone();
        others.remove(&v.local) && v.online == others
    })
}
