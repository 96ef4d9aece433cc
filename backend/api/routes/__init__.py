"""Every API router, in the order they appear in the OpenAPI document."""

from backend.api.routes import health, payment_requests

ROUTERS = [health.router, payment_requests.router]
