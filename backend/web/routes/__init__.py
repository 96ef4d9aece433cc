"""Every page router."""

from backend.web.routes import admin, analytics, login, registry, requests

WEB_ROUTERS = [login.router, registry.router, requests.router, analytics.router, admin.router]
