"""`facesearch admin ...`: the customer registry, API keys and the audit log (IAM-signed admin routes)."""

from __future__ import annotations

import argparse
from typing import Any

from facesearch.client import Client
from facesearch.commands import audit_trail
from facesearch.commands import dlq as dlq_commands
from facesearch.commands import erasure as erasure_commands
from facesearch.commands import migrate as migrate_commands
from facesearch.commands.common import connection_options, remote
from facesearch.output import print_json, show, table

CUSTOMER_COLUMNS = [
    ("customer id", lambda c: c.get("customer_id")),
    ("name", lambda c: c.get("name")),
    ("sector", lambda c: c.get("sector")),
    ("end-user sectors", lambda c: c.get("end_user_sectors")),
    ("jurisdiction", lambda c: c.get("jurisdiction")),
    ("status", lambda c: c.get("status")),
    ("version", lambda c: c.get("version")),
]
KEY_COLUMNS = [
    ("key id", lambda k: k.get("key_id")),
    ("customer id", lambda k: k.get("customer_id")),
    ("prefix", lambda k: k.get("prefix")),
    ("created", lambda k: k.get("created_at")),
    ("revoked", lambda k: k.get("revoked_at")),
]
AUDIT_COLUMNS = [
    ("time", lambda r: r.get("at")),
    ("customer", lambda r: r.get("customer_id")),
    ("operation", lambda r: r.get("operation")),
    ("decision", lambda r: r.get("decision")),
    ("reason", lambda r: r.get("reason_code")),
    ("rule", lambda r: r.get("rule_id")),
    ("source", lambda r: r.get("source")),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conn = connection_options()
    admin = subparsers.add_parser("admin", help="customer registry, API keys, audit (admin, IAM-signed)")
    groups = admin.add_subparsers(dest="admin_command", required=True, metavar="GROUP")

    customers = groups.add_parser("customers", help="register and change customers")
    csub = customers.add_subparsers(dest="customers_command", required=True, metavar="SUBCOMMAND")
    create = csub.add_parser("create", parents=[conn], help="register a customer; prints its first API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--sector", required=True, help="a sector of policy.yaml (e.g. media, law_enforcement)")
    create.add_argument("--jurisdiction", required=True,
                        help="ISO 3166 code of where the customer operates, e.g. US or US-CA (required)")
    create.add_argument("--end-user-sector", dest="end_user_sectors", action="append", default=[],
                        help="a sector this customer acts for (repeatable)")
    create.add_argument("--use-case", dest="use_cases", action="append", default=[], help="repeatable")
    create.add_argument("--status", default=None, help="pending (the service default), active, suspended...")
    create.add_argument("--customer-id", default=None, help="default: generated")
    create.set_defaults(func=remote(_create_customer))

    update = csub.add_parser("update", parents=[conn], help="change a customer (status, sector, ...)")
    update.add_argument("customer_id")
    update.add_argument("--name")
    update.add_argument("--sector")
    update.add_argument("--jurisdiction")
    update.add_argument("--status")
    update.add_argument("--end-user-sector", dest="end_user_sectors", action="append", default=None)
    update.add_argument("--use-case", dest="use_cases", action="append", default=None)
    update.add_argument("--quota", dest="quotas", action="append", type=_quota, default=None, metavar="NAME=VALUE",
                        help="a quota override (repeatable): requests_per_second, an operation's rate (search, "
                             "index, ...), max_collections, max_faces_per_collection; VALUE 'default' clears it")
    update.add_argument("--version", type=int, default=None, help="expected version (default: the current one)")
    update.set_defaults(func=remote(_update_customer))

    lst = csub.add_parser("list", parents=[conn], help="list customers")
    lst.set_defaults(func=remote(_list_customers))
    show = csub.add_parser("show", parents=[conn], help="a customer and its keys")
    show.add_argument("customer_id")
    show.set_defaults(func=remote(_show_customer))

    keys = groups.add_parser("keys", help="issue and revoke API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    kcreate = ksub.add_parser("create", parents=[conn], help="issue a new key (printed once)")
    kcreate.add_argument("customer_id")
    kcreate.set_defaults(func=remote(_create_key))
    krevoke = ksub.add_parser("revoke", parents=[conn], help="revoke a key")
    krevoke.add_argument("customer_id")
    krevoke.add_argument("key_id")
    krevoke.set_defaults(func=remote(_revoke_key))

    audit = groups.add_parser("audit", parents=[conn],
                              help="audit records (policy decisions, registry changes); seal; verify")
    audit.add_argument("--customer", dest="customer_id", default="")
    audit.add_argument("--since", default="", help="ISO 8601 time")
    audit.add_argument("--until", default="", help="ISO 8601 time")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=remote(_audit))
    audit_trail.register(audit, groups, conn)

    dlq_commands.register(groups)
    erasure_commands.register(csub, groups)
    migrate_commands.register(groups)


def _create_customer(args: argparse.Namespace, client: Client) -> int:
    result = client.create_customer(name=args.name, sector=args.sector, jurisdiction=args.jurisdiction,
                                    end_user_sectors=args.end_user_sectors, use_cases=args.use_cases,
                                    status=args.status, customer_id=args.customer_id)
    if args.json:
        print_json(result)
        return 0
    customer, key = result["customer"], result["api_key"]
    print(table([customer], CUSTOMER_COLUMNS))
    print(f"\nAPI key (shown once, store it now): {key['secret']}")
    return 0


QUOTA_COLUMNS = [
    ("quota", lambda q: q.get("name")),
    ("in force", lambda q: "unlimited" if q.get("limit") is None else q.get("limit")),
    ("override", lambda q: q.get("override")),
]


def _quota(text: str) -> tuple[str, int | None]:
    """NAME=VALUE of --quota (the service checks names and ranges); VALUE 'default' clears the override."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    if value.strip().lower() == "default":
        return name.strip(), None
    try:
        return name.strip(), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name.strip()}: expected a whole number or 'default'") from None


def _update_customer(args: argparse.Namespace, client: Client) -> int:
    changes: dict[str, Any] = {k: getattr(args, k) for k in
                               ("name", "sector", "jurisdiction", "status", "end_user_sectors", "use_cases")
                               if getattr(args, k) is not None}
    if args.quotas:
        changes["quotas"] = dict(args.quotas)
    result = client.update_customer(args.customer_id, changes, args.version)
    show(args.json, result, [result["customer"]], CUSTOMER_COLUMNS)
    return 0


def _list_customers(args: argparse.Namespace, client: Client) -> int:
    customers = client.list_customers()
    show(args.json, {"customers": customers}, customers, CUSTOMER_COLUMNS)
    return 0


def _show_customer(args: argparse.Namespace, client: Client) -> int:
    result = client.get_customer(args.customer_id)
    if args.json:
        print_json(result)
    else:
        customer = result["customer"]
        print(table([customer], CUSTOMER_COLUMNS))
        print()
        print(table(result.get("keys", []), KEY_COLUMNS))
        if "quota_limits" in customer:
            overrides = customer.get("quotas") or {}
            print()
            rows = [{"name": k, "limit": v, "override": overrides.get(k)} for k, v in customer["quota_limits"].items()]
            print(table(rows, QUOTA_COLUMNS))
    return 0


def _create_key(args: argparse.Namespace, client: Client) -> int:
    key = client.create_key(args.customer_id)["api_key"]
    if args.json:
        print_json({"api_key": key})
    else:
        print(table([key], KEY_COLUMNS))
        print(f"\nAPI key (shown once, store it now): {key['secret']}")
    return 0


def _revoke_key(args: argparse.Namespace, client: Client) -> int:
    key = client.revoke_key(args.customer_id, args.key_id)["api_key"]
    show(args.json, {"api_key": key}, [key], KEY_COLUMNS)
    return 0


def _audit(args: argparse.Namespace, client: Client) -> int:
    records = client.audit(customer_id=args.customer_id, since=args.since, until=args.until, limit=args.limit)
    show(args.json, {"records": records}, records, AUDIT_COLUMNS)
    return 0
