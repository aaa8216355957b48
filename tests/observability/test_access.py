"""/metrics and the dashboard through the real ``create_app``: with PAM_API_TOKEN set the
scrape and the dashboard's data need it (the page reads it from the URL fragment); without
one they are open (the server then listens on loopback only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.harness import TOKEN, Server, bearer, running, user_jwt
from conftest import MakeDatabase, settings_for
from observability.test_dashboard import (
    ARTIFACTS,
    browser,  # noqa: F401  (fixture)
)
from pam_proactive.api.dashboard import DATA_PATH
from pam_proactive.config import Settings


def _settings(uri: str, token: str | None) -> Settings:
    extra: dict[str, object] = {"supabase_jwt_secret": "test-jwt-secret-with-at-least-32-"
                                "characters!!"}
    if token:
        extra["api_token"] = token
    return settings_for("seed", database_url=uri, **extra)


@pytest.fixture(scope="module")
async def uri(make_database: MakeDatabase) -> str:
    return await make_database("seed")


@pytest.fixture(scope="module")
def locked(uri: str) -> Iterator[Server]:
    with running(_settings(uri, TOKEN)) as srv:
        yield srv


@pytest.fixture(scope="module")
def open_server(uri: str) -> Iterator[Server]:
    with running(_settings(uri, None)) as srv:
        yield srv


def test_metrics_need_the_token_when_one_is_set(locked: Server) -> None:
    with httpx.Client(base_url=locked.url, timeout=10) as c:
        missing = c.get("/metrics")
        assert missing.status_code == 401 and missing.json()["error"] == "missing_credentials"
        wrong = c.get("/metrics", headers=bearer("not-the-operator-token-at-all"))
        assert wrong.status_code == 401
        traveler = c.get("/metrics", headers=bearer(user_jwt(
            "00000000-0000-4000-8000-000000000001")))
        assert traveler.status_code == 403
        ok = c.get("/metrics", headers=bearer(TOKEN))
    assert ok.status_code == 200
    names = {f.name for f in text_string_to_metric_families(ok.text)}
    assert {"pam_db_up", "pam_db_queries"} <= names


def test_dashboard_page_loads_without_the_token_but_not_its_data(locked: Server) -> None:
    with httpx.Client(base_url=locked.url, timeout=10) as c:
        page = c.get("/")
        static = c.get("/dashboard/static/dashboard.js")
        data = c.get(DATA_PATH)
        with_token = c.get(DATA_PATH, headers=bearer(TOKEN))
    assert page.status_code == 200 and 'data-locked="1"' in page.text
    assert '"database":"unknown"' in page.text  # served empty: nothing leaks without the token
    # ... and it shows no figure, nor any state of the database, until the script has the data.
    assert 'class="big neutral" data-field="health.database">\u2014<' in page.text
    assert static.status_code == 200 and "Authorization" in static.text
    assert data.status_code == 401
    assert with_token.status_code == 200 and with_token.json()["health"]["database"] == \
        "reachable"


def test_open_mode_without_a_token(open_server: Server) -> None:
    with httpx.Client(base_url=open_server.url, timeout=10) as c:
        metrics = c.get("/metrics")
        data = c.get(DATA_PATH)
        page = c.get("/")
    assert metrics.status_code == 200 and "pam_db_up" in metrics.text
    assert data.status_code == 200 and data.json()["health"]["database"] == "reachable"
    assert page.status_code == 200 and 'data-locked="0"' in page.text
    assert '"database":"reachable"' in page.text


def _wait(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the page")
        time.sleep(0.1)
    return value


STATE = "return [window.pamDashboard.refreshes, window.pamDashboard.authMessage || '', " \
        "document.getElementById('auth-message').hidden, " \
        "document.querySelector('[data-field=\"health.database\"]').textContent];"

# What the signed-out page shows: the message's style, anything styled as an error, the
# empty charts' and tables' words, and every card's big figure.
SIGNED_OUT = """
const visible = el => !el.hidden && el.offsetParent !== null;
return {message: document.getElementById('auth-message').className,
        errors: Array.from(document.querySelectorAll('.bad, .offline, .warning'))
          .filter(visible).map(el => el.textContent),
        charts: Array.from(document.querySelectorAll('.chart .empty')).filter(visible)
          .map(el => el.textContent),
        tables: Array.from(document.querySelectorAll('td.empty-row')).map(el => el.textContent),
        cards: Array.from(document.querySelectorAll('.card .big')).map(el => el.textContent),
        text: document.body.innerText};
"""


def test_browser_reads_the_token_from_the_fragment(locked: Server, browser: Any  # noqa: F811
                                                   ) -> None:
    browser.get(locked.url + "/?refresh=1")
    refreshes, message, hidden, _ = _wait(
        lambda: (lambda r: r if r[1] else None)(browser.execute_script(STATE)))
    assert refreshes == 0 and message.startswith("Sign in with the operator token to see")
    assert not hidden
    shown = browser.execute_script(SIGNED_OUT)
    assert shown["message"] == "auth-message note" and shown["errors"] == []
    assert len(shown["charts"]) == 7 and all(t.startswith("Sign in with the operator token")
                                             for t in shown["charts"])
    assert len(shown["tables"]) == 3 and all(t.startswith("Sign in with the operator token")
                                             for t in shown["tables"])
    assert shown["cards"] == ["\u2014"] * 4
    for false in ("unknown", "table yet", "no runs yet", "0 of 0", "data as of"):
        assert false not in shown["text"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-signed-out.png"))
    browser.get(locked.url + "/?refresh=1#token=wrong-token-wrong-token")
    browser.refresh()
    _, message, _, _ = _wait(lambda: (lambda r: r if "not the operator token" in r[1]
                                      else None)(browser.execute_script(STATE)))
    # A wrong token is an error, and looks like one.
    assert browser.execute_script(SIGNED_OUT)["message"] == "auth-message warning"
    browser.get("about:blank")
    browser.get(locked.url + f"/?refresh=1#token={TOKEN}")
    refreshes, message, hidden, database = _wait(
        lambda: (lambda r: r if r[0] >= 1 else None)(browser.execute_script(STATE)))
    assert message == "" and hidden and database == "reachable"
