"""The container and deployment files, checked statically: compose.yaml, Dockerfile, nginx, env example."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from backend.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = ("viza-1", "viza-2")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in dockerfile.splitlines()
                                           if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in (raw.strip() for raw in joined.splitlines()) if line]


def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, commented out) for every VIZA_ assignment in deploy/viza.env.example."""
    found = []
    for line in (ROOT / "deploy" / "viza.env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(#\s*)?(VIZA_[A-Z0-9_]+)=(.*)$", line.strip())
        if match:
            found.append((match.group(2), match.group(3), bool(match.group(1))))
    return found


def settings_name(variable: str) -> str:
    prefix = Settings.model_config["env_prefix"]
    assert variable.startswith(prefix)
    return variable[len(prefix):].lower()


# --- compose.yaml -------------------------------------------------------------------------------

def test_compose_has_the_services_and_no_version_key(compose):
    assert "version" not in compose
    assert {"postgres", "redis", "migrate", *REPLICAS, "nginx"} <= set(compose["services"])
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


def test_databases_have_healthchecks(compose):
    postgres = compose["services"]["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(postgres)
    assert "redis-cli" in compose["services"]["redis"]["healthcheck"]["test"]
    assert "ping" in compose["services"]["redis"]["healthcheck"]["test"]
    assert "healthcheck" in compose["services"]["nginx"]
    assert "postgres-data" in compose["volumes"]


def test_replicas_share_everything_but_their_instance_names(compose):
    services = compose["services"]
    names = [services[r]["environment"]["VIZA_INSTANCE_NAME"] for r in REPLICAS]
    assert len(set(names)) == len(names)
    for replica in REPLICAS:
        service = services[replica]
        assert service["image"] == services["migrate"]["image"] and "build" in service
        assert service["env_file"] == "deploy/viza.env"
        assert "viza-data:/data" in service["volumes"]
        environment = service["environment"]
        assert environment["VIZA_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["VIZA_REDIS_URL"].startswith("redis://redis:")
        assert environment["VIZA_DATA_DIR"] == "/data"
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert service["restart"] == "unless-stopped"
        grace = int(service["stop_grace_period"].rstrip("s"))
        assert grace > Settings.model_fields["shutdown_timeout_seconds"].default
    assert "viza-data" in compose["volumes"]


def test_migrate_runs_once_before_the_replicas(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["restart"] == "no"
    assert set(migrate["depends_on"]) == {"postgres"}
    assert "prepare(" in " ".join(migrate["command"]) or "migrate" in migrate["command"]
    assert "viza-data:/data" in migrate["volumes"]


def test_compose_sets_only_real_settings(compose):
    for name, service in compose["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("VIZA_"):
                assert settings_name(variable) in Settings.model_fields, (name, variable)


def test_nginx_balances_both_replicas(compose):
    nginx = compose["services"]["nginx"]
    assert any(v.startswith("./deploy/nginx.conf:/etc/nginx/nginx.conf") for v in nginx["volumes"])
    config = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream\s+viza\s*\{(.*?)\}", config, re.S).group(1)
    servers = re.findall(r"^\s*server\s+(\S+)", upstream, re.M)
    assert servers == ["viza-1:8000", "viza-2:8000"]
    assert re.search(r"proxy_pass\s+http://viza;", config)
    assert "X-Request-ID" in config and "X-Forwarded-For" in config and "X-Forwarded-Proto" in config
    next_upstream = re.search(r"proxy_next_upstream\s+([^;]+);", config).group(1).split()
    assert "error" in next_upstream and "timeout" in next_upstream and "non_idempotent" not in next_upstream
    body = re.search(r"client_max_body_size\s+(\d+)m;", config)
    assert body and int(body.group(1)) > Settings.model_fields["max_upload_mb"].default
    assert re.search(r"location\s*=\s*/metrics\s*\{\s*return 404;", config)
    assert config.count("{") == config.count("}")


# --- Dockerfile ---------------------------------------------------------------------------------

def test_dockerfile_runs_as_a_user_with_a_healthcheck(dockerfile):
    steps = instructions(dockerfile)
    froms = [args for op, args in steps if op == "FROM"]
    assert len(froms) >= 2, "multi-stage: build, then runtime"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [op for op, _ in steps].index("USER") > [op for op, _ in steps].index("COPY")
    health = [args for op, args in steps if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "urllib" in health[0]
    assert ("STOPSIGNAL", "SIGTERM") in steps
    assert ("EXPOSE", "8000") in steps
    assert any(op == "VOLUME" and "/data" in args for op, args in steps)
    assert any(op == "ENV" and "VIZA_DATA_DIR=/data" in args for op, args in steps)
    assert steps[-1] == ("CMD", '["viza", "serve", "--host", "0.0.0.0", "--port", "8000"]')
    assert not any(op == "ADD" and re.search(r"https?://", args) for op, args in steps)
    runtime_packages = " ".join(args for op, args in steps if op == "RUN" and "apt-get install" in args)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core", "postgresql-client"):
        assert package in runtime_packages
    assert "--no-install-recommends" in runtime_packages and "rm -rf /var/lib/apt/lists" in runtime_packages


def test_dockerfile_copies_every_package_pyproject_installs(dockerfile):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted(p.name for p in ROOT.iterdir()
                      if (p / "__init__.py").is_file() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns))
    assert {"backend", "bot", "sandbox"} <= set(packages)
    copied = {args.split()[-2].strip("./") for op, args in instructions(dockerfile)
              if op == "COPY" and "--from" not in args and len(args.split()) == 2}
    for package in packages:
        assert package in copied, f"the Dockerfile does not copy {package}/"
    copies = " ".join(args for op, args in instructions(dockerfile) if op == "COPY")
    assert "pyproject.toml" in copies and "README.md" in copies  # README is the package's readme


def test_dockerignore_keeps_secrets_and_bulk_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    for entry in (".git", ".venv", "data", "deploy", ".env", "tests", "benchmarks", "**/__pycache__", "**/*.sqlite3"):
        assert entry in ignored
    for needed in ("backend", "bot", "sandbox", "pyproject.toml", "README.md"):
        assert needed not in ignored


# --- deploy/viza.env.example --------------------------------------------------------------------

def test_env_example_names_only_real_settings():
    assignments = env_example()
    assert assignments
    unknown = [name for name, _, _ in assignments if settings_name(name) not in Settings.model_fields]
    assert unknown == []
    active = {name: value for name, value, commented in assignments if not commented}
    assert active["VIZA_TELEGRAM_MODE"] == "webhook"
    assert active["VIZA_PUBLIC_URL"].startswith("https://")
    assert {"VIZA_TELEGRAM_TOKEN", "VIZA_WEBHOOK_SECRET", "VIZA_LOG_FORMAT"} <= set(active)
    shown = {name for name, _, _ in assignments}
    assert {"VIZA_DATABASE_URL", "VIZA_REDIS_URL", "VIZA_INSTANCE_NAME", "VIZA_SECRET_KEY"} <= shown


def test_env_example_values_are_valid_settings(monkeypatch):
    for name in list(os.environ):
        if name.startswith("VIZA_"):
            monkeypatch.delenv(name)
    for name, value, _ in env_example():  # the commented-out examples too
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.telegram_mode == "webhook" and settings.log_format == "json"
    assert settings.redis_url and settings.database_url.startswith("postgresql+asyncpg://")
