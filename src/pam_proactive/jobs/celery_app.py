"""The Celery application the worker and beat load (``celery -A pam_proactive.jobs.celery_app
worker|beat``: operators' process definitions name this module); everything else is in
:mod:`pam_proactive.jobs.scheduling.celery_tasks`."""

from __future__ import annotations

from pam_proactive.jobs.scheduling.celery_tasks import create_app

app = create_app()
