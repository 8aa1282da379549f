"""Render the transparency report (the JSON document of GET /admin/report) as CSV or one self-contained HTML page.

The HTML has no external assets (no scripts, fonts, images or stylesheets): charts are inline SVG, so the
file can be published as is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

CSV_COLUMNS = ("section", "sector", "operation", "outcome", "rule_id", "reason_code", "name", "value")
ALLOWED_COLOR, REFUSED_COLOR, INK = "#3b7a57", "#b3261e", "#1f2328"


def render_csv(document: Mapping[str, Any]) -> str:
    """One long table: a row per count, the section naming what it counts."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    period = document.get("period", {})
    writer.writerow({"section": "period", "name": "since", "value": period.get("since", "")})
    writer.writerow({"section": "period", "name": "until", "value": period.get("until", "")})
    for name, value in document.get("totals", {}).items():
        writer.writerow({"section": "totals", "name": name, "value": value})
    for row in document.get("decisions", []):
        writer.writerow({"section": "decisions", "sector": row["sector"], "operation": row["operation"],
                         "outcome": row["outcome"], "value": row["count"]})
    for row in document.get("refusals", []):
        writer.writerow({"section": "refusals", "rule_id": row["rule_id"], "reason_code": row["reason_code"],
                         "value": row["count"]})
    for row in document.get("refusals_by_sector", []):
        writer.writerow({"section": "refusals_by_sector", "sector": row["sector"],
                         "reason_code": row["reason_code"], "value": row["count"]})
    for section in ("registry", "erasures", "offboarding_erased"):
        for name, value in document.get(section, {}).items():
            writer.writerow({"section": section, "name": name, "value": value})
    for row in document.get("daily", []):
        writer.writerow({"section": "daily", "outcome": row["outcome"], "name": row["day"], "value": row["count"]})
    for policy in document.get("policies", []):
        writer.writerow({"section": "policies", "name": f"v{policy['version']} {policy['sha256']}",
                         "value": f"{policy['first_seen']}..{policy['last_seen']}"})
    return out.getvalue()


