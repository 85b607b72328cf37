"""What the CLI, the jobs and the API call: whole operations on runs."""
