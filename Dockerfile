# syntax=docker/dockerfile:1
#
# ChemTrace Registry image.
#   docker build -t chemtrace .
#   docker run -p 8000:8000 -v chemtrace-data:/var/lib/chemtrace chemtrace
# Any other chemtrace command runs in place of serve, e.g.
#   docker run --rm -v chemtrace-data:/var/lib/chemtrace chemtrace apikey create --role admin
# Set CHEMTRACE_DATABASE_URL for PostgreSQL (default: SQLite in the data volume),
# CHEMTRACE_PUBLIC_URL for the base URL printed on labels, CHEMTRACE_WORKERS for gunicorn.

# ---- builder: build the wheel and install it with its dependencies into /opt/venv ----
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# The whole context (trimmed by .dockerignore): pyproject.toml, README.md, the packages,
# and openapi.yaml, which api/openapi.yaml links to.
COPY . .
# The dependencies are exactly the pinned, hash-checked ones of requirements-runtime.lock.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir --require-hashes \
       -r requirements-runtime.lock \
    && /opt/venv/bin/python -m pip install --no-cache-dir --no-deps /tmp/wheels/*.whl

# ---- runtime: the venv only, no build context, no compilers ----
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="ChemTrace Registry" \
      org.opencontainers.image.description="Traceability registry for controlled chemicals and precursors" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHEMTRACE_DATA_DIR=/var/lib/chemtrace

RUN groupadd --system --gid 10001 chemtrace \
    && useradd --system --no-log-init --uid 10001 --gid chemtrace \
       --create-home --home-dir /home/chemtrace --shell /usr/sbin/nologin chemtrace \
    && mkdir -p /var/lib/chemtrace \
    && chown chemtrace:chemtrace /var/lib/chemtrace \
    && chmod 0750 /var/lib/chemtrace

COPY --from=builder /opt/venv /opt/venv

# Database (SQLite by default), signing keys and multi-process metrics live here.
# (gunicorn's control socket goes to $HOME/.gunicorn, i.e. /home/chemtrace, not the volume.)
VOLUME ["/var/lib/chemtrace"]
WORKDIR /var/lib/chemtrace
# Numeric, so that Kubernetes runAsNonRoot and host tools can check it; 10001 = chemtrace.
USER 10001:10001

EXPOSE 8000

# Ready = database reachable and schema at head. No curl in the image: use Python's urllib
# (urlopen raises on any non-2xx answer, so the exit status is non-zero).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# serve migrates, creates the signing key, seeds the catalogue, then execs gunicorn,
# which thus becomes PID 1 and receives docker stop's SIGTERM.
ENTRYPOINT ["chemtrace"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
