"""edgewatch client for Python bots: one file, standard library only, Python 3.9+.

    from edgewatch_client import Edgewatch
    ew = Edgewatch("http://127.0.0.1:9465", strategy="momentum", spool_dir="./edgewatch-spool")
    ew.deploy({"lookback": 20})
    ew.record_trade(id="42", symbol="BTC-USD", side="long", pnl=12.5, fees=0.4, notional=1000.0)
    ew.heartbeat()
    ew.flush(timeout=10.0)
    ew.close()

Every recording call returns at once and never raises: the event is appended to a spool file
and fsync'd before the call returns, and a background thread sends it to the sidecar in
batches, retrying with exponential backoff and jitter while the sidecar is down, restarting or
overloaded. A restarted bot resends what its spool still holds; the sidecar stores a trade id
once, so a resend is harmless. Input the sidecar refuses for good (400, 409, 413, 422) is moved
to a dead-letter file with the sidecar's error, logged, and counted. See README.md next to this
file for the guarantees, the spool format and the counters.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import decimal
import http.client
import itertools
import json
import logging
import math
import numbers
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque

__all__ = ["Edgewatch"]
__version__ = "0.1.0"

log = logging.getLogger("edgewatch_client")

# The sidecar's rule for strategy names (src/model/names.ts).
_NAME_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Answers that will never succeed for the same body: dead-letter, do not retry.
_FATAL = frozenset((400, 409, 413, 422))
_SEGMENT_BYTES = 1 << 20  # a segment is rolled past this size; fully acknowledged ones are deleted
_MAX_REQUEST_BYTES = 512 * 1024  # well under the sidecar's 1 MiB body limit
_MAX_BATCH = 5000  # the sidecar's batch limit
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_SEGMENT_RE = re.compile(r"seg-(\d{20})\.jsonl")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _fsync_dir(path: str) -> None:
    # A new or renamed file survives a power cut only once its folder is synced (POSIX).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open a folder; NTFS journals the entry itself
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _SpoolBusy(Exception):
    pass


class _Event:
    """One spooled event. seq is None for an event held in memory only (spool unusable)."""

    __slots__ = ("seq", "kind", "body", "dead", "_text")

    def __init__(self, seq, kind, body):
        self.seq, self.kind, self.body = seq, kind, body
        self.dead = False  # dead-lettered: skipped when its batch is retried
        self._text = None

    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        return self._text


class _Spool:
    """Append-only segment files, an acknowledged-prefix marker and a dead-letter file.

    Files in the folder: seg-<first seq>.jsonl (one event a line), acked (the highest seq
    such that every event up to it is delivered or dead-lettered), dead-letter.jsonl and lock.
    Writers (any bot thread) append under `mu`; the sender thread alone reads and acknowledges.
    """

    def __init__(self, folder: str):
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self._lock_fd = self._take_lock()
        try:
            self._open()
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _open(self) -> None:
        self.mu = threading.Lock()
        self.torn = 0  # partial last lines and unreadable lines skipped
        self.acked = self._read_acked()
        self.dead_seqs, max_dead = self._read_dead_letter()
        names = sorted(n for n in os.listdir(self.dir) if _SEGMENT_RE.fullmatch(n))
        self.segments = [os.path.join(self.dir, n) for n in names]  # not yet fully read
        self.pending = 0
        max_seq = max([self.acked, max_dead] + [int(_SEGMENT_RE.fullmatch(n).group(1)) for n in names])
        for path in self.segments:
            events, _ = self._parse(self._read_from(path, 0), path, final=True, quiet=True)
            for ev in events:
                max_seq = max(max_seq, ev.seq)
                if ev.seq > self.acked and ev.seq not in self.dead_seqs:
                    self.pending += 1
        self.next_seq = max_seq + 1
        self._finished = []  # (path, highest seq in it): read to the end, deletable once acked
        self._roffset = 0
        self._rmax = 0
        self._wfd = None  # this process writes only to segments it created: never after a torn tail
        self._wpath = None
        self._wsize = 0
        self._dead_fd = None

    # -- files --------------------------------------------------------------------------------

    def _take_lock(self) -> int:
        fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # Windows: lock a byte far past the pid, which stays readable
                import msvcrt

                os.lseek(fd, 1 << 30, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                os.lseek(fd, 0, os.SEEK_SET)
        except OSError:
            os.lseek(fd, 0, os.SEEK_SET)
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise _SpoolBusy(f"spool {self.dir} is in use by another process (pid {holder})")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def _read_acked(self) -> int:
        try:
            with open(os.path.join(self.dir, "acked"), encoding="utf-8") as f:
                return int(json.load(f)["acked"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as e:
            # Resending from the start is safe (the sidecar stores a trade id once).
            log.warning("edgewatch: spool marker %s/acked unreadable (%s): resending the whole spool", self.dir, e)
            return 0

    def _read_dead_letter(self):
        """Seqs above the marker already dead-lettered (a crash between the two writes), and the highest seq."""
        seqs, top = set(), 0
        try:
            with open(os.path.join(self.dir, "dead-letter.jsonl"), "rb") as f:
                for line in f:
                    try:
                        seq = json.loads(line).get("seq")
                    except ValueError:
                        continue
                    if isinstance(seq, int):
                        top = max(top, seq)
                        if seq > self.acked:
                            seqs.add(seq)
        except FileNotFoundError:
            pass
        return seqs, top

    @staticmethod
    def _read_from(path: str, offset: int) -> bytes:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""

    def _parse(self, data: bytes, path: str, final: bool, quiet: bool = False):
        """Events of the complete lines in data, and the length of those lines. final: the segment
        gets no more lines, so a partial last line is a write torn by a crash (the call that
        wrote it never returned). quiet: the start-up count, which the reader repeats."""
        cut = data.rfind(b"\n") + 1
        if final and cut < len(data) and not quiet:
            self.torn += 1
            log.warning("edgewatch: skipped a partial last line in %s (a write cut short by a crash)", path)
        out = []
        for line in data[:cut].splitlines():
            try:
                obj = json.loads(line)
                ev = _Event(obj["seq"], obj["kind"], obj["body"])
                if not isinstance(ev.seq, int) or ev.kind not in ("trade", "deploy", "expectation") or not isinstance(ev.body, dict):
                    raise ValueError("not an event")
            except (ValueError, KeyError, TypeError):
                if not quiet:
                    self.torn += 1
                    log.warning("edgewatch: skipped an unreadable line in %s", path)
                continue
            out.append(ev)
        return out, cut

    # -- writing ------------------------------------------------------------------------------

    def append(self, kind: str, at: int, text: str) -> int:
        """Writes and fsyncs one event; returns its seq. Raises OSError (the caller keeps it in memory)."""
        with self.mu:
            seq = self.next_seq
            self.next_seq += 1
            line = f'{{"seq":{seq},"kind":"{kind}","at":{at},"body":{text}}}\n'.encode("utf-8")
            if self._wfd is None or self._wsize >= _SEGMENT_BYTES:
                self._roll(seq)
            try:
                _write_all(self._wfd, line)
                os.fsync(self._wfd)
            except OSError:
                # Cut back what may have been written, and never append after it again.
                try:
                    os.ftruncate(self._wfd, self._wsize)
                except OSError:
                    pass
                self._close_writer()
                raise
            self._wsize += len(line)
            self.pending += 1
            return seq

    def _roll(self, seq: int) -> None:
        self._close_writer()
        path = os.path.join(self.dir, f"seg-{seq:020d}.jsonl")
        self._wfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._wpath, self._wsize = path, 0
        self.segments.append(path)
        _fsync_dir(self.dir)

    def _close_writer(self) -> None:
        if self._wfd is not None:
            try:
                os.close(self._wfd)
            except OSError:
                pass
        self._wfd = self._wpath = None

    # -- reading and acknowledging (sender thread only) --------------------------------------

    def read_more(self):
        """The next events after the read cursor, in seq order; [] when there is nothing new."""
        while True:
            with self.mu:
                if not self.segments:
                    return []
                path = self.segments[0]
                final = path != self._wpath  # no more appends: a later segment exists
            events, cut = self._parse(self._read_from(path, self._roffset), path, final)
            self._roffset += cut
            fresh = []
            for ev in events:
                self._rmax = max(self._rmax, ev.seq)
                if ev.seq > self.acked and ev.seq not in self.dead_seqs:
                    fresh.append(ev)
            if final:
                with self.mu:
                    self.segments.pop(0)
                self._finished.append((path, self._rmax))
                self._roffset = self._rmax = 0
            if fresh:
                return fresh
            if not final:
                return []

    def ack(self, seq: int) -> None:
        """Marks every event up to seq done, then deletes the segments that hold nothing else."""
        if seq <= self.acked:
            return
        tmp = os.path.join(self.dir, "acked.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"acked": seq}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, "acked"))
        _fsync_dir(self.dir)
        self.acked = seq
        self.dead_seqs = {s for s in self.dead_seqs if s > seq}  # only needed until acknowledged
        keep = []
        for path, top in self._finished:
            if top <= seq:
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass
            else:
                keep.append((path, top))
        self._finished = keep

    def dead_letter(self, records) -> None:
        if self._dead_fd is None:
            self._dead_fd = os.open(
                os.path.join(self.dir, "dead-letter.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
            )
        data = "".join(json.dumps(r, ensure_ascii=False, default=repr) + "\n" for r in records).encode("utf-8")
        _write_all(self._dead_fd, data)
        os.fsync(self._dead_fd)

    def close(self, drained: bool) -> None:
        with self.mu:
            self._close_writer()
            if drained:  # everything acknowledged: leave an empty spool behind
                for n in os.listdir(self.dir):
                    if _SEGMENT_RE.fullmatch(n):
                        os.remove(os.path.join(self.dir, n))
                self.segments, self._finished = [], []
        if self._dead_fd is not None:
            os.close(self._dead_fd)
            self._dead_fd = None
        os.close(self._lock_fd)  # releases the lock


class _Retry(Exception):
    def __init__(self, message: str, retry_after: float = 0.0):
        super().__init__(message)
        self.retry_after = retry_after


# ---- value conversion: only what JSON cannot carry is refused here; the sidecar judges the rest


def _time_value(v, path: str, errors: list):
    """datetime (naive = UTC), epoch milliseconds, or text passed through for the sidecar to parse."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        return (v - _EPOCH) // _dt.timedelta(milliseconds=1)
    if isinstance(v, bool):
        return v  # JSON true: the sidecar answers what it expects
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, (numbers.Real, decimal.Decimal)):
        f = float(v)
        if not math.isfinite(f):
            errors.append({"path": path, "message": f"must be a finite time (got {v!r})"})
            return None
        return math.floor(f)  # epoch milliseconds with a fraction: keep the millisecond
    errors.append({"path": path, "message": f"must be a datetime, epoch milliseconds or RFC 3339 text (got {type(v).__name__})"})
    return None


