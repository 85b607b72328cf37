"""torchrun for a job, tied to the runner: `python -m backend.jobs.launch TORCHRUN-ARGS`.

The same as `python -m torch.distributed.run`, except that it exits when the process that
started it dies, and its ranks (workers) follow, so a killed server leaves nothing behind.
"""

import sys

from torch.distributed.run import main

from backend.jobs.worker import exit_with_parent

if __name__ == "__main__":
    exit_with_parent()
    main(sys.argv[1:])
