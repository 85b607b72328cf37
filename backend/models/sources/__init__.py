"""Where architectures come from; each module here is one source (see backend.models.resolve)."""
