"""The policy's checked form (policy.checked.json, written at build by scripts/check_policy.py): current,
used only when it was made from the exact policy file and schema, and never a way around the checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from facepolicy import policy as policy_module
from facepolicy.errors import PolicyError
from facepolicy.policy import CHECKED_PATH, POLICY_PATH, checked_form, load_policy, parse_policy

YAML_POLICY = parse_policy(yaml.safe_load(POLICY_PATH.read_text()),
                           sha256=hashlib.sha256(POLICY_PATH.read_bytes()).hexdigest())


def test_the_shipped_checked_form_is_current() -> None:
    assert json.loads(CHECKED_PATH.read_text()) == checked_form(), "run: python scripts/check_policy.py"


def test_the_checked_form_gives_the_policy_the_yaml_gives() -> None:
    assert load_policy() == YAML_POLICY  # same rules, same name (the YAML file's hash)


def test_loading_the_shipped_policy_imports_neither_yaml_nor_jsonschema() -> None:
    probe = ("import sys; from facepolicy.policy import load_policy; load_policy(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'jsonschema')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def _checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    form = {**checked_form(), **changes}
    path = tmp_path / "policy.checked.json"
    path.write_text(json.dumps(form))
    monkeypatch.setattr(policy_module, "CHECKED_PATH", path)


@pytest.mark.parametrize("stale", [{"source_sha256": "0" * 64}, {"schema_sha256": "0" * 64}, {"document": None}])
def test_a_stale_checked_form_is_ignored_and_the_yaml_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 stale: dict[str, Any]) -> None:
    # Given a checked form made from another file or schema, whose document would deny nothing
    _checked(tmp_path, monkeypatch, **{"document": {**checked_form()["document"], "rules": []}, **stale})
    # Then the YAML decides
    assert load_policy() == YAML_POLICY


def test_a_missing_or_corrupt_checked_form_falls_back_to_the_yaml(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_module, "CHECKED_PATH", tmp_path / "absent.json")
    assert load_policy() == YAML_POLICY
    (tmp_path / "corrupt.json").write_text("{not json")
    monkeypatch.setattr(policy_module, "CHECKED_PATH", tmp_path / "corrupt.json")
    assert load_policy() == YAML_POLICY


def test_a_checked_form_still_gets_the_cross_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a checked form (right hashes) whose rule names a sector the vocabulary lacks
    document = checked_form()["document"]
    document["rules"][0]["sectors"] = ["no_such_sector"]
    _checked(tmp_path, monkeypatch, document=document)
    with pytest.raises(PolicyError, match="unknown sectors"):
        load_policy()


def test_the_build_step_refuses_a_policy_that_fails_its_checks(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(POLICY_PATH.read_text().replace("version: 1", "version: 2", 1))
    with pytest.raises(PolicyError, match="schema"):
        checked_form(bad)


def test_the_build_step_finds_the_shipped_checked_form_current() -> None:
    script = Path(__file__).resolve().parents[3] / "scripts" / "check_policy.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
