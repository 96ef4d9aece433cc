"""Every API router, in the order they appear in the OpenAPI document."""

from backend.api.routes import health, payment_requests, registry

# The registry's fixed paths (/export.csv, /totals) come before /{request_id}.
ROUTERS = [health.router, registry.router, payment_requests.router]
