"""`facesearch admin dlq list|redrive`: the indexing dead-letter queue (the DLQ alarm's runbook).

The queues are found, in this order, from --dlq-url/--queue-url, from the CloudFormation outputs
of --stack-name (IndexDeadLetterQueueUrl, IndexQueueUrl), or from the running local stack's state
file. AWS calls use your AWS credentials (the local stack: its moto server).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facesearch import dlq
from facesearch.client import read_state
from facesearch.commands.common import fail
from facesearch.errors import ExitCode
from facesearch.output import show

DLQ_COLUMNS = [
    ("message id", lambda m: m.get("message_id")),
    ("receives", lambda m: m.get("receive_count")),
    ("events", lambda m: ",".join(m.get("events", []))),
    ("keys", lambda m: ",".join(m.get("keys", []))),
]


@dataclass(frozen=True)
class Queues:
    sqs: Any
    queue_url: str
    dlq_url: str


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `dlq` to the `admin` command's groups."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--stack-name", default=None, help="read the queue URLs from this stack's outputs")
    options.add_argument("--dlq-url", default=None, help="the dead-letter queue URL")
    options.add_argument("--queue-url", default=None, help="the index queue URL (redrive target)")
    options.add_argument("--region", default=None)
    options.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    group = groups.add_parser("dlq", help="the indexing dead-letter queue: list, redrive")
    sub = group.add_subparsers(dest="dlq_command", required=True, metavar="SUBCOMMAND")
    lst = sub.add_parser("list", parents=[options], help="show the messages in the DLQ (they stay there)")
    lst.add_argument("--limit", type=int, default=100)
    lst.set_defaults(func=_list)
    redrive = sub.add_parser("redrive", parents=[options],
                             help="send the DLQ's messages back to the index queue (indexing is idempotent)")
    redrive.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    redrive.set_defaults(func=_redrive)


def resolve(args: argparse.Namespace) -> Queues:
    """The SQS client and the two queue URLs, from the options, the stack's outputs or the local state."""
    import boto3

    if args.dlq_url and args.queue_url:
        return Queues(boto3.client("sqs", region_name=args.region), args.queue_url, args.dlq_url)
    if args.stack_name:
        cfn = boto3.client("cloudformation", region_name=args.region)
        stacks = cfn.describe_stacks(StackName=args.stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return Queues(boto3.client("sqs", region_name=args.region), args.queue_url or outputs["IndexQueueUrl"],
                      args.dlq_url or outputs["IndexDeadLetterQueueUrl"])
    state = read_state()
    if not state:
        raise LookupError("no queues: pass --stack-name, or --dlq-url and --queue-url, or start the local stack")
    sqs = boto3.client("sqs", region_name=state["region"], endpoint_url=state["moto_endpoint"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - moto
    resources = state["resources"]
    return Queues(sqs, args.queue_url or resources["IndexQueue"], args.dlq_url or resources["IndexDeadLetterQueue"])


def _list(args: argparse.Namespace) -> int:
    try:
        queues = resolve(args)
        letters = [m.to_dict() for m in dlq.peek(queues.sqs, queues.dlq_url, limit=args.limit)]
    except (LookupError, KeyError) as exc:
        return fail(args, "CONFIGURATION", str(exc), exit_code=ExitCode.USAGE)
    except (BotoCoreError, ClientError) as exc:
        return fail(args, "AWS_ERROR", str(exc))
    show(args.json, {"messages": letters, "count": len(letters)}, letters, DLQ_COLUMNS)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    try:
        queues = resolve(args)
        moved = [m.to_dict() for m in dlq.redrive(queues.sqs, queues.dlq_url, queues.queue_url, limit=args.limit)]
    except (LookupError, KeyError) as exc:
        return fail(args, "CONFIGURATION", str(exc), exit_code=ExitCode.USAGE)
    except (BotoCoreError, ClientError) as exc:
        return fail(args, "AWS_ERROR", str(exc))
    except RuntimeError as exc:
        return fail(args, "REDRIVE_FAILED", str(exc))
    show(args.json, {"redriven": moved, "count": len(moved)}, moved, DLQ_COLUMNS)
    if not args.json:
        print(f"{len(moved)} messages sent back to the index queue", file=sys.stderr)
    return 0
