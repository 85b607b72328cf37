"""Long work as jobs: recorded in SQLite, run in worker processes, cancellable, resumable."""
