"""``serve``: the NER pipeline behind an HTTP API (FastAPI + uvicorn)."""
