import multiprocessing
import sqlite3

import pytest

from marketing_ops.moltbook import Moltbook
from marketing_ops.views import print_stats


def test_update_and_delete_are_refused_by_the_database(tmp_path):
    ledger = Moltbook(tmp_path / "m.db")
    ledger.record(action="PLATFORM_RESULT", status="success")
    raw = sqlite3.connect(tmp_path / "m.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE events SET status = 'failed'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM events")
    assert [e["status"] for e in ledger.query()] == ["success"]


def test_secrets_are_masked_in_every_text_field(tmp_path):
    canary = "CANARY-s3cr3t-value"
    ledger = Moltbook(tmp_path / "m.db", redact=[canary])
    ledger.record(action="X", status="error", message=f"token {canary}",
                  details={"url": f"https://h/bot{canary}/getMe"},
                  permalink=f"https://h/{canary}")
    dump = (tmp_path / "m.db").read_bytes()
    wal = tmp_path / "m.db-wal"
    if wal.exists():
        dump += wal.read_bytes()
    assert canary.encode() not in dump
    [event] = ledger.query()
    assert "***" in event["message"]


def test_dedupe_key_admits_one_claim(tmp_path):
    ledger = Moltbook(tmp_path / "m.db")
    ledger.record(action="PUBLISH_INTENT", status="pending", dedupe_key="k")
    with pytest.raises(sqlite3.IntegrityError):
        ledger.record(action="PUBLISH_INTENT", status="pending",
                      dedupe_key="k")


def _writer(path, worker, count):
    ledger = Moltbook(path, agent=f"w{worker}")
    for n in range(count):
        ledger.record(action="AGENT_ACTION", status="success",
                      message=f"{worker}:{n}")
    ledger.close()


def test_several_processes_write_at_once_without_losing_events(tmp_path):
    path = tmp_path / "m.db"
    workers, count = 6, 150
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(path, w, count))
                 for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    ledger = Moltbook(path)
    messages = {e["message"] for e in ledger.query()}
    assert len(messages) == workers * count
    assert ledger.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_stats_print_in_the_documented_shape(tmp_path, capsys):
    ledger = Moltbook(tmp_path / "m.db")
    for status in ["blocked"] * 6 + ["success"] * 4 + ["failed"]:
        ledger.record(action="A", status=status)
    ledger.record(action="B", status="error", event_type="ERROR")
    print_stats(ledger.stats())
    assert capsys.readouterr().out == (
        "Total events: 12\n"
        "\n"
        "By event_type:\n"
        "  11 AGENT_ACTION\n"
        "   1 ERROR\n"
        "\n"
        "By status:\n"
        "   6 blocked\n"
        "   4 success\n"
        "   1 failed\n"
        "   1 error\n")
