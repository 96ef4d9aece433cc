"""The HTTP front door: FastAPI under /api/v1. Routes are thin; rules live in the core."""
