"""A real uvicorn server on a free loopback port, on the test's own event loop (so the app
can share the test's engine and its pool)."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from pam_proactive.engine import Engine


def small_app(engine: Engine | None, *routers: object) -> FastAPI:
    """An app of our own with the given routers and ``app.state.engine`` (the api branch's
    create_app includes the same routers through its extra routers)."""
    app = FastAPI()
    app.state.engine = engine
    for router in routers:
        app.include_router(router)  # type: ignore[arg-type]
    return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app``; yield its base URL; stop it at the end."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, made from a worker thread."""

    def fetch() -> tuple[int, str, str]:
        with urllib.request.urlopen(url, timeout=30) as response:
            return (response.status, response.headers.get("Content-Type", ""),
                    response.read().decode())

    return await asyncio.to_thread(fetch)
