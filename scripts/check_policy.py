"""Build step: parse and schema-check the policy file, and write its checked form beside it.

    python scripts/check_policy.py          # writes policy/facepolicy/policy.checked.json if it changed
    python scripts/check_policy.py --check  # exit 1 if the checked form is missing or stale

The functions then load the policy without PyYAML or jsonschema (facepolicy.policy.load_policy); a
stale or missing checked form only makes them parse the YAML themselves. Run by `make setup`.
"""

from __future__ import annotations

import argparse
import json
import sys

from facepolicy.errors import PolicyError
from facepolicy.policy import CHECKED_PATH, checked_form


def render() -> str:
    return json.dumps(checked_form(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the checked form is current")
    args = parser.parse_args(argv)
    try:
        text = render()
    except PolicyError as exc:
        sys.stderr.write(f"check_policy: {exc}\n")
        return 1
    current = CHECKED_PATH.read_text(encoding="utf-8") if CHECKED_PATH.exists() else ""
    if args.check:
        if current != text:
            sys.stderr.write(f"check_policy: {CHECKED_PATH} is stale: run python scripts/check_policy.py\n")
            return 1
        return 0
    if current != text:
        CHECKED_PATH.write_text(text, encoding="utf-8")
        sys.stdout.write(f"check_policy: wrote {CHECKED_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
