"""`pam-proactive adaptations list|reset` on a real database: the operator's view and reversal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from api.harness import candidate, store
from cli.test_answers_cli import ids, invoke
from conftest import MakeDatabase
from pam_proactive.config import load_settings
from pam_proactive.db.connection import Database
from pam_proactive.suggestions import answers


async def test_list_and_reset_from_the_command_line(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    u = uuid4()
    await store(uri, [u], [candidate(u, k) for k in ("a", "b")], now=datetime.now(UTC))
    async with Database(uri, load_settings(database_url=uri)) as db:
        for sid in ids(uri, u).values():
            assert await answers.dismiss(db, "pam_proactive", UUID(sid),
                                         datetime.now(UTC), "not_useful")
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert (await store(uri, [u], [], now=later)).adapted == 1
    db_args = ("--database-url", uri)

    listed = await invoke("adaptations", "list", "--format", "json", *db_args)
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)  # one document: the list
    lines = await invoke("adaptations", "list", "--format", "jsonl", *db_args)
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [row]
    assert (row["user_id"], row["type"], row["kind"], row["level"], row["answers"]) == (
        str(u), "budget_exceeded", "not_useful", 1, 2)
    assert "not useful twice" in row["explanation"]
    table = await invoke("adaptations", "list", "--user", str(u), *db_args)
    assert table.exit_code == 0 and "budget_exceeded" in table.stdout and "in force" in \
        table.stdout

    assert (await invoke("adaptations", "reset", *db_args)).exit_code == 2  # --user needed
    bad = await invoke("adaptations", "reset", "--user", str(u), "--type", "Fuel Low", *db_args)
    assert bad.exit_code == 2 and "--type" in bad.output
    done = await invoke("adaptations", "reset", "--user", str(u), "--type", "budget_exceeded",
                        *db_args)
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "reset 1 adaptation in force of budget_exceeded"
    assert (await invoke("adaptations", "list", *db_args)).stdout.strip() == (
        "no adaptations in force")
    every = await invoke("adaptations", "list", "--all", "--format", "json", *db_args)
    [reset] = json.loads(every.stdout)
    assert reset["in_force"] is False and reset["reset_by"] == "operator"
