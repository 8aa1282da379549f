"""The API contract gate: schemathesis against the local stack (config, hooks and the test's helpers)."""
