"""Load the named sample events in events/ (the same files `sam local invoke -e` takes)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json (tests may mutate it freely)."""
    return copy.deepcopy(_read(name))


def event_names() -> list[str]:
    """Every event in events/, by name (without .json)."""
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
