"""The HTTP API: health, performance, each traveler's context and suggestions (with a live
stream), and the privacy export and erasure. Build it with :func:`pam_proactive.api.app.create_app`.
"""

# Where `pam-proactive run` and `serve` listen by default: loopback (another address needs
# PAM_API_TOKEN), and uvicorn's own default port, which the docs' dashboard address uses.
# Kept here, not in api.server, so that the CLI reads them without importing the API.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
