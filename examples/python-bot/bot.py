"""A tiny Python bot fed to edgewatch: the README's TypeScript example, in Python.

    npx edgewatch sidecar                              # in the edgewatch clone, another terminal
    python3 examples/python-bot/bot.py --iterations 200

The market is simulated (a random walk); the edgewatch calls are the ones a real bot makes.
"""

import argparse
import os
import random
import sys
import time

try:
    from edgewatch_client import Edgewatch  # pip install clients/python, or a copy of the file
except ImportError:  # run from the clone without installing: use its copy
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
    from edgewatch_client import Edgewatch


def trade_once(rng: random.Random, n: int):
    """Your strategy. Here: a position closes on one tick in three, with a small edge."""
    if rng.random() > 1 / 3:
        return None
    notional = 1000.0
    fees = round(notional * 0.0004, 4)
    gross = rng.gauss(0.6, 8.0)
    return {"id": f"sim-{n}", "symbol": "BTC-USD", "side": rng.choice(["long", "short"]),
            "pnl": round(gross - fees, 4), "fees": fees, "notional": notional}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("EDGEWATCH_URL", "http://127.0.0.1:9465"))
    ap.add_argument("--spool-dir", default="./edgewatch-spool")
    ap.add_argument("--iterations", type=int, default=0, help="stop after N loop iterations (0: run until Ctrl-C)")
    ap.add_argument("--tick", type=float, default=1.0, help="seconds between iterations")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    # The token comes from EDGEWATCH_TOKEN when the sidecar has one.
    ew = Edgewatch(args.url, strategy="momentum", spool_dir=args.spool_dir)
    ew.deploy({"lookback": 20, "threshold": 0.004}, source="deploy", git_sha=os.environ.get("GIT_SHA"))

    rng = random.Random(args.seed)
    run = f"{int(time.time())}"  # trade ids must be unique per strategy across runs
    n = 0
    try:
        while args.iterations == 0 or n < args.iterations:
            fill = trade_once(rng, n)
            if fill:
                fill["id"] = f"{run}-{fill['id']}"
                ew.record_trade(**fill)  # returns at once, whatever the sidecar is doing
            ew.heartbeat()  # the loop is alive
            n += 1
            time.sleep(args.tick)
    except KeyboardInterrupt:
        pass
    delivered = ew.flush(timeout=10.0)
    s = ew.stats()
    print(f"{n} iterations: {s['recorded']} trades and {s['deploys']} deploy recorded, {s['sent']} events delivered,"
          f" {s['pending']} still spooled, {s['dead_lettered']} dead-lettered")  # fmt: skip
    ew.close()
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())
