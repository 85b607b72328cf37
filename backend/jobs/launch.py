"""torchrun for a job, tied to the runner: `python -m backend.jobs.launch TORCHRUN-ARGS`.

The same as `python -m torch.distributed.run`, except that it exits when the process that
started it dies, and its ranks (workers) follow, so a killed server leaves nothing behind.
"""

import os
import sys

from torch.distributed.run import main

from backend.jobs.worker import PARENT_ENV, exit_with_parent

if __name__ == "__main__":
    exit_with_parent()
    os.environ[PARENT_ENV] = str(os.getpid())  # the ranks' parent is this process
    main(sys.argv[1:])
