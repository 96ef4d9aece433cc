"""Every API router, in the order they appear in the OpenAPI document."""

from backend.api.routes import (
    analytics, bank, catalogue, company, contracts, counterparties, documents, health, integrations, invites, outbox, payment_requests, preferences, registry, request_types, telegram, tokens,
)

# The registry's fixed paths (/export.csv, /totals) come before /{request_id}.
ROUTERS = [
    health.router, registry.router, payment_requests.router, contracts.router, company.router, counterparties.router,
    invites.router, request_types.router, tokens.router, telegram.router, preferences.router, outbox.router,
    integrations.router, bank.router, documents.router, catalogue.router, analytics.router,
]
