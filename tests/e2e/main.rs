//! End-to-end tests: see tests/e2e/README (being written).
