"""examples/python-bot/bot.py runs against a real sidecar and its trades are in the ledger."""

import os
import re
import subprocess
import sys

from support import REPO, TempCase, clean_env, ledger_rows, trades


class Example(TempCase):
    def test_the_example_bot_deploys_records_and_beats_into_the_sidecar(self):
        side = self.sidecar()
        r = subprocess.run(
            [sys.executable, os.path.join(REPO, "examples", "python-bot", "bot.py"), "--url", side.url,
             "--spool-dir", self.spool, "--iterations", "60", "--tick", "0.01"],
            capture_output=True, text=True, timeout=120, env=clean_env(),
        )  # fmt: skip
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"(\d+) trades and 1 deploy recorded, (\d+) events delivered, 0 still spooled", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        recorded, delivered = int(m.group(1)), int(m.group(2))
        self.assertGreater(recorded, 5)
        self.assertEqual(delivered, recorded + 1)
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(rows, recorded)
        self.assertEqual({v[-1] for v in stored.values()}, {1}, "every trade on the deployed v1")
        self.assertEqual(
            ledger_rows(self.db, "SELECT params FROM param_versions WHERE strategy = 'momentum'"),
            [('{"lookback":20,"threshold":0.004}',)],
        )
        beats = ledger_rows(self.db, "SELECT beats FROM heartbeats WHERE strategy = 'momentum'")[0][0]
        self.assertTrue(1 <= beats <= 60, beats)
