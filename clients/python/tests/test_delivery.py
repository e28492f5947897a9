"""Delivery through a real sidecar: outage, ordering of deploys and trades, times, heartbeats."""

import calendar
import json
import datetime as dt
import os
import time
import unittest

from support import TempCase, as_row, expected_trade, ledger_rows, segments, trades

import edgewatch_client

HOUR = 3_600_000


class SidecarDownThenUp(TempCase):
    def test_1000_trades_recorded_while_the_sidecar_is_down_are_all_stored_once_when_it_comes_up(self):
        side = self.sidecar(start=False)  # its port, not listening yet
        ew = self.client(side.url)
        base = int(time.time() * 1000) - 2 * HOUR
        sent = [expected_trade(i, base) for i in range(1000)]
        durations = []
        for t in sent:
            t0 = time.perf_counter()
            ok = ew.record_trade(**t)
            durations.append(time.perf_counter() - t0)
            self.assertTrue(ok)
        durations.sort()
        print(
            f"\n  record_trade with the sidecar down: median {durations[500] * 1000:.2f} ms,"
            f" p99 {durations[990] * 1000:.2f} ms, max {durations[-1] * 1000:.2f} ms"
        )
        self.assertLess(durations[-1], 1.0, "a call waited on the network")
        self.assertFalse(ew.flush(0.3))
        before = ew.stats()
        self.assertEqual(before["pending"], 1000)
        self.assertGreater(before["retries"], 0, "the client kept trying the closed port")
        self.assertEqual(before["sent"], 0)

        side.start()
        t0 = time.monotonic()
        self.assertTrue(ew.flush(60))
        print(f"  drained 1000 trades {time.monotonic() - t0:.2f} s after the sidecar came up")
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, 1000)
        for t in sent:
            self.assertEqual(stored[t["id"]], as_row(t))
        # Σ pnl by hand: i % 7 cycles -3..3 (sum 0) over 142 full cycles, then i = 994..999 -> -3..2
        total = ledger_rows(self.db, "SELECT sum(pnl) FROM trades WHERE strategy = 'momentum'")[0][0]
        self.assertAlmostEqual(total, 1.25 * (-3 - 2 - 1 + 0 + 1 + 2), places=9)
        after = ew.stats()
        self.assertEqual((after["sent"], after["accepted"], after["duplicates"], after["dead_lettered"]), (1000, 1000, 0, 0))
        self.assertEqual(side.metric("edgewatch_ingest_events_total", kind="trades", result="accepted"), 1000)
        ew.close()
        self.assertEqual(segments(self.spool, "momentum"), [], "a drained spool is compacted away")

    def test_a_restarted_client_resends_its_spool_and_the_sidecar_keeps_each_trade_once(self):
        side = self.sidecar(start=False)
        base = int(time.time() * 1000) - HOUR
        ew = self.client(side.url)
        for i in range(50):
            ew.record_trade(**expected_trade(i, base))
        ew.close(0.2)  # the bot stops while the sidecar is down
        self.assertEqual(len(segments(self.spool, "momentum")), 1)
        side.start()
        # Half of them already reached the sidecar (as after a crash between its 2xx and the marker).
        other = self.client(side.url, spool_dir=os.path.join(self.tmp, "other-spool"))
        for i in range(25):
            other.record_trade(**expected_trade(i, base))
        self.assertTrue(other.flush(30))
        again = self.client(side.url)
        self.assertEqual(again.stats()["pending"], 50)
        self.assertTrue(again.flush(30))
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, 50)
        self.assertEqual(sorted(stored), sorted(f"t{i}" for i in range(50)))
        s = again.stats()
        self.assertEqual((s["sent"], s["accepted"], s["duplicates"]), (50, 25, 25))


class Ordering(TempCase):
    def test_deploys_reach_the_sidecar_before_the_trades_recorded_after_them(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url, batch_size=7)
        ew.deploy({"lookback": 20, "threshold": 0.004}, source="deploy", git_sha="abc123", note="first")
        time.sleep(0.005)
        for i in range(30):
            ew.record_trade(id=f"a{i}", symbol="BTC-USD", side="long", pnl=1.0)
        time.sleep(0.005)
        ew.deploy({"lookback": 30, "threshold": 0.004})
        time.sleep(0.005)
        for i in range(30):
            ew.record_trade(id=f"b{i}", symbol="BTC-USD", side="long", pnl=-1.0)
        side.start()
        self.assertTrue(ew.flush(30))
        stored, _ = trades(self.db, "momentum")
        self.assertEqual({stored[f"a{i}"][-1] for i in range(30)}, {1})
        self.assertEqual({stored[f"b{i}"][-1] for i in range(30)}, {2})
        deploys = ledger_rows(
            self.db, "SELECT version, source, git_sha, note FROM param_deploys WHERE strategy = 'momentum' ORDER BY seq"
        )
        self.assertEqual(deploys, [(1, "deploy", "abc123", "first"), (2, None, None, None)])
        params = ledger_rows(self.db, "SELECT params FROM param_versions WHERE strategy = 'momentum' ORDER BY version")
        self.assertEqual(params, [('{"lookback":20,"threshold":0.004}',), ('{"lookback":30,"threshold":0.004}',)])


