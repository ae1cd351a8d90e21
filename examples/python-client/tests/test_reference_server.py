"""Interop: the Python client against the real reference server (apps/reference-server).

Skipped unless `node` and apps/reference-server/dist/main.js exist (build it with
`pnpm exec turbo run build --filter @lifeline/reference-server...`).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lifeline.client import LifelineClient  # noqa: E402

MAIN = os.path.normpath(os.path.join(HERE, "..", "..", "..", "apps", "reference-server", "dist", "main.js"))
WAIT = 5.0


class ReferenceServer(unittest.TestCase):
    """Against the real reference server: build it first (the repository's test command does)."""

    def setUp(self) -> None:
        if not shutil.which("node") or not os.path.exists(MAIN):
            self.fail(f"the reference server is not built: {MAIN} (run the repository's build first)")
        logging.disable(logging.WARNING)
        self.proc = subprocess.Popen(
            ["node", MAIN, "--port", "0", "--log-level", "info", "--heartbeat-ms", "2000", "--heartbeat-timeout-ms", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.port = 0
        end = time.monotonic() + 15
        while not self.port and time.monotonic() < end:  # the first log lines name the URL
            line = self.proc.stdout.readline()
            if not line:
                break
            for word in line.replace('"', " ").split():
                if word.startswith("http://127.0.0.1:"):
                    self.port = int(word.rsplit(":", 1)[1].split("/")[0])
        if not self.port:
            self.proc.kill()
            self.fail("the reference server did not start")
        # keep reading its log so that a full pipe never blocks the server
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.clients: list[LifelineClient] = []

    def tearDown(self) -> None:
        for c in self.clients:
            c.dispose()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def client(self, name: str) -> tuple[LifelineClient, "queue.Queue[tuple[str, dict]]"]:
        events: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        c = LifelineClient(f"ws://127.0.0.1:{self.port}/lifeline", auth={"name": name},
                           on_event=lambda n, p: events.put((n, p)))
        self.clients.append(c)
        c.connect()
        return c, events

    def wait(self, events: "queue.Queue[tuple[str, dict]]", name: str, **match: Any) -> dict:
        end = time.monotonic() + WAIT
        while True:
            n, p = events.get(timeout=max(0.01, end - time.monotonic()))
            if n == name and all(p.get(k) == v for k, v in match.items()):
                return p

    def test_chat_drop_and_resume(self) -> None:
        alice, ea = self.client("alice")
        bob, eb = self.client("bob")
        self.wait(ea, "status", status="open")
        self.wait(eb, "status", status="open")
        alice.join("room:1")
        self.wait(ea, "joined", topic="room:1")
        bob.join("room:1")
        self.wait(eb, "joined", topic="room:1")
        alice.send({"text": "hello"}, topic="room:1")
        self.wait(ea, "settled", outcome="acked")
        self.assertEqual(self.wait(eb, "message", topic="room:1")["data"]["text"], "hello")

        # the server kills alice's socket without a close frame; she resumes by herself
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/demo/drop?sid={alice.sid}", method="POST")
        self.assertEqual(urllib.request.urlopen(req, timeout=5).status, 204)
        self.wait(eb, "presence", sid=alice.sid, change="away")
        rec = self.wait(ea, "recovered")
        self.assertEqual((rec["resumed"], rec["recovered"]), (True, True))
        self.wait(eb, "presence", sid=alice.sid, change="reconnected")
        alice.send({"text": "back"}, topic="room:1")
        self.assertEqual(self.wait(eb, "message", topic="room:1")["data"]["text"], "back")
        self.wait(ea, "settled", outcome="acked")

        alice.send({"text": ""}, topic="room:1")  # the chat app rejects empty text
        self.wait(ea, "settled", outcome="rejected")

        alice.close()
        self.wait(eb, "presence", sid=alice.sid, change="left")


if __name__ == "__main__":
    unittest.main()