# ------------------------------------------------------------------ SVG charts
def _stacked_bars(rows: Sequence[tuple[str, int, int]], title: str) -> str:
    """Horizontal bars, one per label: allowed (green) then refused (red)."""
    if not rows:
        return f"<p class='empty'>{escape(title)}: nothing in this period.</p>"
    label_w = min(int(max(len(label) for label, _, _ in rows) * 7.5) + 12, 420)  # ~7.5 px a character at 12 px
    width, bar_h, gap = label_w + 420, 18, 8
    top = max(a + r for _, a, r in rows) or 1
    scale = (width - label_w - 60) / top
    height = len(rows) * (bar_h + gap) + 30
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='{escape(title)}'><title>{escape(title)}</title>"]
    for i, (label, allowed, refused) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        a_w, r_w = allowed * scale, refused * scale
        parts.append(f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end' font-size='12' fill='{INK}'>"
                     f"{escape(label)}</text>")
        parts.append(f"<rect x='{label_w}' y='{y}' width='{a_w:.1f}' height='{bar_h}' fill='{ALLOWED_COLOR}'>"
                     f"<title>{escape(label)}: {allowed} allowed</title></rect>")
        parts.append(f"<rect x='{label_w + a_w:.1f}' y='{y}' width='{r_w:.1f}' height='{bar_h}' "
                     f"fill='{REFUSED_COLOR}'><title>{escape(label)}: {refused} refused</title></rect>")
        parts.append(f"<text x='{label_w + a_w + r_w + 6:.1f}' y='{y + 13}' font-size='12' fill='{INK}'>"
                     f"{allowed + refused}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _columns(days: Sequence[tuple[str, int, int]], title: str) -> str:
    """Vertical stacked columns per day (allowed below, refused above)."""
    if not days:
        return f"<p class='empty'>{escape(title)}: nothing in this period.</p>"
    width, height, base = 640, 200, 170
    step = (width - 40) / len(days)
    top = max(a + r for _, a, r in days) or 1
    scale = (base - 20) / top
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='{escape(title)}'><title>{escape(title)}</title>",
             f"<line x1='30' y1='{base}' x2='{width - 10}' y2='{base}' stroke='{INK}' stroke-width='1'/>"]
    for i, (day, allowed, refused) in enumerate(days):
        x = 30 + i * step + step * 0.15
        w = max(step * 0.7, 1)
        a_h, r_h = allowed * scale, refused * scale
        parts.append(f"<rect x='{x:.1f}' y='{base - a_h:.1f}' width='{w:.1f}' height='{a_h:.1f}' "
                     f"fill='{ALLOWED_COLOR}'><title>{escape(day)}: {allowed} allowed</title></rect>")
        parts.append(f"<rect x='{x:.1f}' y='{base - a_h - r_h:.1f}' width='{w:.1f}' height='{r_h:.1f}' "
                     f"fill='{REFUSED_COLOR}'><title>{escape(day)}: {refused} refused</title></rect>")
        if len(days) <= 16 or i % max(1, len(days) // 8) == 0:
            parts.append(f"<text x='{x + w / 2:.1f}' y='{base + 16}' text-anchor='middle' font-size='10' "
                         f"fill='{INK}'>{escape(day[5:])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return "<p class='empty'>None in this period.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _by(rows: Iterable[Mapping[str, Any]], key: str) -> list[tuple[str, int, int]]:
    totals: dict[str, list[int]] = {}
    for row in rows:
        pair = totals.setdefault(str(row[key]), [0, 0])
        pair[0 if row["outcome"] == "allowed" else 1] += int(row["count"])
    return [(label, a, r) for label, (a, r) in sorted(totals.items())]


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;max-width:760px;margin:2em auto;
padding:0 1em;line-height:1.45}h1{margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.6em 0;font-size:14px}td,th{border:1px solid #d0d7de;padding:3px 8px;
text-align:left;overflow-wrap:anywhere}th{background:#f6f8fa}svg{max-width:100%;height:auto}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d0d7de;
border-radius:6px;padding:8px 14px}.card b{display:block;font-size:22px}.empty{color:#57606a}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}code{font-size:12px;word-break:break-all}
"""


def render_html(document: Mapping[str, Any]) -> str:
    """One self-contained page: totals, inline SVG charts, the tables behind them, the policy versions."""
    period, totals = document.get("period", {}), document.get("totals", {})
    decisions = document.get("decisions", [])
    cards = "".join(f"<div class='card'><b>{escape(str(totals.get(k, 0)))}</b>{escape(label)}</div>" for k, label in (
        ("decisions", "decisions"), ("allowed", "allowed"), ("refused", "refused"),
        ("customers", "customers"), ("customers_refused", "customers refused")))
    refusal_rows = [(f"{r['rule_id'] or '(no rule)'} / {r['reason_code']}", 0, int(r["count"]))
                    for r in document.get("refusals", [])]
    daily: dict[str, list[int]] = {}
    for row in document.get("daily", []):
        daily.setdefault(row["day"], [0, 0])[0 if row["outcome"] == "allowed" else 1] += int(row["count"])
    legend = (f"<p class='legend'><span style='background:{ALLOWED_COLOR}'></span>allowed"
              f"<span style='background:{REFUSED_COLOR}'></span>refused</p>")
    policies = _table(("version", "SHA-256 of policy.yaml", "first seen", "last seen", "records"), (
        (p["version"], p["sha256"], p["first_seen"], p["last_seen"], p["records"])
        for p in document.get("policies", [])))
    sections = [
        f"<h1>Transparency report</h1><p>Policy decisions of facesearch from <b>{escape(period.get('since', ''))}"
        f"</b> to <b>{escape(period.get('until', ''))}</b> (UTC), generated {escape(document.get('generated_at', ''))}"
        f" from the audit log.</p><div class='cards'>{cards}</div>",
        "<h2>Decisions by sector</h2>" + legend + _stacked_bars(_by(decisions, "sector"), "Decisions by sector"),
        "<h2>Decisions by operation</h2>" + _stacked_bars(_by(decisions, "operation"), "Decisions by operation"),
        "<h2>Refusals by rule and reason</h2>" + _stacked_bars(refusal_rows, "Refusals by rule and reason"),
        "<h2>Decisions per day</h2>" + _columns([(d, a, r) for d, (a, r) in sorted(daily.items())],
                                                "Decisions per day"),
        "<h2>Sector × operation × outcome</h2>" + _table(("sector", "operation", "outcome", "count"), (
            (r["sector"], r["operation"], r["outcome"], r["count"]) for r in decisions)),
        "<h2>Refusals by sector and reason</h2>" + _table(("sector", "reason", "count"), (
            (r["sector"], r["reason_code"], r["count"]) for r in document.get("refusals_by_sector", []))),
        "<h2>Registry changes</h2>" + _table(("change", "count"), document.get("registry", {}).items()),
        "<h2>Erasures</h2>" + _table(("kind", "delete requests"), document.get("erasures", {}).items()),
        "<h3>Customers offboarded: what was erased</h3>" + _table(
            ("kind", "removed"), document.get("offboarding_erased", {}).items()),
        "<h2>Policy versions in force</h2>" + policies,
        "<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in document.get("notes", [])) + "</ul>",
    ]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>facesearch transparency report"
            f"</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n")
