"""The spool across crashes: SIGKILL mid-send, torn last lines, compaction, the lock."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from support import HERE, TempCase, as_row, expected_trade, ledger_rows, segments, trades

import edgewatch_client

HOUR = 3_600_000


def spool_state(spool: str, strategy: str):
    """(acked marker, seqs of the events in the segments)."""
    folder = os.path.join(spool, strategy)
    try:
        with open(os.path.join(folder, "acked")) as f:
            acked = json.load(f)["acked"]
    except FileNotFoundError:
        acked = 0
    seqs = []
    for name in segments(spool, strategy):
        with open(os.path.join(folder, name), "rb") as f:
            for line in f.read().split(b"\n"):
                try:
                    seqs.append(json.loads(line)["seq"])
                except ValueError:
                    pass
    return acked, seqs


class KilledClient(TempCase):
    def run_bot(self, url: str, start: int, count: int, base: int):
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "crash_bot.py"), url, self.spool, str(start), str(count), str(base)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
        reader.start()
        return p, lines, reader

    def test_a_client_killed_with_sigkill_mid_send_and_restarted_stores_every_recorded_trade_once(self):
        side = self.sidecar()
        base = int(time.time() * 1000) - HOUR
        acknowledged = set()
        for start in (0, 1500):  # two runs killed while they record and send
            stored_before = trades(self.db, "crash")[1]
            p, lines, reader = self.run_bot(side.url, start, 1500, base)
            deadline = time.monotonic() + 60
            while trades(self.db, "crash")[1] < stored_before + 100:
                self.assertIsNone(p.poll(), "the bot finished before it could be killed")
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.005)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            reader.join(10)
            p.stdout.close()
            ok = {int(x.split()[1]) for x in lines if x.startswith("ok ")}
            acknowledged |= ok
            stored = trades(self.db, "crash")[1]
            acked, seqs = spool_state(self.spool, "crash")
            print(f"\n  run from t{start}: killed with {len(ok)} recorded, {stored} stored,"
                  f" {sum(1 for s in seqs if s > acked)} spooled and not yet acknowledged")
            self.assertTrue(any(s > acked for s in seqs), "killed with nothing left to send: not mid-send")
            self.assertLess(stored, start + 1500)
        # The restarted bot records nothing new: it only resends what its spool holds.
        p, lines, reader = self.run_bot(side.url, 3000, 0, base)
        self.assertEqual(p.wait(90), 0)
        reader.join(10)
        p.stdout.close()
        self.assertIn("flushed True\n", lines)
        stored, rows = trades(self.db, "crash")
        ids = {int(i[1:]) for i in stored}
        self.assertEqual(rows, len(stored))
        self.assertTrue(acknowledged <= ids, f"lost: {sorted(acknowledged - ids)[:10]}")
        # Beyond the acknowledged ones, at most the call each kill interrupted (spooled, not yet answered).
        self.assertLessEqual(len(ids - acknowledged), 2)
        for i in ids:
            self.assertEqual(stored[f"t{i}"], as_row(expected_trade(i, base)))
        dup = side.metric("edgewatch_ingest_events_total", kind="trades", result="duplicate")
        print(f"  after restart: {rows} stored once each; the sidecar counted {dup:.0f} resent duplicates")
        self.assertEqual(segments(self.spool, "crash"), [])


class TornAndCompacted(TempCase):
    def test_a_partial_last_line_and_an_unreadable_line_are_skipped_and_the_rest_is_sent(self):
        side = self.sidecar(start=False)
        base = int(time.time() * 1000) - HOUR
        ew = self.client(side.url)
        for i in range(10):
            ew.record_trade(**expected_trade(i, base))
        ew.close(0.1)
        [seg] = segments(self.spool, "momentum")
        with open(os.path.join(self.spool, "momentum", seg), "ab") as f:
            f.write(b"\x00" * 40 + b"\n")  # a block a crash filled with zeros
            f.write(b'{"seq":11,"kind":"trade","at":1,"body":{"id":"t1')  # a write cut short
        side.start()
        again = self.client(side.url)
        again.record_trade(**expected_trade(10, base))  # goes to a new segment, after the torn one
        self.assertTrue(again.flush(30))
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, 11)
        self.assertEqual(sorted(stored), sorted(f"t{i}" for i in range(11)))
        s = again.stats()
        self.assertEqual((s["torn_lines"], s["dead_lettered"], s["pending"]), (2, 0, 0))

    def test_acknowledged_segments_are_deleted_while_the_client_runs(self):
        old = edgewatch_client._SEGMENT_BYTES
        edgewatch_client._SEGMENT_BYTES = 4096
        self.addCleanup(setattr, edgewatch_client, "_SEGMENT_BYTES", old)
        side = self.sidecar(start=False)
        base = int(time.time() * 1000) - HOUR
        ew = self.client(side.url)
        for i in range(100):
            ew.record_trade(**expected_trade(i, base))
        n = len(segments(self.spool, "momentum"))
        self.assertGreaterEqual(n, 5)  # ~230-byte lines, 4 KiB segments
        side.start()
        self.assertTrue(ew.flush(30))
        time.sleep(0.1)  # the marker is written right after the last answer
        self.assertEqual(len(segments(self.spool, "momentum")), 1, "only the segment being written stays")
        acked, seqs = spool_state(self.spool, "momentum")
        self.assertEqual(acked, 100)
        self.assertEqual(trades(self.db, "momentum")[1], 100)
        ew.close()
        self.assertEqual(segments(self.spool, "momentum"), [])

    def test_events_dead_lettered_before_a_crash_are_not_sent_or_dead_lettered_again(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url)
        ew.record_trade(id="bad", symbol="BTC-USD", side="Long", pnl=1)  # seq 1
        ew.record_trade(id="good", symbol="BTC-USD", side="long", pnl=1)  # seq 2
        ew.close(0.1)
        # As a run that dead-lettered seq 1 and died before writing its marker leaves it:
        dead = os.path.join(self.spool, "momentum", "dead-letter.jsonl")
        with open(dead, "w") as f:
            f.write(json.dumps({"seq": 1, "kind": "trade", "status": 400, "error": "invalid batch"}) + "\n")
        side.start()
        again = self.client(side.url)
        self.assertEqual(again.stats()["pending"], 1)
        self.assertTrue(again.flush(30))
        with open(dead) as f:
            self.assertEqual(len(f.readlines()), 1)
        self.assertEqual(sorted(trades(self.db, "momentum")[0]), ["good"])
        self.assertEqual(again.stats()["dead_lettered"], 0)


class FullDisk(TempCase):
    def test_spool_writes_that_fail_midway_fall_back_to_memory_and_every_trade_is_still_delivered(self):
        side = self.sidecar()
        base = int(time.time() * 1000) - HOUR
        # A real write fault: the kernel refuses bytes past 3,000 in any file (RLIMIT_FSIZE),
        # so each segment fills, a write stops part-way and fails, and the next segment starts.
        program = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))
sys.path.insert(0, {HERE!r})
from support import expected_trade
from edgewatch_client import Edgewatch
ew = Edgewatch({side.url!r}, strategy="full", spool_dir={self.spool!r})
ok = sum(ew.record_trade(**expected_trade(i, {base})) for i in range(60))
s = ew.stats()
print(ok, ew.flush(30), s["spool_errors"], s["dropped"])
ew.close()
"""
        r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        ok, flushed, spool_errors, dropped = r.stdout.split()
        self.assertEqual(flushed, "True")
        self.assertGreater(int(spool_errors), 0)
        self.assertEqual(int(ok) + int(spool_errors), 60)
        self.assertEqual(dropped, "0")
        stored, rows = trades(self.db, "full")
        self.assertEqual(rows, 60)
        for i in range(60):
            self.assertEqual(stored[f"t{i}"], as_row(expected_trade(i, base)))
        again = self.client(side.url, strategy="full")
        s = again.stats()
        self.assertEqual((s["pending"], s["torn_lines"]), (0, 0), "failed writes were cut back, not left torn")