class Values(TempCase):
    def test_times_as_datetime_epoch_ms_and_text_are_stored_as_the_same_milliseconds(self):
        side = self.sidecar()
        ew = self.client(side.url)
        # 2026-01-02 15:04:05.123 UTC, worked out with calendar.timegm, not with the client's code.
        ms = calendar.timegm((2026, 1, 2, 15, 4, 5)) * 1000 + 123
        cases = {
            "aware": dt.datetime(2026, 1, 2, 17, 4, 5, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "naive-is-utc": dt.datetime(2026, 1, 2, 15, 4, 5, 123000),
            "epoch-ms": ms,
            "float-ms": float(ms) + 0.9,
            "iso-text": "2026-01-02T15:04:05.123Z",
            "freqtrade-text": "2026-01-02 15:04:05.123+00:00",
        }
        for name, value in cases.items():
            ew.record_trade(id=name, symbol="BTC-USD", side="long", pnl=1, opened_at=value, closed_at=value)
        import decimal

        ew.record_trade(id=7, symbol="BTC-USD", side="short", pnl=decimal.Decimal("2.5"), fees=decimal.Decimal("0.1"))
        self.assertTrue(ew.flush(30))
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, len(cases) + 1)
        for name in cases:
            self.assertEqual(stored[name][2:4], (ms, ms), name)
        self.assertEqual(stored["7"][4:6], (2.5, 0.1), "Decimal sent as a number, an int id as text")
        now = int(time.time() * 1000)
        self.assertLess(abs(stored["7"][3] - now), 60_000, "closed_at defaults to the time of the call")

    def test_closed_at_defaults_to_the_call_time_so_a_resend_is_the_same_trade(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url)
        before = int(time.time() * 1000)
        ew.record_trade(id="x", symbol="BTC-USD", side="long", pnl=1)
        after = int(time.time() * 1000)
        time.sleep(0.05)
        side.start()
        self.assertTrue(ew.flush(30))
        closed = trades(self.db, "momentum")[0]["x"][3]
        self.assertTrue(before <= closed <= after, (before, closed, after))


class Heartbeats(TempCase):
    def test_a_heartbeat_reaches_the_sidecar(self):
        side = self.sidecar()
        ew = self.client(side.url)
        t0 = int(time.time() * 1000)
        ew.heartbeat()
        self.assertTrue(ew.flush(10))
        deadline = time.monotonic() + 10
        while ew.stats()["heartbeats_sent"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        rows = ledger_rows(self.db, "SELECT strategy, last_ms, beats FROM heartbeats")
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0][0], rows[0][2]), ("momentum", 1))
        self.assertGreaterEqual(rows[0][1], t0)

    def test_a_heartbeat_older_than_its_max_age_is_dropped_not_replayed_as_fresh(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url, heartbeat_max_age=0.3)
        ew.heartbeat()
        time.sleep(0.5)
        side.start()
        ew.record_trade(id="after", symbol="BTC-USD", side="long", pnl=1)
        self.assertTrue(ew.flush(30))
        self.assertEqual(ew.stats()["heartbeats_dropped"], 1)
        self.assertEqual(ew.stats()["heartbeats_sent"], 0)
        self.assertEqual(ledger_rows(self.db, "SELECT count(*) FROM heartbeats")[0][0], 0)


class KeepAlive(TempCase):
    def test_a_connection_the_sidecar_closed_while_idle_is_replaced_without_a_failed_attempt(self):
        side = self.sidecar()
        ew = self.client(side.url)
        ew.record_trade(id="before", symbol="BTC-USD", side="long", pnl=1)
        self.assertTrue(ew.flush(10))
        time.sleep(6.5)  # past node's 5 s keep-alive timeout: the sidecar has closed the connection
        ew.record_trade(id="after", symbol="BTC-USD", side="long", pnl=1)
        self.assertTrue(ew.flush(10))
        self.assertEqual(ew.stats()["retries"], 0)
        self.assertEqual(sorted(trades(self.db, "momentum")[0]), ["after", "before"])


class Backoff(unittest.TestCase):
    def test_delays_double_up_to_the_cap_with_half_of_each_random(self):
        ew = edgewatch_client.Edgewatch.__new__(edgewatch_client.Edgewatch)
        ew._retry_base, ew._retry_max, ew._attempt = 0.25, 30.0, 0
        for k in range(12):
            d = min(30.0, 0.25 * 2**k)  # 0.25, 0.5, 1, 2, ..., 16, 30, 30
            got = ew._backoff(0.0)
            self.assertTrue(d / 2 <= got <= d, (k, got, d))
        ew._attempt = 20
        spread = {round(ew._backoff(0.0), 6) for _ in range(50)}
        self.assertGreater(len(spread), 40, "jitter: the delays differ")
        ew._attempt = 0
        self.assertGreaterEqual(ew._backoff(5.0), 5.0, "Retry-After is a floor")


if __name__ == "__main__":
    unittest.main()


class Expectations(TempCase):
    def test_an_expectation_recorded_while_the_sidecar_is_down_reaches_its_version_after_the_deploy(self):
        side = self.sidecar(start=False)
        ew = self.client(side.url)
        ew.deploy({"lookback": 20})
        summary = {"trades": 400, "trades_per_day": 10, "pnl_mean": 1.5, "pnl_sd": 4.0, "win_ratio": 0.55}
        self.assertTrue(ew.expect("v1", summary=summary, fee_per_trade=0.2, source="backtest 2026-10"))
        self.assertTrue(ew.expect("v9", summary=summary))  # no such version: refused, dead-lettered
        side.start()
        self.assertTrue(ew.flush(30), ew.stats())
        rows = ledger_rows(self.db, "SELECT strategy, version FROM expectations ORDER BY version")
        self.assertEqual(rows, [("momentum", 1)])
        stats = ew.stats()
        self.assertEqual(stats["dead_lettered"], 1)
        with open(os.path.join(ew.spool_path, "dead-letter.jsonl"), encoding="utf-8") as f:
            dead = [json.loads(line) for line in f]
        self.assertEqual([d["kind"] for d in dead], ["expectation"])
        self.assertEqual(dead[0]["status"], 404)
