"""Real parts for the client's tests: a sidecar process (node dist/src/cli/main.js sidecar) on
a loopback port with its own SQLite ledger, read back with the sqlite3 module."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(CLIENT_DIR))
CLI_MAIN = os.path.join(REPO, "dist", "src", "cli", "main.js")
NODE = os.environ.get("EDGEWATCH_NODE") or shutil.which("node") or "node"

# The file under test, not an installed copy.
sys.path.insert(0, CLIENT_DIR)

# The client's warnings are expected here (a sidecar down on purpose); tests that read them use assertLogs.
logging.getLogger("edgewatch_client").addHandler(logging.NullHandler())
logging.getLogger("edgewatch_client").propagate = False

if not os.path.exists(CLI_MAIN):
    raise RuntimeError(f"{CLI_MAIN} is missing: build edgewatch first (npx tsc -p tsconfig.json)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    """The environment without EDGEWATCH_* settings of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(extra)
    return env


class Sidecar:
    """`edgewatch sidecar` as operators run it, on db at port; started by start()."""

    def __init__(self, db: str, port: int | None = None, token: str | None = None, env: dict | None = None):
        self.db = db
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.env = env or {}
        self.proc = None
        self.log_path = db + ".log"

    def start(self, timeout: float = 20.0) -> "Sidecar":
        args = [NODE, CLI_MAIN, "sidecar", "--db", self.db, "--port", str(self.port), "--host", "127.0.0.1"]
        env = clean_env(EDGEWATCH_LOG_FORMAT="json", EDGEWATCH_LOG_LEVEL="warn")
        if self.token:
            env["EDGEWATCH_TOKEN"] = self.token
        env.update(self.env)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sidecar exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sidecar did not answer within {timeout} s:\n{self.output()}")
            time.sleep(0.025)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def output(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def metric(self, name: str, **labels) -> float:
        """One sample of the sidecar's /metrics (0 when absent)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:
            text = r.read().decode()
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            head, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                return float(value)
        return 0.0


def expected_trade(i: int, base: int) -> dict:
    """Trade i as the tests record it: values a person can recompute."""
    return {
        "id": f"t{i}",
        "symbol": "BTC-USD" if i % 3 else "ETH-USD",
        "side": "long" if i % 2 else "short",
        "pnl": round((i % 7 - 3) * 1.25, 2),  # -3.75 .. 3.75
        "fees": round(0.01 * (i % 5), 2),
        "notional": 100.0 + i,
        "opened_at": base + i * 1000 - 500,
        "closed_at": base + i * 1000,
    }


def as_row(t: dict, version=None) -> tuple:
    """expected_trade(...) as trades() returns it."""
    keys = ("symbol", "side", "opened_at", "closed_at", "pnl", "fees", "notional")
    return tuple(t[k] for k in keys) + (version,)


def ledger_rows(db: str, sql: str, *args):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def trades(db: str, strategy: str):
    """{id: (symbol, side, opened_ms, closed_ms, pnl, fees, notional, param_version)} and the row count."""
    rows = ledger_rows(
        db,
        "SELECT id, symbol, side, opened_ms, closed_ms, pnl, fees, notional, param_version FROM trades"
        " WHERE strategy = ? ORDER BY seq",
        strategy,
    )
    return {r[0]: tuple(r[1:]) for r in rows}, len(rows)


def read_dead_letter(spool_dir: str, strategy: str):
    path = os.path.join(spool_dir, strategy, "dead-letter.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def segments(spool_dir: str, strategy: str):
    folder = os.path.join(spool_dir, strategy)
    return sorted(n for n in os.listdir(folder) if n.startswith("seg-")) if os.path.isdir(folder) else []


class TempCase(unittest.TestCase):
    """A temporary folder per test, and sidecars and clients stopped after it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="edgewatch-py-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = os.path.join(self.tmp, "edgewatch.db")
        self.spool = os.path.join(self.tmp, "spool")
        os.environ.pop("EDGEWATCH_TOKEN", None)
        os.environ.pop("EDGEWATCH_TOKEN_FILE", None)

    def sidecar(self, port=None, token=None, start=True, env=None) -> Sidecar:
        s = Sidecar(self.db, port, token, env)
        self.addCleanup(s.stop)
        return s.start() if start else s

    def client(self, url: str, strategy: str = "momentum", **kw):
        from edgewatch_client import Edgewatch

        kw.setdefault("retry_base", 0.05)
        kw.setdefault("retry_max", 0.5)
        ew = Edgewatch(url, strategy=strategy, spool_dir=kw.pop("spool_dir", self.spool), **kw)
        self.addCleanup(ew.close, 1.0)
        return ew
