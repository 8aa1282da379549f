"""The admin HTTP API's request models (functions/registry_api): pydantic, loaded by the routes that take a
body, on their first call (a container serving reads never imports pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CreateCustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field("", description="Optional; generated (cus_...) when empty.")
    name: str = Field(min_length=1, max_length=200)
    sector: str = Field(description="A sector of policy.yaml.")
    jurisdiction: str = Field(description="ISO 3166 code, e.g. US or US-CA.")
    end_user_sectors: list[str] = Field(default_factory=list, description="Whom an integrator serves.")
    use_cases: list[str] = Field(default_factory=list)
    status: str = "pending"
    attested_at: str = ""


class UpdateCustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="The version read; a stale version is a 409.")
    name: str | None = Field(None, min_length=1, max_length=200)
    sector: str | None = None
    jurisdiction: str | None = None
    end_user_sectors: list[str] | None = None
    use_cases: list[str] | None = None
    status: str | None = None
    attested_at: str | None = None
    quotas: dict[str, int | None] | None = Field(
        None, description="Quota overrides to set (null: back to the deployment default), merged with the others.")

    def changes(self) -> dict[str, Any]:
        changes = self.model_dump(exclude_none=True, exclude={"version", "quotas"})
        if self.quotas is not None:
            changes["quotas"] = dict(self.quotas)  # keeps the nulls: they clear overrides
        return changes
