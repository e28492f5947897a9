"""What the sidecar refuses for good goes to the dead-letter file; what may pass later is retried."""

import json
import os
import socket
import threading
import time
import unittest

from support import TempCase, ledger_rows, read_dead_letter, trades

HOUR = 3_600_000


class DeadLetter(TempCase):
    def test_bad_input_reaches_the_dead_letter_file_with_the_sidecars_error_and_nothing_of_it_is_stored(self):
        side = self.sidecar()
        ew = self.client(side.url)
        now = int(time.time() * 1000)
        good = dict(symbol="BTC-USD", side="long", closed_at=now - HOUR)
        ew.deploy({"lookback": 20}, deployed_at=now - 2 * HOUR)
        self.assertTrue(ew.flush(30))
        with self.assertLogs("edgewatch_client", "ERROR") as logs:
            ew.record_trade(id="g1", pnl=1.0, **good)
            ew.record_trade(id="long-capital", symbol="BTC-USD", side="Long", pnl=1.0)
            ew.record_trade(id="ccxt-pair", symbol="BTC/USDT:USDT", side="long", pnl=1.0)
            ew.record_trade(id="text-pnl", symbol="BTC-USD", side="short", pnl="2.83791")
            ew.record_trade(id="future", symbol="BTC-USD", side="long", pnl=1.0, closed_at=now + HOUR)
            ew.record_trade(symbol="BTC-USD", side="long", pnl=1.0)  # no id
            ew.record_trade(id="typo", symbol="BTC-USD", side="long", pnl=1.0, fee=0.1)  # fees misspelt
            ew.record_trade(id="g1", pnl=2.0, **good)  # same id, other content: a 409
            ew.record_trade(id="nan", symbol="BTC-USD", side="long", pnl=float("nan"))  # refused by the client
            ew.record_trade(id="g2", pnl=-1.5, fees=0.25, **good)
            ew.deploy({"look back": 30})  # a parameter name the sidecar refuses
            ew.deploy([1, 2])
            self.assertTrue(ew.flush(30))
        dead = read_dead_letter(self.spool, "momentum")
        by_id = {d["body"].get("id", "<no id>") if d["kind"] == "trade" else json.dumps(d["body"]["params"]): d for d in dead}
        self.assertEqual(len(dead), 10, [d["body"] for d in dead])

        def check(key, status, path, message):
            d = by_id[key]
            self.assertEqual(d["status"], status, d)
            self.assertIn({"path": path, "message": message}, d["details"], d)

        # The sidecar's own words (src/model/trade.ts, names.ts, params.ts, ledger.ts):
        check("long-capital", 400, "side", 'must be "long" or "short"')
        check("ccxt-pair", 400, "symbol", "must match ^[A-Za-z0-9_.:-]{1,64}$")
        check("text-pnl", 400, "pnl", "must be a number")
        check("future", 400, "closed_at", "is more than 5 minutes in the future")
        check("<no id>", 400, "id", "required: a unique id per strategy makes retries safe")
        check("typo", 400, "fee", "unknown field")
        check("nan", None, "pnl", "must be a finite number (got nan)")
        check('{"look back": 30}', 400, "params.look back", "parameter name must match ^[A-Za-z0-9_.:-]{1,64}$")
        check("[1, 2]", 400, "params", "must be a JSON object")
        conflict = [d for d in dead if d["status"] == 409]
        self.assertEqual(len(conflict), 1)
        self.assertEqual(conflict[0]["body"]["pnl"], 2.0)
        self.assertIn("already recorded with other pnl", conflict[0]["details"][0]["message"])
        self.assertTrue(by_id["long-capital"]["error"].startswith("invalid batch"), by_id["long-capital"])
        self.assertTrue(all(isinstance(d["seq"], int) for d in dead if d["status"] is not None))

        stored, rows = trades(self.db, "momentum")
        self.assertEqual(sorted(stored), ["g1", "g2"])
        self.assertEqual(stored["g1"][4], 1.0, "the first g1 stands")
        self.assertEqual(stored["g2"][4:6], (-1.5, 0.25))
        self.assertEqual(ledger_rows(self.db, "SELECT count(*) FROM param_versions")[0][0], 1)
        s = ew.stats()
        self.assertEqual((s["dead_lettered"], s["pending"], s["accepted"]), (10, 0, 2))
        self.assertGreaterEqual(len(logs.output), 1)
        self.assertIn("dead-letter.jsonl", logs.output[0])
        rejected = side.metric("edgewatch_ingest_events_total", kind="trades", result="rejected")
        self.assertGreaterEqual(rejected, 1)

    def test_a_batch_of_only_bad_trades_stores_nothing(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url)
        for i in range(300):
            ew.record_trade(id=f"b{i}", symbol="BTC-USD", side=["Long", "Short", "buy"][i % 3], pnl=1.0)
        side.start()
        self.assertTrue(ew.flush(60))
        self.assertEqual(ledger_rows(self.db, "SELECT count(*) FROM trades")[0][0], 0)
        dead = read_dead_letter(self.spool, "momentum")
        self.assertEqual(sorted(d["body"]["id"] for d in dead), sorted(f"b{i}" for i in range(300)))
        self.assertEqual(ew.stats()["dead_lettered"], 300)


    def test_a_limit_refusal_422_dead_letters_the_batch_and_a_413_only_the_oversized_trade(self):
        side = self.sidecar(env={"EDGEWATCH_MAX_STRATEGIES": "1"})
        one = self.client(side.url, strategy="one")
        two = self.client(side.url, strategy="two")
        one.record_trade(id="a", symbol="BTC-USD", side="long", pnl=1.0)
        self.assertTrue(one.flush(30))
        for i in range(3):
            two.record_trade(id=f"b{i}", symbol="BTC-USD", side="long", pnl=1.0)
        self.assertTrue(two.flush(30))
        dead = read_dead_letter(self.spool, "two")
        self.assertEqual([(d["body"]["id"], d["status"]) for d in dead], [("b0", 422), ("b1", 422), ("b2", 422)])
        self.assertIn("limit 1", dead[0]["error"])
        for i in range(4):
            one.record_trade(id=f"ok{i}", symbol="BTC-USD", side="long", pnl=1.0)
            if i == 1:  # a body beyond the sidecar's 1 MiB limit, between good trades
                one.record_trade(id="huge", symbol="BTC-USD", side="long", pnl=1.0, note="x" * 1_100_000)
        self.assertTrue(one.flush(30))
        [huge] = read_dead_letter(self.spool, "one")
        self.assertEqual((huge["body"]["id"], huge["status"]), ("huge", 413))
        self.assertEqual(ledger_rows(self.db, "SELECT strategy, id FROM trades ORDER BY seq"),
                         [("one", "a"), ("one", "ok0"), ("one", "ok1"), ("one", "ok2"), ("one", "ok3")])  # fmt: skip


