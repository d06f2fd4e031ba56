//! Integration tests: the real `grace` binary around the fake app
//! (`tests/testapp`, a project of its own), as a plain child of the test (a
//! subreaper) and as PID 1 of a new PID namespace. One binary, one module
//! per concern. `common` says how to test another build (arm64 under
//! qemu-user: tests/it/QEMU.md).

mod common;

mod cli;
mod exit_codes;
mod forwarding;
mod no_harm;
mod reaping;
mod several;
mod signal_state;
mod stopping;
mod terminal;
mod tree;
