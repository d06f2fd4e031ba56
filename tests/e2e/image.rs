//! The images the tests run: `Dockerfile.example`'s `grace` stage (an image
//! of one file, `/grace`) and its final stage, built as they are, the final
//! one on a `FROM scratch` base of busybox (no registry is reachable), with
//! the fake app as `/app/*`; the final stage again with the example's
//! commented `:::` `CMD` in place of the start script; and a plain image
//! without grace, for podman's own `--init`.
//!
//! Only the example's first stage, which builds grace with cargo in a Rust
//! image, is replaced: by a stage holding the binary `tests/run.sh` built.

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::podman::{BUSYBOX, must};

/// The example, with the app's server trapping TERM like a good citizen.
pub const APP: &str = "localhost/grace-e2e-app:latest";
/// The same, but its server ignores SIGTERM.
pub const STUBBORN: &str = "localhost/grace-e2e-stubborn:latest";
/// The example with its other `CMD`: both apps as commands of grace
/// (`/app/worker ::: /app/server`), no start script; its server exits 143
/// on SIGTERM, as the JVM does.
pub const COMMANDS: &str = "localhost/grace-e2e-commands:latest";
/// The example's `grace` stage: `FROM scratch` and `/grace`, nothing else.
pub const GRACE: &str = "localhost/grace-e2e-grace:latest";
/// busybox and the fake app, no grace: an image that knows nothing of it.
pub const PLAIN: &str = "localhost/grace-e2e-plain:latest";
const BASE: &str = "localhost/grace-e2e-base:latest";

/// Where the fake app lives in the images.
pub const TESTAPP: &str = "/app/testapp";

const GRACE_MARKER: &str = "# ---- grace:";
const MARKER: &str = "# ---- final stage";
/// grace's separator between commands, quoted as in an exec-form `CMD`.
const SEPARATOR: &str = "\":::\"";

/// Builds the images once per test run; later calls return at once.
pub fn build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("grace-e2e-images-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        base(&root.join("base"));
        grace(&root.join("grace"));
        plain(&root.join("plain"));
        app(&root.join("app"), APP, "trap TERM", &final_stage());
        app(
            &root.join("stubborn"),
            STUBBORN,
            "ignore-term",
            &final_stage(),
        );
        app(
            &root.join("commands"),
            COMMANDS,
            "trap TERM --code 143",
            &commands_stage(),
        );
        let _ = std::fs::remove_dir_all(&root);
    });
}

fn write(path: &Path, text: &str, mode: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
}

/// `FROM scratch` with busybox-static and a link for each of its applets:
/// the smallest base with a `/bin/sh` for the start script.
fn base(ctx: &Path) {
    let bin = ctx.join("bin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    copy(Path::new(BUSYBOX), &bin.join("busybox"));
    let list = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .unwrap_or_else(|e| panic!("busybox --list: {e}"));
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" {
            symlink("busybox", bin.join(applet)).unwrap_or_else(|e| panic!("{applet}: {e}"));
        }
    }
    write(
        &ctx.join("Containerfile"),
        "FROM scratch\nCOPY bin /bin\n",
        0o644,
    );
    must(&["build", "--quiet", "--tag", BASE, &ctx.to_string_lossy()]);
}

/// The example's text from the line starting with `from` to the one
/// starting with `to` (or to the end).
fn example(from: &str, to: Option<&str>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile.example");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let find = |marker: &str| {
        text.find(marker)
            .unwrap_or_else(|| panic!("Dockerfile.example has no {marker:?} line"))
    };
    let at = find(from);
    let end = to.map_or(text.len(), find);
    assert!(at < end, "Dockerfile.example: {from:?} after {to:?}");
    text[at..end].to_owned()
}

/// The example's final stage, from its marker line to the end.
fn final_stage() -> String {
    example(MARKER, None)
}

