"""Functional tests of the face_api function (a package, so its conftest does not shadow other suites')."""