def _number_value(v, path: str, errors: list):
    """int and float as they are; Decimal and numpy scalars as float; text passed through."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, (numbers.Real, decimal.Decimal)):
        f = float(v)
        if not math.isfinite(f):
            errors.append({"path": path, "message": f"must be a finite number (got {v!r})"})
            return None
        return f
    return str(v)


def _json_default(o):
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, (numbers.Real, decimal.Decimal)):
        return float(o)
    if hasattr(o, "tolist"):  # numpy arrays and scalars
        return o.tolist()
    raise TypeError(f"unsupported value of type {type(o).__name__} (JSON values only)")


class Edgewatch:
    """A strategy's connection to the edgewatch sidecar. See the module docstring."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        strategy: str | None = None,
        spool_dir: str = "./edgewatch-spool",
        *,
        batch_size: int = 500,
        request_timeout: float = 10.0,
        retry_base: float = 0.25,
        retry_max: float = 30.0,
        heartbeat_max_age: float = 60.0,
        max_memory_events: int = 10000,
        exit_flush_timeout: float = 2.0,
    ):
        # Configuration mistakes raise here, at start-up; no call after this one raises.
        if not isinstance(strategy, str) or not _NAME_RE.fullmatch(strategy):
            raise ValueError(f"strategy must match ^[A-Za-z0-9_.:-]{{1,64}}$ (got {strategy!r})")
        parts = urllib.parse.urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must look like http://127.0.0.1:9465 (got {url!r})")
        parts.port  # raises ValueError for a port out of range
        if not 1 <= int(batch_size) <= _MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{_MAX_BATCH}")
        self.strategy = strategy
        self.url = url
        self._token = self._resolve_token(token)
        self._parts = parts
        self._base_path = parts.path.rstrip("/")
        self._batch_size = int(batch_size)
        self._timeout = float(request_timeout)
        self._retry_base, self._retry_max = float(retry_base), float(retry_max)
        self._hb_max_age = float(heartbeat_max_age)
        self._max_memory = int(max_memory_events)
        self._exit_flush = float(exit_flush_timeout)

        self._cv = threading.Condition()
        self._mem = deque()  # events the spool could not take (kept in memory only)
        self._buf = deque()  # spooled events read back, not yet done
        self._hb_at = None  # monotonic time of the newest heartbeat not yet sent
        self._work = self._hurry = self._stopping = self._closed = False
        self._conn = None
        self._attempt = 0
        self._failing_since = None
        self._last_warn = 0.0
        self._counters = dict(
            recorded=0, deploys=0, expectations=0, spooled=0, sent=0, accepted=0, duplicates=0, dead_lettered=0,
            retries=0, spool_errors=0, dropped=0, torn_lines=0, heartbeats_sent=0, heartbeats_dropped=0,
        )  # fmt: skip
        self._last_error = None

        self.spool_path = os.path.abspath(os.path.join(spool_dir, strategy))
        self._spool = None
        try:
            self._spool = _Spool(self.spool_path)
        except Exception as e:  # locked, unwritable, ...: the bot runs on, with events in memory
            self._error("spool unusable, events are kept in memory only and lost if the bot dies", e)
            self._counters["spool_errors"] += 1
        if self._spool is not None and self._spool.pending:
            log.info("edgewatch: %d events from an earlier run in %s will be resent", self._spool.pending, self.spool_path)

        self._thread = threading.Thread(target=self._run, name=f"edgewatch-{strategy}", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    @staticmethod
    def _resolve_token(token):
        if token is None:
            token = os.environ.get("EDGEWATCH_TOKEN") or None
            path = os.environ.get("EDGEWATCH_TOKEN_FILE")
            if token is None and path:
                with open(path, encoding="utf-8") as f:
                    token = f.read()
        if token is None:
            return None
        token = token.strip()  # a trailing newline from a file or `echo` is not part of the token
        if not token:
            return None
        if not re.fullmatch(r"[\x21-\x7e]+", token):
            raise ValueError("token must be printable ASCII without spaces")
        if len(token) < 16:
            log.warning("edgewatch: the token has %d characters; the sidecar requires at least 16", len(token))
        return token

    # ---- recording calls: return at once, never raise ----------------------------------------

    def record_trade(
        self, id=None, symbol=None, side=None, pnl=None, fees=None, notional=None, opened_at=None, closed_at=None,
        **extra,
    ) -> bool:  # fmt: skip
        """Records a closed trade (pnl net of fees). True when the event is in the spool on disk."""
        try:
            now = _now_ms()
            errors = []
            body = {
                "id": str(int(id)) if isinstance(id, numbers.Integral) and not isinstance(id, bool) else id,
                "strategy": self.strategy,
                "symbol": symbol,
                "side": side,
                "closed_at": now if closed_at is None else _time_value(closed_at, "closed_at", errors),
                "opened_at": _time_value(opened_at, "opened_at", errors),
                "pnl": _number_value(pnl, "pnl", errors),
                "fees": _number_value(fees, "fees", errors),
                "notional": _number_value(notional, "notional", errors),
            }
            body.update(extra)  # param_version, experiment, variant; a misspelt name reaches the sidecar's error
            for k in ("id", "symbol", "side", "pnl", "opened_at", "fees", "notional"):
                if body[k] is None:
                    del body[k]  # absent, so the sidecar names what is required
            self._count("recorded")
            return self._enqueue("trade", body, errors, now)
        except Exception as e:  # a bug here must not take the bot down
            self._error("record_trade failed", e)
            return False

    def deploy(self, params, source=None, git_sha=None, note=None, deployed_at=None, **extra) -> bool:
        """Records a parameter deploy, dated now unless deployed_at is given (so a late send is back-dated right)."""
        try:
            now = _now_ms()
            errors = []
            body = {"strategy": self.strategy, "params": params, "source": source, "git_sha": git_sha, "note": note}
            body["deployed_at"] = now if deployed_at is None else _time_value(deployed_at, "deployed_at", errors)
            body.update(extra)
            for k in ("source", "git_sha", "note"):
                if body[k] is None:
                    del body[k]
            self._count("deploys")
            return self._enqueue("deploy", body, errors, now)
        except Exception as e:
            self._error("deploy failed", e)
            return False

    def expect(self, version, summary=None, trades=None, fee_per_trade=None, source=None, note=None) -> bool:
        """Records what parameter version `version` ("v3") was expected to do: its backtest's
        summary figures (a dict as POST /v1/params/:strategy/:version/expectation takes) or its
        trade list. Spooled and sent in order, like a deploy: after the deploy it follows."""
        try:
            body = {"version": str(version)}
            for k, v in (("summary", summary), ("trades", trades), ("fee_per_trade", fee_per_trade),
                         ("source", source), ("note", note)):
                if v is not None:
                    body[k] = v
            self._count("expectations")
            return self._enqueue("expectation", body, [], _now_ms())
        except Exception as e:
            self._error("expect failed", e)
            return False

    def heartbeat(self) -> None:
        """Says the bot's loop is alive. Not spooled: a heartbeat resent later would lie about liveness."""
        try:
            with self._cv:
                self._hb_at = time.monotonic()
                self._work = True
                self._cv.notify_all()
        except Exception as e:
            self._error("heartbeat failed", e)

    def _enqueue(self, kind: str, body: dict, errors: list, now: int) -> bool:
        if self._closed:
            self._count("dropped")
            self._error(f"{kind} after close() was not recorded", None)
            return False
        text = None
        if not errors:
            try:
                text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default)
            except (TypeError, ValueError) as e:
                msg = str(e) if isinstance(e, TypeError) else "NaN and infinite numbers are not JSON"
                errors.append({"path": "params" if kind == "deploy" else "", "message": msg})
        if errors:  # refused here: JSON cannot carry it, so the sidecar never could
            self._dead_letter([_Event(None, kind, body)], None, f"invalid {kind}: refused by the client", [errors])
            return False
        if self._spool is not None:
            try:
                seq = self._spool.append(kind, now, text)
            except OSError as e:
                self._count("spool_errors")
                self._error("spool write failed; this event is kept in memory only", e)
            else:
                self._count("spooled")
                self._signal()
                return True
        with self._cv:
            if len(self._mem) >= self._max_memory:
                self._counters["dropped"] += 1
                self._error(f"{kind} dropped: {self._max_memory} events already wait in memory", None)
                return False
            self._mem.append(_Event(None, kind, json.loads(text)))
        self._signal()
        return False

    # ---- reading state ------------------------------------------------------------------------

    def stats(self) -> dict:
        """Counters (see README.md), plus pending (events not yet delivered or dead-lettered) and last_error."""
        with self._cv:
            out = dict(self._counters)
            out["pending"] = self._pending()
            out["last_error"] = self._last_error
            out["spooling"] = self._spool is not None
        if self._spool is not None:
            out["torn_lines"] = self._spool.torn
        return out

    def _pending(self) -> int:
        return (self._spool.pending if self._spool is not None else 0) + len(self._mem)

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until every event is delivered (or dead-lettered); True when it is, False at the timeout."""
        try:
            deadline = time.monotonic() + max(0.0, float(timeout))
            with self._cv:
                while self._pending() > 0:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._thread.is_alive():
                        return False
                    self._hurry = True  # a flush cuts the backoff short, about once a second
                    self._cv.notify_all()
                    self._cv.wait(min(left, 1.0))
                return True
        except Exception as e:
            self._error("flush failed", e)
            return False

    def close(self, timeout: float = 5.0) -> None:
        """Flushes for up to timeout seconds, then stops; what is left stays in the spool for the next start."""
        try:
            if self._closed:
                return
            drained = self.flush(timeout)
            with self._cv:
                self._closed = self._stopping = True
                self._cv.notify_all()
            self._thread.join(1.0)
            if self._thread.is_alive():  # stuck on a hung sidecar: cut the connection
                conn = self._conn
                if conn is not None and conn.sock is not None:
                    try:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                self._thread.join(2.0)
            if self._spool is not None:
                self._spool.close(drained and not self._thread.is_alive() and self._pending() == 0)
            try:
                atexit.unregister(self._at_exit)
            except Exception:
                pass
        except Exception as e:
            self._error("close failed", e)

    def _at_exit(self) -> None:
        self.close(self._exit_flush)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- internals ----------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._cv:
            self._counters[name] += n

    def _signal(self) -> None:
        with self._cv:
            self._work = True
            self._cv.notify_all()

    def _error(self, what: str, err) -> None:
        msg = what if err is None else f"{what}: {type(err).__name__}: {err}"
        self._last_error = msg
        log.error("edgewatch: %s", msg)

    def _dead_letter(self, events, status, error, details) -> None:
        """Moves events the sidecar (or this client) refused for good to the dead-letter file;
        details holds one list of {index?, path, message} per event."""
        if not events:
            return
        at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        records = []
        for e, d in zip(events, details):
            e.dead = True
            records.append(
                {"seq": e.seq, "kind": e.kind, "status": status, "error": error, "details": d, "body": e.body, "at": at}
            )
        self._last_error = f"{len(records)} {events[0].kind} event(s) dead-lettered: {error}"
        if self._spool is not None:
            try:
                self._spool.dead_letter(records)
            except OSError as e:
                self._error("writing the dead-letter file failed; the refused events are only logged", e)
        self._count("dead_lettered", len(records))
        first = records[0]
        log.error(
            "edgewatch: %d %s event(s) refused%s, moved to %s: %s %s (first: %s)",
            len(records),
            first["kind"],
            f" with HTTP {status}" if status else "",
            os.path.join(self.spool_path, "dead-letter.jsonl"),
            error,
            json.dumps(first["details"], ensure_ascii=False, default=repr)[:500],
            json.dumps(first["body"], ensure_ascii=False, default=repr)[:300],
        )

    # ---- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._stopping:
                    break
            try:
                busy = self._step()
            except _Retry as r:
                self._note_failure(str(r))
                self._wait(self._backoff(r.retry_after), backoff=True)
                continue
            except Exception as e:  # a bug: log it and keep going rather than stop delivering
                log.exception("edgewatch: sender error")
                self._note_failure(f"{type(e).__name__}: {e}")
                self._wait(self._backoff(0.0), backoff=True)
                continue
            if not busy:
                self._wait(1.0, backoff=False)
        if self._conn is not None:
            self._conn.close()

    def _backoff(self, retry_after: float) -> float:
        # Exponential with "equal jitter": half fixed, half random, so bots restarted together spread out.
        d = min(self._retry_max, self._retry_base * (2 ** min(self._attempt, 30)))
        self._attempt += 1
        d = d / 2 + random.uniform(0, d / 2)
        return max(d, min(retry_after, 300.0))

    def _wait(self, delay: float, backoff: bool) -> None:
        deadline = time.monotonic() + delay
        with self._cv:
            while not self._stopping:
                if self._hurry:
                    self._hurry = False
                    return
                if self._work and not backoff:  # new events end an idle wait, never a backoff
                    self._work = False
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cv.wait(left)

    def _note_failure(self, msg: str) -> None:
        self._count("retries")
        self._last_error = msg
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last_warn = now
            log.warning("edgewatch: sending to %s failed, will retry: %s", self.url, msg)
        elif now - self._last_warn >= 60.0:
            self._last_warn = now
            log.warning("edgewatch: still failing after %.0f s (%d pending): %s", now - self._failing_since,
                        self._pending(), msg)  # fmt: skip

    def _note_success(self) -> None:
        self._attempt = 0
        if self._failing_since is not None:
            log.info("edgewatch: sending to %s works again", self.url)
            self._failing_since = None

    def _step(self) -> bool:
        """One unit of work; True when something was done. Raises _Retry."""
        if self._send_heartbeat():
            return True
        batch, from_spool = self._next_batch()
        if not batch:
            return False
        if batch[0].kind == "deploy":
            self._deliver_deploy(batch[0])
        elif batch[0].kind == "expectation":
            self._deliver_expectation(batch[0])
        else:
            self._deliver_trades(batch)
        self._note_success()
        with self._cv:
            for _ in batch:
                (self._buf if from_spool else self._mem).popleft()
            self._counters["sent"] += sum(1 for e in batch if not e.dead)
        if from_spool:
            with self._spool.mu:
                self._spool.pending -= len(batch)
        with self._cv:
            self._cv.notify_all()
        if from_spool:
            try:
                self._spool.ack(batch[-1].seq)
            except OSError as e:  # delivered all the same; a restart resends them, harmlessly
                self._count("spool_errors")
                self._error("writing the spool marker failed", e)
        return True

    def _next_batch(self):
        """A deploy alone, or consecutive trades up to the next deploy: a deploy reaches the
        sidecar before the trades recorded after it. Spooled events first, then memory ones."""
        if not self._buf and self._spool is not None:
            self._buf.extend(self._spool.read_more())
        if self._buf:  # the sender's own: no lock needed
            head, from_spool = list(itertools.islice(self._buf, self._batch_size)), True
        else:  # bot threads append to its end; only the sender takes from its head
            with self._cv:
                head, from_spool = list(itertools.islice(self._mem, self._batch_size)), False
        if not head or head[0].kind != "trade":  # a deploy or an expectation goes alone
            return head[:1], from_spool
        batch, size = [], 0
        for ev in head:
            size += len(ev.text()) + 1
            if ev.kind != "trade" or (batch and size > _MAX_REQUEST_BYTES):
                break
            batch.append(ev)
        return batch, from_spool

    def _send_heartbeat(self) -> bool:
        with self._cv:
            at = self._hb_at
        if at is None:
            return False
        if time.monotonic() - at > self._hb_max_age:
            with self._cv:
                if self._hb_at == at:
                    self._hb_at = None
            self._count("heartbeats_dropped")
            return False
        status, answer = self._request("/v1/heartbeat", json.dumps({"strategy": self.strategy}).encode())
        with self._cv:
            if self._hb_at == at:
                self._hb_at = None
        if 200 <= status < 300:
            self._count("heartbeats_sent")
        else:
            self._count("heartbeats_dropped")
            self._error(f"heartbeat refused with HTTP {status}: {answer.get('error')}", None)
        self._note_success()
        return True

    def _deliver_deploy(self, ev: _Event) -> None:
        status, answer = self._request("/v1/params", ev.text().encode("utf-8"))
        if not 200 <= status < 300:
            self._dead_letter([ev], status, answer.get("error"), [answer.get("details") or []])

    def _deliver_expectation(self, ev: _Event) -> None:
        body = {k: v for k, v in ev.body.items() if k != "version"}
        path = "/v1/params/%s/%s/expectation" % (
            urllib.parse.quote(self.strategy, safe=""), urllib.parse.quote(str(ev.body.get("version")), safe=""))
        # The version is unknown although its deploy was sent first: it will never exist.
        status, answer = self._request(path, json.dumps(body, separators=(",", ":")).encode("utf-8"), True)
        if not 200 <= status < 300:
            self._dead_letter([ev], status, answer.get("error"), [answer.get("details") or []])

    def _deliver_trades(self, events) -> None:
        """Sends trades; a refused batch is split by the sidecar's per-item details (or halved when
        it names none) so that only the refused trades are dead-lettered."""
        parts = [[e for e in events if not e.dead]]  # a retried batch skips what is already dead-lettered
        while parts:
            part = parts.pop(0)
            if not part:
                continue
            body = ('{"trades":[' + ",".join(e.text() for e in part) + "]}").encode("utf-8")
            status, answer = self._request("/v1/trades", body)
            if 200 <= status < 300:
                with self._cv:
                    self._counters["accepted"] += int(answer.get("accepted") or 0)
                    self._counters["duplicates"] += int(answer.get("duplicates") or 0)
                continue
            details = [d for d in answer.get("details") or [] if isinstance(d, dict)]
            by_index = {}
            for d in details:
                i = d.get("index")
                if isinstance(i, int) and 0 <= i < len(part):
                    by_index.setdefault(i, []).append(d)
            if by_index and status != 413:
                bad = sorted(by_index)
                # Each record holds its own details; the index in the batch sent means nothing later.
                own = [[{k: v for k, v in d.items() if k != "index"} for d in by_index[i]] for i in bad]
                self._dead_letter([part[i] for i in bad], status, answer.get("error"), own)
                parts.insert(0, [e for i, e in enumerate(part) if i not in by_index])
            elif status == 422 or len(part) == 1:
                # A limit (e.g. too many strategies) refuses every trade of this strategy alike.
                self._dead_letter(part, status, answer.get("error"), [details] * len(part))
            else:
                mid = len(part) // 2
                parts[0:0] = [part[:mid], part[mid:]]

    def _connect(self) -> http.client.HTTPConnection:
        p = self._parts
        if p.scheme == "https":
            ctx = ssl.create_default_context()
            return http.client.HTTPSConnection(p.hostname, p.port, timeout=self._timeout, context=ctx)
        return http.client.HTTPConnection(p.hostname, p.port or 80, timeout=self._timeout)

    def _request(self, path: str, body: bytes, unknown_is_final: bool = False):
        """POSTs body; returns (status, parsed JSON answer) for answers that settle the events.
        Raises _Retry for what may succeed later: no answer, 401, 403, 404, 429, 5xx, ...
        unknown_is_final: a 404 naming a missing thing (not a missing route) settles it too."""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"edgewatch-python/{__version__}"}  # fmt: skip
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                if self._conn is None:
                    self._conn = self._connect()
                self._conn.request("POST", self._base_path + path, body=body, headers=headers)
                resp = self._conn.getresponse()
                raw = resp.read()
                if resp.will_close:
                    self._conn.close()
                    self._conn = None
                break
            except (OSError, http.client.HTTPException) as e:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                # A kept-alive connection the server closed while idle: try once more on a new one.
                if reused and attempt == 1 and not self._stopping:
                    continue
                raise _Retry(f"{path}: no answer: {type(e).__name__}: {e}") from None
        try:
            answer = json.loads(raw)
            if not isinstance(answer, dict):
                raise ValueError
        except ValueError:
            answer = {"error": raw[:300].decode("utf-8", "replace"), "details": []}
        status = resp.status
        if 200 <= status < 300 or status in _FATAL:
            return status, answer
        if status == 404 and unknown_is_final and not str(answer.get("error", "")).startswith("no route"):
            return status, answer
        try:
            retry_after = float(resp.getheader("Retry-After") or 0)
        except ValueError:
            retry_after = 0.0
        raise _Retry(f"{path}: HTTP {status}: {answer.get('error')}", retry_after)
