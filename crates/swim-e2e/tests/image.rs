//! The image of `deploy/docker/build-image.sh`: small, tagged with the crates' version, run
//! as an unprivileged user, with both tools in it.

use swim_e2e::docker::{docker, one_at_a_time, require_docker};
use swim_e2e::images::build_ours;
use swim_e2e::resources::Resources;

/// The size target.
const MAX_IMAGE_BYTES: u64 = 30_000_000;

#[test]
fn the_image_is_small_unprivileged_and_versioned() {
    if !require_docker("the_image_is_small_unprivileged_and_versioned") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let size: u64 = docker(&["image", "inspect", "-f", "{{.Size}}", &image])
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("e2e figure: image size: {:.1} MB", size as f64 / 1e6);
    assert!(size <= MAX_IMAGE_BYTES, "{image} is {size} bytes");
    let config = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.User}} {{index .Config.Labels \"org.opencontainers.image.version\"}}",
        &image,
    ])
    .unwrap();
    assert_eq!(config, format!("10001:10001 {}", env!("CARGO_PKG_VERSION")));
    let id = docker(&["run", "--rm", "--entrypoint", "/bin/id", &image, "-u"]).unwrap();
    assert_eq!(id, "10001");
    for tool in ["swim-protocol-sync", "swim-protocol-demo"] {
        let version = docker(&["run", "--rm", "--entrypoint", tool, &image, "--version"]).unwrap();
        let expected = format!(" {}", env!("CARGO_PKG_VERSION"));
        assert!(
            version.ends_with(&expected),
            "{tool} --version: {version:?}"
        );
    }
}
