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


class ReadmeSnippet(TempCase):
    def test_the_readmes_python_snippet_runs_as_written_against_a_sidecar(self):
        with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        section = readme[readme.index("### Python bots") :]
        code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
        self.assertIn("from edgewatch_client import Edgewatch", code)
        adapted = (
            code.replace("while True:", "for _ in range(3):")
            .replace("http://127.0.0.1:9465", "{URL}")
            .replace('"./edgewatch-spool"', "{SPOOL!r}")
        )
        self.assertNotEqual(adapted, code)
        side = self.sidecar()
        program = "\n".join(
            [
                # What the snippet leaves to the reader: a strategy that fills.
                "import itertools, types",
                "_n = itertools.count()",
                "def trade_once():",
                "    i = next(_n)",
                "    return types.SimpleNamespace(id=f'fill-{i}', symbol='BTC-USD', side='long',"
                " net_pnl=1.5, fees=0.1, notional=100.0)",
                adapted.replace("{URL}", side.url).replace("{SPOOL!r}", repr(self.spool)),
                "assert ew.flush(30)",
                "ew.close()",
                "print('snippet done')",
            ]
        )
        r = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
            env=clean_env(GIT_SHA="abc123", PYTHONPATH=os.path.join(REPO, "clients", "python")),
        )  # fmt: skip
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("snippet done", r.stdout)
        stored, rows = trades(self.db, "momentum")
        self.assertEqual(sorted(stored), ["fill-0", "fill-1", "fill-2"])
        self.assertEqual(ledger_rows(self.db, "SELECT git_sha FROM param_deploys"), [("abc123",)])
