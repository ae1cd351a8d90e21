#!/usr/bin/env python3
"""Conformance driver for the Python Lifeline client (spec/conformance.md, "The driver protocol").

Reads one JSON command per line on stdin, writes one JSON event per line on stdout (flushed), logs
to stderr. Runs several clients at once, keyed by the command's `client`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lifeline.client import LifelineClient  # noqa: E402

NAME = "lifeline-python-example 0.1"
_out_lock = threading.Lock()
log = logging.getLogger("driver")


def write(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def make_handler(name: str):
    """Translate client events into driver events (spec/conformance.md, Events)."""

    def on_event(event: str, p: dict[str, Any]) -> None:
        out: dict[str, Any] = {"event": event, "client": name}
        if event == "settled":
            out.update({"data": p["data"], "outcome": p["outcome"], "id": p["id"]})
            if "topic" in p:
                out["topic"] = p["topic"]
        elif event == "closed":
            out.update({"code": p["code"], "reason": p.get("reason", "")})
        else:
            out.update(p)
        write(out)

    return on_event


class Driver:
    def __init__(self) -> None:
        self.clients: dict[str, LifelineClient] = {}

    def handle(self, cmd: dict[str, Any]) -> bool:
        """Run one command; False means exit."""
        kind = cmd.get("cmd")
        if kind == "exit":
            return False
        name = cmd.get("client")
        if kind == "connect":
            storage = None
            if cmd.get("storageOf"):
                source = self.clients.get(cmd["storageOf"])
                storage = source.storage() if source else None
            old = self.clients.pop(name, None)
            if old is not None:  # a new trace reuses the actor name: drop the old client quietly
                old.dispose()
            client = LifelineClient(cmd["url"], auth=cmd.get("auth"), on_event=make_handler(name), storage=storage)
            self.clients[name] = client
            client.connect()
            return True
        client = self.clients.get(name)
        if client is None:
            log.warning("no client %r for %s", name, kind)
            return True
        if kind == "send":
            client.send(cmd.get("data"), topic=cmd.get("topic"), id=cmd.get("id"))
        elif kind == "join":
            client.join(cmd["topic"])
        elif kind == "leave":
            client.leave(cmd["topic"])
        elif kind == "close":
            client.close()
        else:
            log.warning("unknown command %r", kind)
        return True

    def shutdown(self) -> None:
        for client in self.clients.values():
            client.close()
        time.sleep(0.1)  # let the byes go out
        for client in self.clients.values():
            client.dispose()


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("LIFELINE_LOG", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    driver = Driver()
    write({"event": "ready", "name": NAME, "capabilities": ["storage"]})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            if not driver.handle(cmd):
                break
        except Exception:
            log.exception("command failed: %s", line)
    driver.shutdown()


if __name__ == "__main__":
    main()
