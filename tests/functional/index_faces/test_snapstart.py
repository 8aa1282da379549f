"""SnapStart for index_faces: models loaded before the snapshot, clients renewed after a (simulated)
restore, and the restored handler indexes an upload."""

from __future__ import annotations

from facepolicy import env, runtime
from facesearch.local.functions import load_module

from .conftest import COLLECTION, CUSTOMER, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"


def test_a_restored_indexer_keeps_the_models_renews_its_clients_and_indexes(stack: Stack) -> None:
    # Given index_faces as production wires it, snapshotted
    module = load_module("IndexFacesFunction", stack.template, fresh=True)
    runtime.run_before_snapshot(module.__name__)
    before = module.get_indexer()
    engine = before.engine
    session_before = env.lean_session()
    # When a container resumes from the snapshot
    runtime.run_after_restore(module.__name__)
    restored = module.get_indexer()
    # Then it has its own clients and gate, and the same loaded models
    assert restored is not before and restored.engine is engine
    assert restored.objects.s3 is not before.objects.s3 and restored.gate is not before.gate
    assert env.lean_session() is not session_before  # credentials resolved after the restore
    # And it indexes an upload
    response = stack.invoke(stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg")), module)
    assert failures(response) == []
    assert stack.status("obama.jpg").status == "INDEXED"
