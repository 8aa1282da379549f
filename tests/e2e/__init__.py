"""End-to-end tests: the local stack over HTTP (a package, so its conftest does not shadow a top-level `conftest`)."""
