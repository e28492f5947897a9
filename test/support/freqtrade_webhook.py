"""Sends one webhook message the way Freqtrade 2024.10 sends it (freqtrade/rpc/webhook.py).

The message is built with Python's own types (datetime, float, bool, None and a str Enum
whose str() is its value, like RPCMessageType); each configured value is rendered with
str.format(**msg), and the payload is posted with requests: data=payload for "form",
json=payload for "json", payload["data"] as text/plain for "raw". Credentials in the URL
(http://user:password@host/...) become HTTP Basic, as requests does for Freqtrade.

stdin: {"url", "format", "valuedict", "msg"}; msg values {"$datetime": ISO}, {"$float": x}
and {"$type": name} become datetime, float and the message-type enum.
stdout: {"status", "body", "payload", "client"}.
"""

import json
import sys
from datetime import datetime
from enum import Enum


class RPCMessageType(str, Enum):
    # The values of Freqtrade's enum; str() gives the value, as in Freqtrade.
    EXIT = "exit"
    EXIT_FILL = "exit_fill"
    ENTRY_FILL = "entry_fill"
    STATUS = "status"

    def __str__(self):
        return self.value


def decode(v):
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        if k == "$datetime":
            return datetime.fromisoformat(x)
        if k == "$float":
            return float(x)
        if k == "$type":
            return RPCMessageType(x)
    return v


def main():
    req = json.load(sys.stdin)
    msg = {k: decode(v) for k, v in req["msg"].items()}
    payload = {key: value.format(**msg) for (key, value) in req["valuedict"].items()}
    fmt = req["format"]
    try:
        import requests

        client = "requests"
        if fmt == "form":
            r = requests.post(req["url"], data=payload, timeout=10)
        elif fmt == "json":
            r = requests.post(req["url"], json=payload, timeout=10)
        else:
            r = requests.post(
                req["url"], data=payload["data"], headers={"Content-Type": "text/plain"}, timeout=10
            )
        status, body = r.status_code, r.text
    except ImportError:
        # The same bytes as requests sends: urlencode(doseq=True) and json.dumps.
        import base64
        import urllib.error
        import urllib.parse
        import urllib.request

        client = "urllib"
        parts = urllib.parse.urlsplit(req["url"])
        headers = {}
        if parts.username is not None:
            cred = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode("latin1")).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        if fmt == "form":
            data = urllib.parse.urlencode(payload, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif fmt == "json":
            data = json.dumps(payload, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        else:
            data = payload["data"].encode()
            headers["Content-Type"] = "text/plain"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as r:
                status, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode()
    json.dump({"status": status, "body": body, "payload": payload, "client": client}, sys.stdout)


if __name__ == "__main__":
    main()
