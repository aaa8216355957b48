"""The HTTP API: health, performance, each traveler's context and suggestions (with a live
stream), and the privacy export and erasure. Build it with :func:`pam_proactive.api.app.create_app`.
"""
