"""`python -m timeline.run`: what `make run` does: migrate, load the demo, welcome, serve.

One process for every step, so that a SIGTERM or SIGINT at any moment ends
`make run` quietly. make reports a child that dies of a signal, or exits
non-zero, as `make: *** [run] Terminated` (or `Error N`); with the steps as
separate recipe lines, a signal during `migrate` or `demo load` killed that
step and make said so.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

# Seconds to linger before leaving on a signal. A signal sent to the process group
# reaches make and this process at once; when this one was gone before make's own
# handler went looking for it, make said `wait: No child processes` (GNU make 4.3).
LINGER = 0.2


def _stop(_signum: int, _frame: FrameType | None) -> None:
    """Leave with status 0, whatever step is running.

    Not an exception: raised inside a step's event loop, it left asyncio.run
    waiting on connections being closed. Leaving is safe: a migration and the
    demo load are each one transaction, rolled back when the connection goes.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # make forwards the signal: once is enough
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(LINGER)
    os._exit(0)


def main() -> int:
    # Before anything is imported: the sooner, the narrower the window for a signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    from timeline import cli, welcome

    for argv in (["migrate"], ["demo", "load"]):
        if (status := cli.main(argv)) != 0:
            return status
    if (status := welcome.main()) != 0:
        return status
    # uvicorn takes the signals over when it starts (api/serve.py) and exits 0 after a
    # clean shutdown; until then, while the app is built, a signal still lands in _stop.
    return cli.main(["serve"])


if __name__ == "__main__":
    sys.exit(main())
