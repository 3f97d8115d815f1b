"""`reconciler apply` in a process of its own that really dies at a step: the real kills of the crash tests.

    python -m tests.crash_runner before|after|sigterm STEP TODAY

run in the repo's directory: an auto-approved apply whose crash point ends the process
with os._exit(137) right before step STEP goes to the portal (`before`) or right after
the portal carried it out (`after`), as kill -9 would;
`sigterm` sends the process a real SIGTERM right after STEP. Most crash tests inject
the crash in-process (tests.test_apply_e2e.crashed_in_process); these few keep a real one.
"""

from __future__ import annotations

import os
import signal
import sys

from reconciler.apply.command import ApplyRequest, apply_command


def crash_point_for(moment: str, index: int):
    def crash_point(when: str, step) -> None:
        if step.id != index:
            return
        if when == moment:
            os._exit(137)
        if moment == "sigterm" and when == "after":
            os.kill(os.getpid(), signal.SIGTERM)

    return crash_point


def main(argv: list[str]) -> int:
    moment, index, today = argv
    request = ApplyRequest(plan_file=None, repo=".", today=today, auto_approve=True)
    return apply_command(request, crash_point=crash_point_for(moment, int(index)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
