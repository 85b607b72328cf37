"""The FastAPI app: the JSON API under /api."""
