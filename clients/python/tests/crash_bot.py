"""A bot for the crash test: records trades start..start+count-1 of strategy "crash", printing
"ok <i>" once each record_trade call has returned True, then flushes and closes.

    python crash_bot.py URL SPOOL_DIR START COUNT BASE_MS
"""

import sys

from support import expected_trade

from edgewatch_client import Edgewatch

url, spool, start, count, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
# Small batches: many requests in flight while the parent kills this process.
ew = Edgewatch(url, strategy="crash", spool_dir=spool, batch_size=10, retry_base=0.05, retry_max=0.5)
for i in range(start, start + count):
    if ew.record_trade(**expected_trade(i, base)):
        sys.stdout.write(f"ok {i}\n")
        sys.stdout.flush()
print("recorded", flush=True)
print(f"flushed {ew.flush(60)}", flush=True)
ew.close()
