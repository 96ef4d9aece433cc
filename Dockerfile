# Viza in one container: API (and later bot, scheduler, outbox worker) via `viza serve`.
# Data (SQLite and files) under /data; set VIZA_DATABASE_URL for PostgreSQL instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VIZA_DATA_DIR=/data
WORKDIR /app
# WeasyPrint renders the PDF print forms with Pango; DejaVu has the Cyrillic glyphs.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY backend ./backend
COPY bot ./bot
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 viza && mkdir -p /data && chown viza /data

USER viza
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["viza", "serve", "--host", "0.0.0.0", "--port", "8000"]
