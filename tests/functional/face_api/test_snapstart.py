"""SnapStart: the runtime hooks load the models before the snapshot and renew, after a (simulated)
restore, what restored containers must not share; the handler works after it."""

from __future__ import annotations

import random

from facepolicy import env, runtime

from .faceapi_helpers import COLLECTION, Api, b64, photo


def test_hooks_load_the_models_before_the_snapshot_and_renew_clients_and_caches_after_restore(api: Api) -> None:
    from faceapi import deps

    # Given the function as production wires it (no test overrides), snapshotted
    api.module.app.dependency_overrides.clear()
    deps.get_deps.cache_clear()
    runtime.run_before_snapshot(deps.__name__)
    before = deps.get_deps()
    session_before = env.lean_session()
    assert before._engine is not None  # the models are in the snapshot: no request loads them
    assert not before.s3.built  # no S3 client (connections, credentials) in the snapshot: built on first use
    # When two containers resume from the same snapshot (same random state), each running the hooks
    state = random.getstate()
    runtime.run_after_restore(deps.__name__)
    first = deps.get_deps()
    draw_first = random.random()
    random.setstate(state)
    runtime.run_after_restore(deps.__name__)
    draw_second = random.random()
    # Then each has its own clients, policy cache and vector index, the same loaded models, its own seed
    restored = deps.get_deps()
    assert restored is not before and first is not restored
    assert restored.s3 is not before.s3 and restored.gate is not before.gate and restored.index is not before.index
    assert restored.gate.registry is not before.gate.registry  # no decision cached before the snapshot
    assert restored.engine is before.engine
    assert env.lean_session() is not session_before  # credentials resolved after the restore
    assert not restored.s3.built  # built by the first request that needs it, in the restored container
    assert restored.s3.meta.events is not before.s3.meta.events  # clients of the new session
    assert draw_first != draw_second
    # And the restored handler answers, through the engine and the store
    status, body = api.call("http_create_collection", body={"collection_id": COLLECTION})
    assert status == 201, body
    status, body = api.call("http_detect", body={"image": b64(photo("t1.jpg"))})
    assert status == 200 and len(body["faces"]) >= 2, body
    deps.get_deps.cache_clear()
