//! Opens the status page of a live member in headless Chromium (Debian's `chromium`) and
//! checks that the page it renders lists the members with the statuses the member holds.
//! Skipped with a notice when Chromium is missing; fails instead with
//! `SWIM_REQUIRE_BROWSER=1` (as in CI, which installs it).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::served::{all_online, sees, start_served, wait_for};
use support::ChildGuard;
use swim_protocol::Status;

/// The Chromium binary, or `None` with a notice (a failure with `SWIM_REQUIRE_BROWSER=1`).
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| PathBuf::from(dir).join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let required = std::env::var("SWIM_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "SWIM_REQUIRE_BROWSER=1 but chromium is not installed"
        );
        eprintln!("NOTICE: skipping: chromium not found (apt-get install chromium)");
    }
    found
}

/// The DOM of `url` after Chromium loaded it.
fn rendered_dom(browser: &PathBuf, url: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("dom.html");
    let child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .args(["--dump-dom", url])
        .stdout(std::fs::File::create(&out).expect("output file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut browser = ChildGuard(child);
    let status = browser.wait_exit(
        Duration::from_secs(90),
        Duration::from_millis(100),
        "chromium",
    );
    assert!(status.success(), "chromium failed: {status}");
    std::fs::read_to_string(out).expect("dom")
}

/// (name, status) of each member row: `<tr class="member" data-name=".." data-status="..">`.
fn rows(dom: &str) -> Vec<(String, String)> {
    let attr = |row: &str, name: &str| -> String {
        let start = row.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
        row[start..]
            .split('"')
            .next()
            .expect("closing quote")
            .to_owned()
    };
    dom.split("<tr ")
        .skip(1)
        .map(|row| row.split('>').next().expect("tag"))
        .filter(|tag| tag.contains("class=\"member\""))
        .map(|tag| (attr(tag, "data-name"), attr(tag, "data-status")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_lists_the_live_members_with_their_statuses() {
    let Some(browser) = chromium() else {
        return;
    };
    let members = start_served(3).await;
    wait_for("all ONLINE", Duration::from_secs(15), || {
        all_online(&members)
    })
    .await;
    let gone = members[2].cluster.name().clone();
    members[2].shutdown_member().await;
    let observer = &members[0];
    wait_for("OFFLINE", Duration::from_secs(15), || {
        sees(&observer.cluster, &gone, Status::Offline)
    })
    .await;

    let url = format!("http://{}/", observer.http);
    let dom = tokio::task::spawn_blocking(move || rendered_dom(&browser, &url))
        .await
        .expect("browser task");
    let truth: Vec<(String, String)> = observer
        .cluster
        .members()
        .iter()
        .map(|m| (m.name.to_string(), m.status.name().to_owned()))
        .collect();
    assert_eq!(rows(&dom), truth, "page:\n{dom}");
    assert_eq!(truth.iter().filter(|(_, s)| s == "ONLINE").count(), 2);
    assert!(truth.contains(&(gone.to_string(), "OFFLINE".to_owned())));
    for i in 0..3 {
        assert!(
            dom.contains(&format!("member{i}")),
            "metadata of member{i} shown"
        );
    }
    assert!(dom.contains("3 members: 2 ONLINE, 1 OFFLINE"));
}