class UnusableSpool(TempCase):
    def test_a_second_client_on_a_locked_spool_keeps_events_in_memory_and_still_delivers(self):
        side = self.sidecar()
        first = self.client(side.url)
        with self.assertLogs("edgewatch_client", "ERROR") as logs:
            second = self.client(side.url)
        self.assertIn("in use by another process", "\n".join(logs.output))
        self.assertFalse(second.stats()["spooling"])
        self.assertFalse(second.record_trade(id="m1", symbol="BTC-USD", side="long", pnl=2))
        self.assertTrue(first.record_trade(id="s1", symbol="BTC-USD", side="long", pnl=1))
        self.assertTrue(second.flush(30) and first.flush(30))
        self.assertEqual(sorted(trades(self.db, "momentum")[0]), ["m1", "s1"])

    def test_a_spool_folder_that_cannot_be_created_does_not_stop_the_bot(self):
        side = self.sidecar()
        blocker = os.path.join(self.tmp, "a-file")
        open(blocker, "w").close()
        with self.assertLogs("edgewatch_client", "ERROR"):
            ew = self.client(side.url, spool_dir=os.path.join(blocker, "spool"))
        self.assertEqual(ew.stats()["spool_errors"], 1)
        ew.record_trade(id="m1", symbol="BTC-USD", side="long", pnl=2)
        self.assertTrue(ew.flush(30))
        self.assertEqual(sorted(trades(self.db, "momentum")[0]), ["m1"])
        self.assertEqual(ledger_rows(self.db, "SELECT pnl FROM trades")[0][0], 2.0)


if __name__ == "__main__":
    unittest.main()
