"""semvec backend: everything that computes or serves."""
