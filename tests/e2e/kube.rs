//! `examples/kubernetes/pod.yaml`, run by `podman kube play` and stopped by
//! `podman pod stop` (what the kubelet does: SIGTERM, wait, SIGKILL). Only
//! the image and its pull policy are replaced, so the manifest's `GRACE_*`
//! values and security context are what is tested: the example cannot rot.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::image::{self, STUBBORN};
use crate::podman::{self, PATIENCE, must, skip_unless_podman, timed};

const MANIFEST: &str = "examples/kubernetes/pod.yaml";

/// The manifest with the locally built image, never pulled.
fn manifest(image: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MANIFEST);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut images = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let indent = &l[..l.len() - l.trim_start().len()];
            if l.trim_start().starts_with("image:") {
                images += 1;
                format!("{indent}image: {image}")
            } else if l.trim_start().starts_with("imagePullPolicy:") {
                format!("{indent}imagePullPolicy: Never")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_eq!(images, 1, "{MANIFEST} should have one container image");
    out.join("\n") + "\n"
}

/// A value of the manifest's, read from the manifest itself.
fn value_of(key: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MANIFEST);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("- name: {key}")
            && let Some(v) = lines.next().and_then(|v| v.trim().strip_prefix("value:"))
        {
            return v.trim().trim_matches('"').to_owned();
        }
    }
    panic!("{MANIFEST} sets no {key}");
}

fn seconds(d: &str) -> u64 {
    d.strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected whole seconds, got {d:?}"))
}

/// Removes the pod however the test ends.
struct Pod(std::path::PathBuf);

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = podman::podman(&["kube", "down", &self.0.to_string_lossy()]);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The pod's server ignores SIGTERM: `podman pod stop` with a timeout
/// longer than the manifest's `GRACE_PERIOD` shows grace forwarding SIGTERM
/// only after `GRACE_STOP_DELAY`, `SIGKILL`ing the server at `GRACE_PERIOD`
/// and logging whom (as JSON, per `GRACE_LOG_FORMAT`), all as the
/// manifest's non-root, capability-less user.
#[test]
fn kubernetes_example_stops_at_its_grace_period() {
    skip_unless_podman!();
    image::build();
    let period = Duration::from_secs(seconds(&value_of("GRACE_PERIOD")));
    let delay = Duration::from_secs(seconds(&value_of("GRACE_STOP_DELAY")));
    assert_eq!(value_of("GRACE_LOG_FORMAT"), "json");

    let file = std::env::temp_dir().join(format!("grace-e2e-pod-{}.yaml", std::process::id()));
    std::fs::write(&file, manifest(STUBBORN)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let pod = Pod(file);
    let _ = podman::podman(&["kube", "down", &pod.0.to_string_lossy()]);
    must(&[
        "kube",
        "play",
        "--network",
        "none",
        &pod.0.to_string_lossy(),
    ]);
    let container = "grace-example-app";

    // Both apps of start.sh are up: a bounded poll of the logs (kube play
    // detaches, so there is no stream to read).
    let until = Instant::now() + PATIENCE;
    while podman::logs(container).matches("ready pid=").count() < 2 {
        assert!(
            Instant::now() < until,
            "the pod's apps never got ready:\n{}",
            podman::logs(container)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(must(&["exec", container, "id", "-u"]).trim(), "65534");
    let caps = must(&["exec", container, "grep", "^CapEff", "/proc/1/status"]);
    assert!(
        caps.trim().ends_with("0000000000000000"),
        "PID 1 has capabilities: {caps}"
    );

    let took = timed(|| {
        must(&["pod", "stop", "--time", "30", "grace-example"]);
    });
    let all = podman::logs(container);
    // The main child is start.sh, which died of the SIGTERM (143): that is
    // the container's status. The server it started is what grace killed.
    assert_eq!(podman::exit_code(container), 143, "{all}");
    assert!(
        took + Duration::from_millis(100) >= period && took < period + Duration::from_secs(4),
        "the pod stopped after {took:?}, not at GRACE_PERIOD={period:?}:\n{all}"
    );
    let json: Vec<serde_json::Value> = all
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let field = |msg: &str, key: &str| -> serde_json::Value {
        json.iter()
            .find(|j| j["message"].as_str().is_some_and(|m| m.starts_with(msg)))
            .map_or_else(
                || panic!("no log line {msg:?} with {key}:\n{all}"),
                |j| j[key].clone(),
            )
    };
    let asked = field("stop requested", "delay_ms").as_u64().unwrap_or(0);
    assert!(
        asked + 100 >= u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "GRACE_STOP_DELAY not applied: delay_ms={asked}"
    );
    // SIGTERM reached the app after the delay, with the rest of the period
    // left before SIGKILL.
    let kill_in = Duration::from_millis(field("stopping", "kill_in_ms").as_u64().unwrap_or(0));
    let rest = period.saturating_sub(delay);
    assert!(
        kill_in <= rest && kill_in + Duration::from_millis(500) >= rest,
        "SIGKILL due {kill_in:?} after SIGTERM, expected {rest:?}"
    );
    let shutdown = json
        .iter()
        .find(|j| j["event"] == "shutdown")
        .unwrap_or_else(|| panic!("no shutdown line:\n{all}"));
    assert_eq!(shutdown["killed"], 1, "{shutdown}");
    assert_eq!(shutdown["exit_code"], 143, "{shutdown}");
    assert_eq!(shutdown["main_status"], "killed by SIGTERM", "{shutdown}");
    assert!(
        shutdown["killed_pids"]
            .as_str()
            .is_some_and(|p| p.contains(":testapp")),
        "{shutdown}"
    );
    // The worker handled SIGTERM; the server ignored it and was killed.
    assert_eq!(all.matches("got SIGTERM").count(), 2, "{all}");
}
