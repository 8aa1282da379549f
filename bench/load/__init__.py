"""`make load`: a locust load scenario and a fault storm against the local stack, with invariants checked.

- `locustfile.py`: the scenario (runs in .venv-load, made by scripts/setup_tool_venv.sh load; imports locust only);
- `run.py`: starts a stack (optionally with faults), registers customers, runs locust, drains, observes;
- `invariants.py`: what must hold afterwards (pure; unit-tested).

Loopback only, bounded in time: locust stops itself after `--seconds`, the drain after `--drain-seconds`.
"""
