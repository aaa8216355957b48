"""Statement modules declare named statements in a StatementSet, bound once per schema."""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

import pytest
from psycopg import sql

import pam_proactive
from pam_proactive.api.dashboard_statements import DashboardStatements
from pam_proactive.api.statements import ApiStatements
from pam_proactive.data.changes import ChangeStatements
from pam_proactive.data.queries import BatchStatements
from pam_proactive.db.connection import (
    BoundStatement,
    Statement,
    StatementSet,
)
from pam_proactive.demo.statements import DemoStatements
from pam_proactive.jobs.pipeline.statements import PipelineStatements
from pam_proactive.jobs.scheduling.statements import JobStatements
from pam_proactive.reports.statements import ReportStatements
from pam_proactive.suggestions.adaptation_sql import AdaptationStatements
from pam_proactive.suggestions.answers_sql import AnswerStatements
from pam_proactive.suggestions.delivery_sql import DeliveryStatements
from pam_proactive.suggestions.digest_sql import DigestStatements
from pam_proactive.suggestions.relevance_sql import RelevanceStatements
from pam_proactive.suggestions.store_sql import StoreStatements

PING = "SELECT 1 FROM {s}.ping"


class _Pair(StatementSet):
    ping = Statement("test.ping", PING)


def test_an_instance_holds_each_statement_bound_for_its_schema() -> None:
    pair = _Pair.for_schema('odd "name"')
    assert isinstance(pair.ping, BoundStatement)
    assert pair.ping.name == "test.ping"
    assert pair.ping.query.as_string(None) == 'SELECT 1 FROM "odd ""name""".ping'


def test_the_class_attribute_is_the_statement_itself() -> None:
    assert _Pair.ping == Statement("test.ping", PING)
    assert _Pair.statements == {"ping": _Pair.ping}


def test_statements_are_bound_once_per_schema() -> None:
    assert _Pair.for_schema("a") is _Pair.for_schema("a")
    assert _Pair.for_schema("a") is not _Pair.for_schema("b")


class _Temp(StatementSet):
    identifiers: ClassVar[dict[str, sql.Composable]] = {"t": sql.Identifier("pam_tmp")}
    copy = Statement("test.copy", "INSERT INTO {s}.ping SELECT * FROM {t}")


def test_constant_identifiers_are_bound_with_the_schema() -> None:
    assert (_Temp.for_schema("a").copy.query.as_string(None)
            == 'INSERT INTO "a".ping SELECT * FROM "pam_tmp"')


def test_store_statements_name_its_temporary_tables() -> None:
    texts = [StoreStatements.for_schema("e").bound(st).query.as_string(None)
             for st in StoreStatements.statements.values()]
    assert any('"pam_apply_users"' in t for t in texts)
    assert any('"pam_apply_candidates"' in t for t in texts)


def test_an_unknown_placeholder_fails_when_the_set_is_defined() -> None:
    with pytest.raises(TypeError, match=r"_Bad\.pong: bad placeholder in 'test\.pong'"):
        class _Bad(StatementSet):
            pong = Statement("test.pong", "SELECT 1 FROM {schema}.pong")


def test_two_statements_of_one_name_fail_when_the_set_is_defined() -> None:
    with pytest.raises(TypeError, match="_Twice: two statements share a name"):
        class _Twice(StatementSet):
            ping = Statement("test.ping", PING)
            pong = Statement("test.ping", PING)


SETS: list[type[StatementSet]] = [BatchStatements, ChangeStatements, ApiStatements,
                                  ReportStatements, DemoStatements, PipelineStatements,
                                  JobStatements, DashboardStatements, StoreStatements,
                                  DeliveryStatements, DigestStatements, AnswerStatements,
                                  AdaptationStatements, RelevanceStatements]


@pytest.mark.parametrize("cls", SETS)
def test_every_module_statement_names_the_schema(cls: type[StatementSet]) -> None:
    bound = cls.for_schema("eng_x")
    texts = [bound.bound(st).query.as_string(None) for st in cls.statements.values()]
    assert texts and all("{s}" not in t for t in texts)
    assert any('"eng_x".' in t for t in texts)


def test_statement_names_are_unique_across_sets() -> None:
    """A metric label names one statement only."""
    names = [st.name for cls in SETS for st in cls.statements.values()]
    assert len(names) == len(set(names))


def _statement_modules() -> list[str]:
    """Every module of the package that holds SQL by its name (statements, *_sql, queries)."""
    return [m.name for m in pkgutil.walk_packages(pam_proactive.__path__, "pam_proactive.")
            if m.name.rsplit(".", 1)[-1] in {"statements", "queries", "changes",
                                             "dashboard_statements"}
            or m.name.endswith("_sql")]


def test_every_statement_of_a_statements_module_is_in_a_checked_set() -> None:
    """One way to write SQL: a statements module's Statements all sit in a StatementSet, and
    every such set is in SETS (so the checks above cover it)."""
    found: set[type[StatementSet]] = set()
    loose: list[str] = []
    for name in _statement_modules():
        module = importlib.import_module(name)
        members = vars(module)
        sets = [v for v in members.values() if isinstance(v, type)
                and issubclass(v, StatementSet) and v.__module__ == name]
        found.update(sets)
        in_sets = {id(st) for cls in sets for st in cls.statements.values()}
        loose += [f"{name}.{k}" for k, v in members.items()
                  if isinstance(v, Statement) and id(v) not in in_sets]
    assert loose == []
    assert found == set(SETS)
