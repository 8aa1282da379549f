"""bench.search's out-of-process AWS: a moto server in a child process that never outlives the bench."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import boto3

from bench.search import _moto_server


def _listening(endpoint: str) -> bool:
    url = urlparse(endpoint)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((url.hostname or "", url.port or 0)) == 0


def test_moto_server_serves_dynamodb_on_loopback_and_stops_with_the_block() -> None:
    # Given the bench's moto server / When a client calls it over HTTP
    with _moto_server() as endpoint:
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        tables = client.list_tables()["TableNames"]
        # Then it answers from 127.0.0.1, as an empty account
        assert urlparse(endpoint).hostname == "127.0.0.1"
        assert tables == []
    # And the child is gone once the block ends: nothing listens on its port
    assert not _listening(endpoint)
