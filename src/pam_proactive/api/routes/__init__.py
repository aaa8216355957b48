"""One router per concern; :mod:`pam_proactive.api.app` includes them all."""
