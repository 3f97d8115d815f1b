"""What the portal holds after some steps of a plan, worked out in memory by the sandbox itself.

Apply's resume proof asks it: the recorded state of a saved plan with the steps an
unfinished run did (or may have done) carried out, to compare with what the portal reads
now. It is the sandbox's own operations on a copy in memory, not a second model of the
portal: a step the portal would refuse changes nothing here either, and what the portal
decides itself (a new PBX's serial, an ordered device's serial) is what the sandbox
decides. Nothing is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from reconciler.plan.model import Status, Step
from reconciler.providers import StepRefused
from reconciler.sandbox import store
from reconciler.sandbox.operations import execute
from reconciler.snapshot import Snapshot


def replay(snapshot: Snapshot, steps: Iterable[Step]) -> Snapshot:
    """`snapshot` with its ready `steps` carried out on its `as_of`, in order; a step is left out when it is not
    ready, when a step it needs was left out, or when the portal refuses it."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        with store.transaction(conn):
            store.create_schema(conn)
            store.write_snapshot(conn, snapshot)
            applied: set[int] = set()
            for step in steps:
                if step.status is Status.READY and all(d in applied for d in step.depends_on) \
                        and _carried_out(conn, snapshot, step):
                    applied.add(step.id)
            after = store.read_snapshot(conn, snapshot.as_of)
    finally:
        conn.close()
    # steps never change the catalog: the state keeps the one it had (a sandbox would fill in its built-in one)
    return after.model_copy(update={"catalog": snapshot.catalog})


def _carried_out(conn: sqlite3.Connection, snapshot: Snapshot, step: Step) -> bool:
    conn.execute("SAVEPOINT step")
    try:
        execute(conn, snapshot.as_of, step)
    except StepRefused:
        conn.execute("ROLLBACK TO step")
        return False
    finally:
        conn.execute("RELEASE step")
    return True
