"""A wrong setting stops startup with a message naming the variable."""

from __future__ import annotations

import pytest

from pam_proactive.config import load_settings, load_settings_with_flags
from pam_proactive.errors import ConfigurationError


@pytest.mark.parametrize(("variable", "value"), [
    ("PAM_BATCH_SIZE", "lots"), ("PAM_BATCH_SIZE", "0"), ("PAM_CACHE_TTL", "-1"),
    ("PAM_QUERY_TIMEOUT", "0"), ("PAM_PRESET", "supabase"), ("DATABASE_URL", "mysql://x"),
    ("PAM_SCHEMA", "Robert'); DROP"), ("PAM_DAILY_CAP", "-2"), ("PAM_READ_CONCURRENCY", "0"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str,
                                      value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable.split("_", 1)[0]) as info:
        load_settings()
    assert variable in str(info.value)


def test_defaults_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SUPABASE_DB_URL", "PAM_CACHE_TTL", "PAM_QUERY_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert (s.cache_ttl, s.query_timeout, s.database_url, s.preset) == (300, 30, None, "seed")
    monkeypatch.setenv("SUPABASE_DB_URL", "postgresql://u@db.example:6543/postgres")
    s = load_settings()
    assert s.database_url is not None and s.uses_transaction_pooler
    assert load_settings(database_url="postgresql://u@h:5432/d").uses_transaction_pooler is False


def test_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_WEBHOOK_URL", "https://hooks.example/pam")
    monkeypatch.delenv("PAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="PAM_WEBHOOK_SECRET"):
        load_settings()


def test_pooler_connections_disable_prepared_statements() -> None:
    from pam_proactive.db.connection import connection_kwargs

    pooled = connection_kwargs(load_settings(database_url="postgresql://u@h:6543/d"))
    direct = connection_kwargs(load_settings(database_url="postgresql://u@h:5432/d",
                                             query_timeout=12))
    assert pooled["prepare_threshold"] is None and "options" not in pooled
    assert direct["options"] == ("-c statement_timeout=12000 -c work_mem=64MB"
                                 " -c plan_cache_mode=force_custom_plan")
    assert direct["application_name"] == "pam-proactive"


def test_a_bad_override_names_the_flag_the_user_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_PRESET", "seed")
    with pytest.raises(ConfigurationError) as info:
        load_settings_with_flags({"preset": "nosuch"}, {"preset": "--preset"})
    assert str(info.value) == "--preset nosuch: should be 'seed' or 'wheels-wins-live'"
    # Without a flag name (an app calling load_settings), the keyword argument is named.
    with pytest.raises(ConfigurationError, match=r"^batch_size=0: should be greater"):
        load_settings(batch_size=0)


@pytest.mark.parametrize("variable", ["DATABASE_URL", "SUPABASE_DB_URL", "PAM_DATABASE_URL"])
def test_a_bad_url_names_the_variable_that_is_set_and_never_echoes_it(
        monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    for name in ("DATABASE_URL", "SUPABASE_DB_URL", "PAM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "mysql://admin:hunter2@db.example/x")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{variable}: should be a postgresql:// URL")
    assert "hunter2" not in message and "\n" not in message
    monkeypatch.setenv(variable, "postgresql://admin:hunter2@db.example/x?sslmod=require")
    with pytest.raises(ConfigurationError, match="is not a valid PostgreSQL URL") as info:
        load_settings()
    assert "hunter2" not in str(info.value)


def test_each_problem_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_BATCH_SIZE", "-5")
    monkeypatch.setenv("PAM_CACHE_TTL", "abc")
    monkeypatch.setenv("PAM_CONNECT_TIMEOUT", "1")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert str(info.value).split("; ") == [
        "PAM_CACHE_TTL=abc: should be a number (unset PAM_CACHE_TTL for the default, 300)",
        "PAM_BATCH_SIZE=-5: should be greater than or equal to 1 (unset PAM_BATCH_SIZE for "
        "the default, 1000)",
        "PAM_CONNECT_TIMEOUT=1: should be greater than or equal to 2 (unset "
        "PAM_CONNECT_TIMEOUT for the default, 5)"]


def test_the_connection_string_carries_the_connect_timeout() -> None:
    from pam_proactive.db.bootstrap import database_conninfo

    with database_conninfo(load_settings(database_url="postgresql://u@h:5432/d",
                                         connect_timeout=7)) as conninfo:
        assert "connect_timeout=7" in conninfo
    mine = "postgresql://u@h:5432/d?connect_timeout=20"
    with database_conninfo(load_settings(database_url=mine, connect_timeout=7)) as conninfo:
        assert "connect_timeout=20" in conninfo  # the URL's own wins


def test_retries_are_bounded_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().retry_max_seconds == 30.0
    monkeypatch.setenv("PAM_RETRY_MAX_SECONDS", "601")
    with pytest.raises(ConfigurationError, match="PAM_RETRY_MAX_SECONDS=601: should be less "
                       "than or equal to 600"):
        load_settings()
    monkeypatch.delenv("PAM_RETRY_MAX_SECONDS")
    monkeypatch.setenv("PAM_MAX_RETRIES", "3")  # the count it replaced is not ignored
    with pytest.raises(ConfigurationError, match="PAM_MAX_RETRIES is no longer read: "
                       "transient errors are retried for PAM_RETRY_MAX_SECONDS"):
        load_settings()