/// The final stage with the example's commented alternative `CMD`, the one
/// with `:::`, in place of its `CMD ["/start.sh"]`: the stage a reader gets
/// by taking that line instead.
fn commands_stage() -> String {
    let stage = final_stage();
    let alts: Vec<&str> = stage
        .lines()
        .filter(|l| l.starts_with('#') && l.contains(SEPARATOR))
        .filter_map(|l| l.find("CMD [").map(|at| &l[at..]))
        .collect();
    let [alt] = alts[..] else {
        panic!("Dockerfile.example: want one commented CMD with {SEPARATOR}, found {alts:?}")
    };
    let mut cmds = 0;
    let lines: Vec<&str> = stage
        .lines()
        .map(|l| {
            if l.starts_with("CMD ") {
                cmds += 1;
                alt
            } else {
                l
            }
        })
        .collect();
    assert_eq!(
        cmds, 1,
        "Dockerfile.example's final stage should have one CMD"
    );
    lines.join("\n") + "\n"
}

/// The example's `grace` stage, as is, after a stage holding the binary:
/// the image other Dockerfiles `COPY --from=grace /grace /grace`.
fn grace(ctx: &Path) {
    std::fs::create_dir_all(ctx).unwrap_or_else(|e| panic!("{}: {e}", ctx.display()));
    copy(&static_bin("GRACE_STATIC_BIN"), &ctx.join("grace"));
    let containerfile = format!(
        "FROM scratch AS grace-build\n\
         COPY grace /grace\n\
         {}",
        example(GRACE_MARKER, Some(MARKER))
    );
    write(&ctx.join("Containerfile"), &containerfile, 0o644);
    must(&["build", "--quiet", "--tag", GRACE, &ctx.to_string_lossy()]);
}

/// The base with the fake app, and nothing of grace.
fn plain(ctx: &Path) {
    std::fs::create_dir_all(ctx).unwrap_or_else(|e| panic!("{}: {e}", ctx.display()));
    copy(
        &static_bin("GRACE_TESTAPP_STATIC_BIN"),
        &ctx.join("testapp"),
    );
    write(
        &ctx.join("Containerfile"),
        &format!("FROM {BASE}\nCOPY testapp {TESTAPP}\n"),
        0o644,
    );
    must(&["build", "--quiet", "--tag", PLAIN, &ctx.to_string_lossy()]);
}

fn static_bin(var: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| panic!("{var} is not set"), PathBuf::from)
}

/// The example image from `stage` (its final stage, or a variant of it),
/// with `/app/server` running `testapp SERVER_MODE`; its `COPY
/// --from=grace` takes `/grace` from the `grace` image.
fn app(ctx: &Path, tag: &str, server_mode: &str, stage: &str) {
    std::fs::create_dir_all(ctx.join("app")).unwrap_or_else(|e| panic!("{}: {e}", ctx.display()));
    copy(
        &static_bin("GRACE_TESTAPP_STATIC_BIN"),
        &ctx.join("app/testapp"),
    );
    write(
        &ctx.join("app/worker"),
        &format!("#!/bin/sh\nexec {TESTAPP} trap TERM\n"),
        0o755,
    );
    write(
        &ctx.join("app/server"),
        &format!("#!/bin/sh\nexec {TESTAPP} {server_mode}\n"),
        0o755,
    );
    let start = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/start.sh");
    std::fs::create_dir_all(ctx.join("examples")).unwrap_or_else(|e| panic!("{e}"));
    copy(&start, &ctx.join("examples/start.sh"));
    let containerfile = format!(
        "ARG APP_IMAGE\n\
         FROM {GRACE} AS grace\n\
         {stage}"
    );
    write(&ctx.join("Containerfile"), &containerfile, 0o644);
    must(&[
        "build",
        "--quiet",
        "--build-arg",
        &format!("APP_IMAGE={BASE}"),
        "--tag",
        tag,
        &ctx.to_string_lossy(),
    ]);
}
