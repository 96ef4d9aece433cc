# syntax=docker/dockerfile:1
# Viza: one image for every replica of `viza serve` (API, web pages, Telegram bot, workers) and
# for one-off commands (`viza migrate`, `viza backup`, `viza token create`, ...).
#   docker build -t viza .          (compose.yaml builds it for you; README "Running at scale")
# Data (SQLite and the stored files) lives under /data; with several replicas /data must be one
# shared volume, and VIZA_DATABASE_URL points at PostgreSQL.

# Debian 13 (trixie): its postgresql-client is version 17. pg_dump must be at least the server's
# major version, and compose.yaml runs postgres:16; Debian 12's client is 15 and would refuse.
ARG PYTHON_IMAGE=python:3.11-slim-trixie

# ---- build: a virtualenv with Viza and its dependencies -------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# Every dependency comes as a manylinux wheel for amd64 and arm64, except docopt (via num2words),
# which is pure Python: no compiler is needed.
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
# The packages pyproject's [tool.setuptools.packages.find] includes: backend*, bot*, sandbox*
# (sandbox: the fake Bot API and `python -m sandbox.chat`, kept so the image can run them too).
# Their templates, migrations and static files are package-data, installed with them.
COPY backend ./backend
COPY bot ./bot
COPY sandbox ./sandbox
# A regular (not editable) install: the venv holds everything, and /src is left behind.
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

# ---- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# WeasyPrint (PDF print forms) loads Pango through ctypes; DejaVu has the Cyrillic glyphs the forms
# are set in. postgresql-client gives `viza backup` its pg_dump on PostgreSQL: about 65 MB more
# (the client is ~11 MB, but its wrapper scripts pull in Perl). Build with
# --build-arg PG_CLIENT=0 to leave it out, and dump with the server's own pg_dump instead
# (docker compose exec postgres pg_dump ..., README "Backups").
# Versions are not pinned: within a Debian release they change only for security fixes.
ARG PG_CLIENT=1
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
    if [ "$PG_CLIENT" = 1 ]; then apt-get install -y --no-install-recommends postgresql-client; fi; \
    rm -rf /var/lib/apt/lists/*

# A user of our own, never root; a home for fontconfig's cache.
RUN groupadd --system --gid 10001 viza \
    && useradd --system --uid 10001 --gid viza --create-home --home-dir /home/viza --shell /usr/sbin/nologin viza \
    && mkdir -p /data \
    && chown viza:viza /data

COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIZA_DATA_DIR=/data
WORKDIR /home/viza

USER 10001:10001
# A new named volume takes /data's owner (viza) from the image; a bind mount must be writable by uid 10001.
VOLUME ["/data"]
EXPOSE 8000
# uvicorn finishes requests in flight on SIGTERM (docker stop, compose down, a rolling update).
STOPSIGNAL SIGTERM
# Liveness: the process answers and its database does (/healthz). Readiness for routing is /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["viza", "serve", "--host", "0.0.0.0", "--port", "8000"]
