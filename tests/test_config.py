"""A wrong setting stops startup with a message naming the variable."""

from __future__ import annotations

import pytest

from pam_proactive.config import load_settings
from pam_proactive.errors import ConfigurationError


@pytest.mark.parametrize(("variable", "value"), [
    ("PAM_BATCH_SIZE", "lots"), ("PAM_BATCH_SIZE", "0"), ("PAM_CACHE_TTL", "-1"),
    ("PAM_QUERY_TIMEOUT", "0"), ("PAM_PRESET", "supabase"), ("DATABASE_URL", "mysql://x"),
    ("PAM_SCHEMA", "Robert'); DROP"), ("PAM_DAILY_CAP", "-2"),
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
    assert direct["options"] == "-c statement_timeout=12000 -c work_mem=64MB"
    assert direct["application_name"] == "pam-proactive"
