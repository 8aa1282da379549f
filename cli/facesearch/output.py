"""Terminal output of the client: a tiny table formatter and a progress bar (stderr), no dependencies."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list | tuple):
        return ",".join(_cell(v) for v in value) or "-"
    return str(value)


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """Rows as an aligned text table (numbers right-aligned); empty input gives just the header."""
    body = [[_cell(get(row)) for _, get in columns] for row in rows]
    headers = [name for name, _ in columns]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    numeric = [any(r[i] != "-" for r in body) and all(_is_number(r[i]) for r in body) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    return "\n".join(out)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def show(as_json: bool, payload: Any, rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> None:
    """The answer of a command: `payload` as JSON with --json, else `rows` as a table."""
    if as_json:
        print_json(payload)
    else:
        print(table(rows, columns))


def box(face: dict[str, Any] | None) -> str:
    """A bounding box as `left,top widthxheight` (pixels)."""
    if not face:
        return "-"
    return f"{face['left']:.0f},{face['top']:.0f} {face['width']:.0f}x{face['height']:.0f}"


class Progress:
    """`label [#####.....] 5/10` on stderr; redrawn in place on a terminal, printed once when done otherwise."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self._lock = threading.Lock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if self._tty:
            self._draw()

    def advance(self, n: int = 1) -> None:
        """Count `n` more done: redrawn on a terminal; elsewhere (logs) a line at every tenth of a long run."""
        with self._lock:
            before = self.done
            self.done = min(self.total, self.done + n)
            if self._tty:
                self._draw()
            elif self.total >= 20 and self.done < self.total and self._tenth(self.done) > self._tenth(before):
                self._draw()
                self.stream.write("\n")

    def _tenth(self, done: int) -> int:
        return done * 10 // self.total

    def close(self) -> None:
        with self._lock:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        prefix = "\r" if self._tty else ""
        self.stream.write(f"{prefix}{self.label} [{bar}] {self.done}/{self.total}")
        self.stream.flush()
