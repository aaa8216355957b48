"""The evaluation pipeline: :func:`~pam_proactive.jobs.pipeline.evaluate.evaluate` of a
selection (:mod:`~pam_proactive.jobs.pipeline.selection`); it imports neither the scheduling
nor the watcher."""
