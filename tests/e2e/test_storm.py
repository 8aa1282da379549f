"""A short fault storm (the long one is `make load`): locust traffic while AWS calls throttle and fail,
index batches crash and the registry goes down; afterwards nothing is lost or duplicated, every refusal
is audited and the police customer was never served."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load.run import LoadOptions, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# more crashes and a sooner outage than make load's storm, so that 12 s of traffic meets every fault; the runner
# ends the storm 60 s after the traffic's 12 s would at the earliest (for=), and the drain (up to 150 s, over as
# soon as all is final) checks that everything recovers
SHORT_STORM = "share=0.15,sticky=0.02,crash=0.3,outage=3/9,seed=18"


def test_a_short_storm_loses_nothing_and_never_serves_the_police(tmp_path: Path) -> None:
    # Given a local stack in a storm, When two customers and a police department use it for 12 s
    result = run(LoadOptions(users=2, seconds=12, faults=SHORT_STORM, drain_seconds=150, police_objects=2,
                             workdir=tmp_path))
    print("\n".join(result.lines()))
    # Then the storm did happen
    assert result.faults.get("registry_outage", 0) > 0
    assert sum(v for k, v in result.faults.items() if k.startswith("dynamodb_")) > 0
    assert result.summary.uploads > 0 and result.summary.police_refusals > 0
    # And every invariant held: final statuses, faces = indexed − deleted, refusals audited, police refused
    assert result.summary.violations == []