class Retried(TempCase):
    def test_a_wrong_token_is_retried_not_dead_lettered_and_the_right_one_delivers_the_spool(self):
        token = "s3cret-token-0123456789"
        side = self.sidecar(token=token)
        wrong = self.client(side.url, token="wrong-token-0123456789")
        for i in range(20):
            wrong.record_trade(id=f"t{i}", symbol="BTC-USD", side="long", pnl=1.0)
        self.assertFalse(wrong.flush(1.0))
        s = wrong.stats()
        self.assertEqual((s["pending"], s["dead_lettered"], s["sent"]), (20, 0, 0))
        self.assertGreater(s["retries"], 0)
        self.assertIn("HTTP 401", s["last_error"])
        wrong.close(0.1)
        self.assertEqual(ledger_rows(self.db, "SELECT count(*) FROM trades")[0][0], 0)
        os.environ["EDGEWATCH_TOKEN"] = token + "\n"  # as `echo` leaves it
        self.addCleanup(os.environ.pop, "EDGEWATCH_TOKEN", None)
        right = self.client(side.url)
        self.assertTrue(right.flush(30))
        self.assertEqual(trades(self.db, "momentum")[1], 20)


class HungSidecar(TempCase):
    def test_a_sidecar_that_accepts_and_never_answers_does_not_block_the_bot(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        held = []
        stop = threading.Event()

        def accept():  # accepts connections and never reads or answers
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except socket.timeout:
                    pass

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        self.addCleanup(lambda: (stop.set(), t.join(), listener.close(), [c.close() for c in held]))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        ew = self.client(url, request_timeout=5.0)
        base = int(time.time() * 1000) - HOUR
        durations = []
        ew.deploy({"lookback": 20}, deployed_at=base - 1000)
        for i in range(200):
            t0 = time.perf_counter()
            ew.record_trade(id=f"h{i}", symbol="BTC-USD", side="long", pnl=0.5, closed_at=base + i)
            ew.heartbeat()
            durations.append(time.perf_counter() - t0)
            if i == 10:
                time.sleep(0.3)  # by now the sender waits on the silent socket
        durations.sort()
        print(f"\n  record_trade + heartbeat against a hung sidecar: median {durations[100] * 1000:.2f} ms,"
              f" max {durations[-1] * 1000:.2f} ms")
        self.assertGreater(len(held), 0, "the client did connect")
        # Far below the 5 s the sender waits on each silent request: no call waited on the network.
        self.assertLess(durations[-1], 1.0)
        t0 = time.monotonic()
        self.assertFalse(ew.flush(1.0))
        self.assertLess(time.monotonic() - t0, 1.5)
        t0 = time.monotonic()
        ew.close(0.5)
        closing = time.monotonic() - t0
        print(f"  close(0.5) returned after {closing:.2f} s")
        self.assertLess(closing, 4.0, "close() cuts the silent connection instead of waiting 5 s on it")
        # Everything is still in the spool: a real sidecar gets it all.
        side = self.sidecar()
        again = self.client(side.url)
        self.assertEqual(again.stats()["pending"], 201)
        self.assertTrue(again.flush(30))
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, 200)
        self.assertEqual({v[-1] for v in stored.values()}, {1})


if __name__ == "__main__":
    unittest.main()
