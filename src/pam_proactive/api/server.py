"""Serving the API with uvicorn, refusing to expose it without a token."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pam_proactive.config import Settings
from pam_proactive.errors import ConfigurationError

if TYPE_CHECKING:
    import uvicorn

    from pam_proactive.engine import Engine



def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Raise :class:`ConfigurationError` when ``host`` is reachable from other machines and
    no PAM_API_TOKEN is set (every caller would be an operator)."""
    if settings.api_token is None and not is_loopback(host):
        raise ConfigurationError(
            f"--host {host}: without PAM_API_TOKEN the API is open to every caller, so it only "
            "listens on loopback. Set PAM_API_TOKEN (16+ characters) or use --host 127.0.0.1")


def startup_notice(settings: Settings, host: str, port: int) -> str:
    """What the server says at start-up about where it listens and who may call it."""
    where = f"http://{host}:{port}"
    if settings.api_token is None:
        return (f"serving {where} on loopback only: no PAM_API_TOKEN is set, so any local "
                "process may call every endpoint")
    jwt = "and Supabase user JWTs" if (settings.supabase_jwt_secret or settings.supabase_jwks
                                       or settings.supabase_jwks_url) else "only"
    return f"serving {where}: operator endpoints need PAM_API_TOKEN; per-user endpoints {jwt}"


def make_server(settings: Settings, host: str, port: int, *,
                engine: Engine | None = None) -> uvicorn.Server:
    """A uvicorn server for the API, not yet started: ``await server.serve()`` runs it in the
    current event loop (as `pam-proactive run` does, sharing ``engine``); setting
    ``server.should_exit`` stops it. Raises :class:`ConfigurationError` as
    :func:`check_bind` does."""
    import uvicorn

    from pam_proactive.api.app import create_app

    check_bind(settings, host)
    app = create_app(settings, engine=engine, migrate_first=engine is None)
    # No access log: it would record client addresses and every path's user id. No log
    # config of uvicorn's own: its loggers go through the engine's JSON lines
    # (logs.configure_logging). Open streams get 5 s to end at shutdown.
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                         log_config=None, access_log=False,
                                         timeout_graceful_shutdown=5))


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the API until interrupted (uvicorn, one process, its own engine; migrations are
    applied first)."""
    import asyncio

    asyncio.run(make_server(settings, host, port).serve())
