//! `deploy/kubernetes/swim.yaml`, checked as far as a machine without Kubernetes allows: its
//! objects fit together, and its pod's container, as written, forms a cluster when run as
//! Docker containers whose network alias is the headless Service's name (what the
//! Service's DNS name gives the pods). See deploy/kubernetes/README.md for what this does
//! not show.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use swim_e2e::deployment::{wait_converged, ROLE};
use swim_e2e::docker::{docker, one_at_a_time, require_docker, run_with_env, unique_name};
use swim_e2e::images::{build_ours, repo_file};
use swim_e2e::poll::figure;
use swim_e2e::resources::Resources;

const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
const PODS: usize = 5;

/// The manifest's objects, parsed by PyYAML (Debian's `python3-yaml`, which docker-compose
/// needs too) into JSON.
fn manifest() -> Vec<Value> {
    let script =
        "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let json = run_with_env(
        "/usr/bin/python3",
        &["-c", script, &repo_file("deploy/kubernetes/swim.yaml")],
        &[],
    )
    .expect("the manifest parses as YAML");
    serde_json::from_str(&json).unwrap()
}

fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// Lays out `files` in `dir` as the kubelet mounts a Secret or ConfigMap: the files in a
/// timestamped directory, `..data` linking to it, and each key a link through `..data`.
fn kubelet_volume(dir: &Path, files: &serde_json::Map<String, Value>) {
    let stamped = dir.join("..2026_01_01_00_00_00.000000001");
    fs::create_dir_all(&stamped).unwrap();
    for (key, value) in files {
        fs::write(stamped.join(key), text(value)).unwrap();
        symlink(format!("..data/{key}"), dir.join(key)).unwrap();
    }
    symlink(stamped.file_name().unwrap(), dir.join("..data")).unwrap();
    // Readable by the pod's user, as the kubelet's default mode 0644 makes them.
    for entry in [dir.to_owned(), stamped] {
        fs::set_permissions(&entry, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
}

#[test]
fn the_kubernetes_manifest_fits_together_and_its_pods_form_a_cluster() {
    let objects = manifest();
    let service = object(&objects, "Service");
    let set = object(&objects, "StatefulSet");
    let secret = object(&objects, "Secret");
    let config_map = object(&objects, "ConfigMap");
    let service_name = text(&service["metadata"]["name"]);
    assert_eq!(service["spec"]["clusterIP"], "None", "headless");
    assert_eq!(service["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(set["spec"]["serviceName"], service_name);
    let labels = &set["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&set["spec"]["selector"]["matchLabels"], labels);
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&labels[key], value, "the Service selects the pods");
    }
    let pod = &set["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let name_at = args.iter().position(|a| *a == "--name").unwrap();
    let (host, port) = args[name_at + 1].split_once(':').unwrap();
    assert_eq!(host, service_name, "--name is the Service's DNS name");
    assert!(args.contains(&"--udp-discovery"));
    let service_ports: Vec<u64> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert!(service_ports.iter().all(|p| p.to_string() == port));
    assert_eq!(
        container["image"],
        format!("swim-rs:{}", env!("CARGO_PKG_VERSION")),
        "the image build-image.sh makes"
    );
    let volumes = pod["volumes"].as_array().unwrap();
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).unwrap();
    let mount_of = |name: &str| {
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| text(&m["mountPath"]).to_owned())
            .unwrap()
    };
    let secret_volume = volumes.iter().find(|v| v.get("secret").is_some()).unwrap();
    assert_eq!(
        secret_volume["secret"]["secretName"],
        secret["metadata"]["name"]
    );
    let config_volume = volumes
        .iter()
        .find(|v| v.get("configMap").is_some())
        .unwrap();
    assert_eq!(
        config_volume["configMap"]["name"],
        config_map["metadata"]["name"]
    );
    assert!(volume("data").get("emptyDir").is_some());
    let probe: Vec<&str> = container["readinessProbe"]["exec"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();

    if !require_docker("the_kubernetes_manifest_fits_together_and_its_pods_form_a_cluster") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let network = unique_name("k8s");
    docker(&["network", "create", &network]).unwrap();
    resources.network(&network);
    let files = tempfile::tempdir().unwrap();
    fs::set_permissions(
        files.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let secret_dir = files.path().join("secret");
    kubelet_volume(&secret_dir, secret["stringData"].as_object().unwrap());
    let config_dir = files.path().join("config");
    kubelet_volume(&config_dir, config_map["data"].as_object().unwrap());
    assert_eq!(config_map["data"]["role"], ROLE);

    let security = &pod["securityContext"];
    let user = format!("{}:{}", security["runAsUser"], security["runAsGroup"]);
    let data_tmpfs = format!(
        "{}:uid={},gid={},mode=0770",
        mount_of("data"),
        security["runAsUser"],
        security["fsGroup"]
    );
    let secret_mount = format!(
        "{}:{}:ro",
        secret_dir.display(),
        mount_of(text(&secret_volume["name"]))
    );
    let config_mount = format!(
        "{}:{}:ro",
        config_dir.display(),
        mount_of(text(&config_volume["name"]))
    );
    let env: Vec<String> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}={}", text(&e["name"]), text(&e["value"])))
        .collect();
    let mut pods = Vec::new();
    for i in 0..PODS {
        let pod_name = unique_name(&format!("pod{i}"));
        let mut command = vec![
            "run",
            "-d",
            "--name",
            &pod_name,
            "--network",
            &network,
            "--network-alias",
            service_name,
            "--user",
            &user,
            "--read-only",
            "--tmpfs",
            &data_tmpfs,
            "-v",
            &secret_mount,
            "-v",
            &config_mount,
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
        ];
        for pair in &env {
            command.extend(["-e", pair]);
        }
        command.push(&image);
        command.extend(&args);
        resources.container(&pod_name);
        docker(&command).unwrap();
        pods.push(pod_name);
    }
    let pods_now = || pods.clone();
    let (_, took) = wait_converged(pods_now, PODS, "5 pods see each other ONLINE", JOIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    figure("the manifest's pod spec, 5 containers: joined", took);
    swim_e2e::deployment::wait_metadata(&pods, JOIN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    for pod in &pods {
        let mut exec = vec!["exec", pod.as_str()];
        exec.extend(&probe);
        docker(&exec).unwrap_or_else(|e| panic!("readiness probe in {pod}: {e}"));
        let state =
            docker(&["inspect", "-f", "{{.RestartCount}} {{.State.Running}}", pod]).unwrap();
        assert_eq!(state, "0 true", "{pod}");
    }
}
