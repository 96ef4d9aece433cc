"""Every page router."""

from backend.web.routes import login, registry, requests

WEB_ROUTERS = [login.router, registry.router, requests.router]
