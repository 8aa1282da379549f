"""`facesearch admin customers erase ID` and `facesearch admin erasures list|reapply` (offboarding).

An erasure runs in passes (each within the admin function's time): the command calls until the
service says done, retrying a pass that failed with 5xx (every pass resumes where the last stopped),
and prints the totals. `reapply` runs every erasure of the ledger again: after restoring a table from a
backup, so that nothing an erasure removed comes back.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any
from urllib.parse import quote

from facesearch.client import ApiError, Client
from facesearch.commands.common import connection_options, fail, remote
from facesearch.errors import ExitCode
from facesearch.output import print_json, show

ERASURE_COLUMNS = [
    ("customer id", lambda e: e.get("customer_id")),
    ("status", lambda e: e.get("status")),
    ("requested", lambda e: e.get("requested_at")),
    ("completed", lambda e: e.get("completed_at")),
    ("passes", lambda e: e.get("passes")),
    ("reapplied", lambda e: len(e.get("reapplied_at") or [])),
]


def register(customers: argparse._SubParsersAction[argparse.ArgumentParser],
             groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`erase` under `admin customers`, and the `admin erasures` group."""
    conn = connection_options()
    erase = customers.add_parser("erase", parents=[conn],
                                 help="erase everything the customer stored; keys revoked, record kept as tombstone")
    erase.add_argument("customer_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    erase.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    erase.set_defaults(func=remote(_erase))

    erasures = groups.add_parser("erasures", help="the erasure ledger: list, reapply after a restore")
    sub = erasures.add_subparsers(dest="erasures_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser("list", parents=[conn], help="every recorded erasure").set_defaults(func=remote(_list))
    reapply = sub.add_parser("reapply", parents=[conn],
                             help="run every recorded erasure again (after restoring tables from a backup)")
    reapply.add_argument("--timeout", type=float, default=3600.0)
    reapply.set_defaults(func=remote(_reapply))


def erase(client: Client, customer_id: str, *, reapply: bool = False, timeout: float = 3600.0,
          pause: float = 2.0) -> dict[str, Any]:
    """Call the erase route until done; the last answer with this run's totals in `removed`."""
    deadline = time.monotonic() + timeout
    totals: dict[str, int] = {}
    while True:
        try:
            answer: dict[str, Any] = client.request(
                "POST", f"/admin/customers/{quote(customer_id)}/erase", admin=True,
                body={"confirm": customer_id, "reapply": reapply})
        except ApiError as exc:
            if exc.status < 500 or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            continue
        reapply = False  # a later pass resumes the same run
        for kind, count in answer.get("removed_now", {}).items():
            totals[kind] = totals.get(kind, 0) + int(count)
        if answer.get("done"):
            return {**answer, "removed": totals}
        if time.monotonic() > deadline:
            raise ApiError(0, "ERASURE_UNFINISHED", f"not done after {timeout:.0f} s; run the command again to resume")


def _print_removed(customer_id: str, result: dict[str, Any]) -> None:
    removed = result["removed"]
    parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in removed.items() if v) or "nothing left to remove"
    print(f"{customer_id}: erased ({parts}); status {result['erasure']['status']}, "
          f"{result['erasure']['passes']} passes in all")


def _erase(args: argparse.Namespace, client: Client) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            return fail(args, "CONFIRMATION_REQUIRED", "an erasure cannot be undone: pass --yes",
                        exit_code=ExitCode.USAGE)
        typed = input(f"Erase everything customer {args.customer_id} stored? Type its id to confirm: ")
        if typed.strip() != args.customer_id:
            return fail(args, "CONFIRMATION_REQUIRED", "not confirmed; nothing erased", exit_code=ExitCode.USAGE)
    result = erase(client, args.customer_id, timeout=args.timeout)
    if args.json:
        print_json(result)
    else:
        _print_removed(args.customer_id, result)
    return 0


def _list(args: argparse.Namespace, client: Client) -> int:
    erasures = client.request("GET", "/admin/erasures", admin=True).get("erasures", [])
    show(args.json, {"erasures": erasures}, erasures, ERASURE_COLUMNS)
    return 0


def _reapply(args: argparse.Namespace, client: Client) -> int:
    erasures = client.request("GET", "/admin/erasures", admin=True).get("erasures", [])
    results = []
    for entry in erasures:
        result = erase(client, entry["customer_id"], reapply=True, timeout=args.timeout)
        results.append({"customer_id": entry["customer_id"], "removed": result["removed"]})
        if not args.json:
            _print_removed(entry["customer_id"], result)
    if args.json:
        print_json({"reapplied": results})
    elif not results:
        print("the erasure ledger is empty: nothing to reapply")
    return 0
