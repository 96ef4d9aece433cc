"""The `viza` command: serve, migrate, token, demo."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from backend.settings import Settings, get_settings

log = logging.getLogger("viza")


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic's message names the variable and the problem
        raise click.ClickException(f"configuration error: {exc}") from None


def prepare(settings: Settings) -> None:
    """Create the data folder, apply migrations, load the default routes on first start."""
    from backend.db import Database
    from backend.migrate import upgrade
    from backend.services.request_types import load_defaults

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    if not settings.load_default_routes:
        return

    async def load() -> int:
        db = Database(settings.effective_database_url)
        try:
            async with db.session() as session:
                added = await load_defaults(session)
                await session.commit()
                return added
        finally:
            await db.dispose()

    added = asyncio.run(load())
    if added:
        click.echo(f"Loaded {added} default request types with their routes.")


@click.group()
def main() -> None:
    """Viza: payment requests and approvals in Telegram, with a registry."""
    from backend.observability.logging import configure_logging

    try:
        settings = get_settings()
    except Exception:  # noqa: BLE001 — the command itself reports the configuration error
        configure_logging("text", "INFO")
    else:
        configure_logging(settings.log_format, settings.log_level, instance=settings.instance_name)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Run the service: API and pages (bot and scheduler when configured)."""
    import uvicorn

    from backend.api.app import create_app
    from backend.server import StoppingServer

    settings = _settings()
    if not settings.web_url and not settings.public_url:  # the bot's /web links point where we listen
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"web_url": f"http://{shown}:{port}"})
    prepare(settings)
    where = settings.effective_database_url.split("@")[-1]
    click.echo(f"Database: {where}")
    if settings.telegram_token:
        mode = settings.telegram_mode
        where = f"webhook at {settings.public_url}/telegram/webhook" if mode == "webhook" else "polling"
        click.echo(f"Telegram bot: on ({where}; Bot API {settings.telegram_api_url}).")
    else:
        click.echo("Telegram bot: off (VIZA_TELEGRAM_TOKEN is not set); serving the API and the web pages.")
    if settings.redis_url:
        shared = settings.redis_url.split("@")[-1]
        click.echo(f"Replica {settings.instance_name}: dialogs, update dedup and rate buckets shared in Redis ({shared}).")
        if settings.telegram_token and settings.telegram_mode == "polling":
            click.echo("Warning: several replicas cannot all poll Telegram; set VIZA_TELEGRAM_MODE=webhook.", err=True)
    else:
        click.echo("Single process: dialogs in the database (set VIZA_REDIS_URL to run several replicas).")
    if settings.smtp_url:
        click.echo(f"E-mail to contractors: on (from {settings.smtp_from}).")
    else:
        click.echo("E-mail to contractors: off (VIZA_SMTP_URL is not set).")
    click.echo(f"Reminders and digests: {'every ' + str(settings.scheduler_interval_seconds) + ' s' if settings.scheduler_enabled else 'off'}"
               f" (working hours {settings.working_hours}, digest at {settings.digest_time} in each person's zone).")
    click.echo(f"Web pages: {settings.effective_web_url}/login (sign in with /web in the bot, or an admin token)")
    click.echo(f"API: http://{host}:{port}/api/v1/docs")
    app = create_app(settings)
    # log_config=None: uvicorn's loggers go through ours (JSON lines with request ids when asked).
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level=settings.log_level.lower(),
                            timeout_graceful_shutdown=settings.shutdown_timeout_seconds)
    StoppingServer(config, app).run()


@main.command()
def migrate() -> None:
    """Apply database migrations and load the default routes on a new database (also done by
    serve; run it once before starting several replicas, so they never race on a fresh database)."""
    prepare(_settings())
    click.echo("Database is up to date.")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", required=True, help="admin | accountant | approver | manager | cfo | director | lawyer")
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option("--employee", "employee_id", type=int, default=None, help="Act as this employee (id).")
def token_create(role: str, name: str, employee_id: int | None) -> None:
    """Create a token and print it once (it is stored hashed)."""
    from backend.errors import DomainError
    from backend.services.tokens import create_token

    settings = _settings()
    prepare(settings)

    async def run() -> str:
        from backend.db import Database

        db = Database(settings.effective_database_url)
        try:
            async with db.session() as session:
                _, secret = await create_token(session, name=name, role=role, employee_id=employee_id)
                await session.commit()
                return secret
        finally:
            await db.dispose()

    try:
        secret = asyncio.run(run())
    except DomainError as error:
        raise click.ClickException(error.message(settings.default_language)) from None
    click.echo(secret)
    click.echo("Keep it safe: it is shown only now. Use it as 'Authorization: Bearer <token>'.", err=True)


@main.group()
def invite() -> None:
    """Invites to the Telegram bot."""


@invite.command("create")
@click.option("--employee", "employee_id", type=int, required=True, help="The employee's id.")
@click.option("--hours", "ttl_hours", type=int, default=72, show_default=True, help="How long the code works.")
def invite_create(employee_id: int, ttl_hours: int) -> None:
    """Create a one-time invite and print the /start command (and link, when the bot's name is known)."""
    from backend.db import Database
    from backend.errors import DomainError
    from backend.services.invites import create_invite
    from backend.workflows.actors import Actor

    settings = _settings()
    prepare(settings)

    async def run() -> tuple[str, str]:
        db = Database(settings.effective_database_url)
        try:
            async with db.session() as session:
                invite, code = await create_invite(session, Actor.system("viza invite create"), employee_id,
                                                   ttl_hours=ttl_hours)
                await session.commit()
                return code, invite.expires_at.isoformat(timespec="minutes")
        finally:
            await db.dispose()

    try:
        code, expires = asyncio.run(run())
    except DomainError as error:
        raise click.ClickException(error.message(settings.default_language)) from None
    if settings.telegram_bot_username:
        click.echo(f"https://t.me/{settings.telegram_bot_username}?start={code}")
    click.echo(f"/start {code}")
    click.echo(f"Works once, until {expires} UTC. Send it to the employee privately.", err=True)


@main.command()
def demo() -> None:
    """Load a small demo company with requests in every state (safe to run again)."""
    from backend.demo import load_demo

    settings = _settings()
    prepare(settings)
    report = asyncio.run(load_demo(settings))
    click.echo(report)


@main.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Where to write the backup (never overwritten). Default: "
                   "<data dir>/backups/viza-YYYYmmdd-HHMMSS.sqlite3 (.dump on PostgreSQL), UTC.")
@click.option("--files/--no-files", default=True, show_default=True,
              help="Also copy the stored files into files/ next to the backup (only new ones).")
def backup_command(output: str | None, files: bool) -> None:
    """Back up the database while the service runs (SQLite: online copy; PostgreSQL: pg_dump), and the files."""
    from pathlib import Path

    from backend.backup import BackupError, run_backup

    settings = _settings()
    try:
        target = run_backup(settings, Path(output) if output else None, files=files, say=click.echo)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written: {target}")


if __name__ == "__main__":
    sys.exit(main())
