#!/bin/sh
# Build the image and bring the compose stack up with podman on a machine that reaches no image
# registry, then check each service: docs/deployment.md ("What was tested") says what this
# proves. Run as root from the repository root: sh deploy/smoke.sh [--keep]
#
# Steps: a Debian bookworm base image bootstrapped with debootstrap (skipped when present),
# PostgreSQL and Redis images from Debian's packages, the engine's image from the Dockerfile,
# then podman-compose: postgres + redis (healthy) -> migrate (exit 0) -> api, worker, beat,
# watch; each health check run with `podman healthcheck run`, plus a seeded traveler set swept
# through the workers. Prerequisites: apt-get install podman buildah debootstrap runc
# podman-compose. Exit status 0 only when every check passed.
set -eu

KEEP=${1:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# This VM's podman needs runc, cgroupfs and lower rlimits (see the file); harmless elsewhere.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/containers.conf}"
BASE=localhost/debian-python:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PROJECT=pamsmoke
export PAM_IMAGE=localhost/pam-proactive:latest
export PAM_POSTGRES_IMAGE=localhost/pam-postgres:15
export PAM_REDIS_IMAGE=localhost/pam-redis:7
export PAM_API_TOKEN=${PAM_API_TOKEN:-smoke-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
export PAM_API_PORT=${PAM_API_PORT:-18000}
compose() { podman-compose -p "$PROJECT" -f compose.yaml "$@"; }
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }

step "base image $BASE"
if ! podman image exists "$BASE"; then
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$MIRROR"
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["python3"]' - "$BASE"
    rm -rf "$rootfs"
fi

step "PostgreSQL and Redis images from Debian packages"
podman build --format docker -q -f deploy/local-images/postgres.Containerfile \
    -t "$PAM_POSTGRES_IMAGE" deploy/local-images
podman build --format docker -q -f deploy/local-images/redis.Containerfile \
    -t "$PAM_REDIS_IMAGE" deploy/local-images

step "engine image $PAM_IMAGE (--format docker keeps HEALTHCHECK)"
# The machine's CA bundle goes in as a secret (a TLS-intercepting proxy signs PyPI here).
set -- --format docker --build-arg "BASE_IMAGE=$BASE" -t "$PAM_IMAGE"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    set -- "$@" --secret id=pipcert,src=/etc/ssl/certs/ca-certificates.crt
fi
podman build "$@" .
test "$(podman run --rm "$PAM_IMAGE" --version)" = "pam-proactive $(grep -m1 '^version' \
    pyproject.toml | cut -d'"' -f2)" || fail "--version"
test "$(podman image inspect "$PAM_IMAGE" --format '{{.User}}')" = "pam:pam" \
    || fail "image user is not pam"
if podman run --rm "$PAM_IMAGE" migrate >/dev/null 2>&1; then
    fail "migrate without DATABASE_URL must refuse (no embedded server in the image)"
fi

step "compose: postgres, redis"
compose down -v >/dev/null 2>&1 || true
podman rm -f "${PROJECT}_run_1" >/dev/null 2>&1 || true
compose up -d postgres redis
wait_healthy() {  # container, tries (2 s apart)
    n=0
    until podman healthcheck run "$1" >/dev/null 2>&1; do
        n=$((n + 1)); [ "$n" -lt "$2" ] || fail "$1 not healthy"; sleep 2
    done
    echo "$1 healthy"
}
wait_healthy "${PROJECT}_postgres_1" 30
wait_healthy "${PROJECT}_redis_1" 30

step "compose: migrate (one-shot)"
# podman-compose 1.0 starts services without waiting on depends_on conditions: sequenced here.
compose up -d migrate
podman wait "${PROJECT}_migrate_1" | grep -qx 0 || {
    podman logs "${PROJECT}_migrate_1"; fail "migrate"; }
podman logs "${PROJECT}_migrate_1" 2>&1 | tail -3

step "seed 200 demo travelers (one-shot, in the image)"
podman run --rm --network "${PROJECT}_default" \
    -e DATABASE_URL=postgresql://pam:pam@postgres:5432/pam "$PAM_IMAGE" seed --travelers 200

step "compose: api, worker, beat, watch"
compose up -d api worker beat watch
wait_healthy "${PROJECT}_api_1" 45
wait_healthy "${PROJECT}_worker_1" 20
curl -fsS "http://127.0.0.1:$PAM_API_PORT/health/ready"; echo
curl -fsS -o /dev/null -H "Authorization: Bearer $PAM_API_TOKEN" \
    "http://127.0.0.1:$PAM_API_PORT/v1/dashboard/data" || fail "dashboard data with token"
for svc in beat watch; do
    test "$(podman inspect "${PROJECT}_${svc}_1" --format '{{.State.Running}}')" = true \
        || { podman logs "${PROJECT}_${svc}_1"; fail "$svc not running"; }
    echo "$svc running"
done

step "a job through beat's queue: trigger sent to the worker, run recorded"
podman exec "${PROJECT}_worker_1" celery -A pam_proactive.jobs.celery_app call pam.trigger \
    --args '["monitor_user_context"]' --queue pam.triggers
n=0
until podman exec "${PROJECT}_api_1" pam-proactive runs --format json 2>/dev/null \
        | grep -q '"monitor_user_context"'; do
    n=$((n + 1)); [ "$n" -lt 60 ] || fail "no recorded run of monitor_user_context"; sleep 2
done
podman exec "${PROJECT}_api_1" pam-proactive runs

step "a traveler's write: watcher -> pam.events -> worker evaluates it"
changed() { podman logs "${PROJECT}_worker_1" 2>&1 | grep -c "evaluate_travelers.*succeeded.*'changed'" || true; }
before=$(changed)
podman exec "${PROJECT}_postgres_1" psql -U pam -d pam -qAtc "INSERT INTO expenses \
    (user_id, amount, category, date) SELECT id, 12.50, 'food', current_date FROM profiles \
    ORDER BY id LIMIT 1"
n=0
until [ "$(changed)" -gt "$before" ]; do
    n=$((n + 1)); [ "$n" -lt 30 ] || fail "the worker evaluated no changed traveler"; sleep 1
done
podman logs "${PROJECT}_worker_1" 2>&1 | grep "evaluate_travelers.*succeeded.*'changed'" \
    | tail -1 | grep -o "succeeded in .*"

step "one process instead: pam-proactive run (beat and watch stopped first)"
compose stop beat watch
podman run -d --name "${PROJECT}_run_1" --network "${PROJECT}_default" \
    -e DATABASE_URL=postgresql://pam:pam@postgres:5432/pam -e PAM_CHANNELS=none \
    -e PAM_API_TOKEN="$PAM_API_TOKEN" "$PAM_IMAGE" run --host 0.0.0.0 --port 8000
wait_healthy "${PROJECT}_run_1" 45
podman stop -t 30 "${PROJECT}_run_1" >/dev/null
test "$(podman inspect "${PROJECT}_run_1" --format '{{.State.ExitCode}}')" = 0 \
    || fail "run did not exit 0 on SIGTERM"
echo "run stopped on SIGTERM, exit 0"
podman rm "${PROJECT}_run_1" >/dev/null

step "SMOKE PASSED"
if [ "$KEEP" != "--keep" ]; then
    compose down -v
fi
