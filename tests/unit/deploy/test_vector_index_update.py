"""Adding the vector index to FacesTable is an in-place update, not a replacement (issue 12, point 3).

CloudFormation replaces a resource only when a create-only property changes. The AWS::DynamoDB::Table
resource provider schema (the one cfn-lint ships, the registry's) lists its create-only properties:
VectorIndexes is not among them, so a stack update that adds `faces-vec` runs UpdateTable
(VectorIndexUpdates: Create) on the existing table. FacesTable sets none of the create-only ones, and
keeps Retain on deletion and replacement in case a later edit does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint

from facesearch.local.template import load_template


def _table_schema() -> dict[str, Any]:
    data = Path(cfnlint.__file__).parent / "data" / "schemas"
    digest = json.loads((data / "providers" / "us-east-1.json").read_text())["AWS::DynamoDB::Table"]
    schema: dict[str, Any] = json.loads((data / "resources" / f"{digest}.json").read_text())
    return schema


def test_adding_vector_indexes_does_not_replace_the_table() -> None:
    schema = _table_schema()
    create_only = {p.rsplit("/", 1)[-1] for p in schema["createOnlyProperties"]}
    assert "VectorIndexes" in schema["properties"] and "VectorIndexes" not in create_only
    table = load_template()["Resources"]["FacesTable"]
    assert not create_only & set(table["Properties"])
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    index = table["Properties"]["VectorIndexes"][0]
    assert (index["IndexName"], index["Dimensions"], index["DistanceFunction"]) == ("faces-vec", 128, "COSINE")
