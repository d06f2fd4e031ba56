//! End-to-end tests: grace as the ENTRYPOINT of real containers (podman
//! with runc), built from `Dockerfile.example`'s final stage, stopped and
//! signalled the way Docker, podman and Kubernetes do it, and as podman's
//! own `--init` (`--init-path`) in front of an image without grace. See
//! `tests/e2e/README.md` for what they need and how to run them.
//!
//! They take the static release binaries from `GRACE_STATIC_BIN` and
//! `GRACE_TESTAPP_STATIC_BIN` (set by `tests/run.sh`). Where they cannot
//! run (no podman, not root, no binaries), each test prints why and
//! returns; under `CI=true` that is a failure instead.

mod commands;
mod containers;
mod image;
mod init_path;
mod kube;
mod podman;
