"""The FastAPI application: API under /api/v1, health check, error format."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from backend import observability, web
from backend.api import errors
from backend.api.routes import ROUTERS
from backend.background import BackgroundWork
from backend.db import Database
from backend.redis_client import connect as connect_redis
from backend.settings import Settings, get_settings


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_db = db is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.db = db or Database(settings.effective_database_url)
        app.state.redis = connect_redis(settings.redis_url) if settings.redis_url else None
        app.state.shutting_down = False
        app.state.background = BackgroundWork(app.state.db, settings, redis=app.state.redis)
        await app.state.background.start()
        app.state.bot = None
        if settings.telegram_token:
            from bot.app import BotRuntime  # the chat front door runs in the same process

            app.state.bot = BotRuntime(settings, app.state.db, redis=app.state.redis)
            await app.state.bot.start()
            app.state.bot_username = app.state.bot.username
        try:
            yield
        finally:
            # Requests in flight have finished (uvicorn waits for them before this): stop taking
            # work, let the sends and passes in flight finish and be recorded, then close.
            app.state.shutting_down = True
            if app.state.bot is not None:
                await app.state.bot.stop()
            await app.state.background.stop()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            if owns_db:
                await app.state.db.dispose()

    # FastAPIOffline serves the Swagger UI files itself: the docs work without reaching a CDN.
    app = FastAPIOffline(
        title="Viza API", version="1", lifespan=lifespan, static_url="/api/v1/docs-static",
        description="Payment requests and approvals: registry, routes, company model. "
        "Authenticate with `Authorization: Bearer <token>` (create one with `viza token create`).",
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )
    app.state.settings = settings
    if db is not None:
        app.state.db = db
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    observability.install(app, settings)
    web.install(app)
    return app
