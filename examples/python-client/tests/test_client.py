"""The Lifeline client against a scripted in-process server, with short timings."""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import time
import unittest
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from lifeline.client import JoinError, LifelineClient, Options  # noqa: E402
from lifeline.state import Backoff  # noqa: E402
from wsserver import ServerConn, WSServer  # noqa: E402

WAIT = 3.0
logging.disable(logging.WARNING)  # the client logs refused frames; the tests provoke them


def welcome(**over: Any) -> dict:
    w = {"type": "welcome", "version": 1, "sid": "s1", "memento": "m1", "resumed": False,
         "recovered": False, "ackedSeq": 0, "topics": [], "heartbeatMs": 25000,
         "heartbeatTimeoutMs": 10000, "graceMs": 120000,
         "limits": {"maxFrameBytes": 1048576, "maxTopics": 100}}
    w.update(over)
    return w


class Scripted:
    """Server side: every connection and every frame the client sends, in order."""

    def __init__(self) -> None:
        self.conns: "queue.Queue[ServerConn]" = queue.Queue()
        self.frames: "queue.Queue[tuple[ServerConn, dict]]" = queue.Queue()
        self.conn: Optional[ServerConn] = None
        self.server = WSServer(self._on_connect)

    def _on_connect(self, conn: ServerConn) -> None:
        conn.on_text = lambda text: self.frames.put((conn, json.loads(text)))
        self.conns.put(conn)

    def accept(self) -> ServerConn:
        self.conn = self.conns.get(timeout=WAIT)
        return self.conn

    def next(self, skip: tuple[str, ...] = ("ping", "pong")) -> dict:
        """The next frame from the client, skipping heartbeats by default."""
        while True:
            conn, frame = self.frames.get(timeout=WAIT)
            if frame["type"] not in skip:
                return frame

    def none(self, within: float, skip: tuple[str, ...] = ("ping", "pong")) -> None:
        end = time.monotonic() + within
        while (left := end - time.monotonic()) > 0:
            try:
                _, frame = self.frames.get(timeout=left)
            except queue.Empty:
                return
            if frame["type"] not in skip:
                raise AssertionError(f"unexpected frame {frame}")

    def send(self, frame: Any) -> None:
        assert self.conn is not None
        self.conn.send_text(json.dumps(frame))


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.srv = Scripted()
        self.events: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.client: Optional[LifelineClient] = None

    def tearDown(self) -> None:
        if self.client:
            self.client.dispose()
        self.srv.server.stop()

    def start(self, auth: Any = {"token": "alice"}, **opts: Any) -> LifelineClient:
        self.client = LifelineClient(
            self.srv.server.url("/c1"), auth=auth, on_event=lambda n, p: self.events.put((n, p)),
            options=Options(**opts), backoff=Backoff(initial=0.05, cap=0.2),
        )
        self.client.connect()
        return self.client

    def event(self, name: str, **match: Any) -> dict:
        """The next event called `name` with these members (events in between are skipped)."""
        end = time.monotonic() + WAIT
        seen = []
        while True:
            try:
                n, p = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                self.fail(f"no {name} {match}; saw {seen}")
            seen.append((n, p))
            if n == name and all(p.get(k) == v for k, v in match.items()):
                return p

    def open_session(self, **over: Any) -> dict:
        self.srv.accept()
        hello = self.srv.next()
        self.srv.send(welcome(**over))
        self.event("status", status="open")
        return hello

    # ------------------------------------------------------------------ tests

    def test_first_connect_join_send_ack(self) -> None:
        c = self.start()
        self.event("status", status="connecting")
        hello = self.open_session()
        self.assertEqual(hello["versions"], [1])
        self.assertEqual(hello["attempt"], 0)
        self.assertEqual(hello["auth"], {"token": "alice"})
        self.assertNotIn("resume", hello)
        self.assertEqual(len(hello["cid"]), 16)
        c.join("room:1")
        self.assertEqual(self.srv.next(), {"type": "join", "topic": "room:1"})
        self.srv.send({"type": "joined", "topic": "room:1", "seq": 0, "members": []})
        self.event("joined", topic="room:1")
        c.send({"text": "hi"}, topic="room:1")
        send = self.srv.next()
        self.assertEqual((send["seq"], send["id"], send["topic"]), (1, f"{c.cid}.1", "room:1"))
        self.srv.send([{"type": "ack", "seq": 1}, {"type": "msg", "seq": 1, "topic": "room:1", "data": "x"}])
        self.event("settled", outcome="acked", data={"text": "hi"})
        self.event("message", topic="room:1", data="x")
        self.assertEqual(self.srv.next(), {"type": "ack", "topic": "room:1", "seq": 1})  # after 200 ms

    def test_acks_by_count(self) -> None:
        self.start(ack_every=3, ack_delay=10)
        self.open_session()
        self.srv.send([{"type": "msg", "seq": n, "data": n} for n in (1, 2, 3, 4)])
        self.assertEqual(self.srv.next(), {"type": "ack", "seq": 3})

    def test_duplicates_and_left_topics_are_not_delivered(self) -> None:
        c = self.start()
        self.open_session()
        self.srv.send([{"type": "msg", "seq": 2, "data": "a"}, {"type": "msg", "seq": 2, "data": "a"},
                       {"type": "msg", "seq": 1, "data": "old"}, {"type": "msg", "seq": 3, "data": "b"}])
        self.assertEqual(self.event("message")["data"], "a")
        self.assertEqual(self.event("message")["data"], "b")
        c.leave("t")
        self.assertEqual(self.srv.next(), {"type": "leave", "topic": "t"})
        self.srv.send({"type": "msg", "seq": 9, "topic": "t", "data": "late"})
        self.srv.send({"type": "msg", "seq": 4, "data": "c"})
        self.assertEqual(self.event("message")["data"], "c")

    def test_heartbeat_ping_pong_and_dead_link(self) -> None:
        self.start()
        self.open_session(heartbeatMs=300, heartbeatTimeoutMs=300)
        self.srv.send({"type": "ping", "id": 5})
        self.assertEqual(self.srv.next(skip=()), {"type": "pong", "id": 5})  # LL-BEAT-2
        ping = self.srv.next(skip=())  # idle for heartbeatMs: LL-BEAT-1
        self.assertEqual(ping["type"], "ping")
        self.srv.conn.blackholed = True  # nothing more arrives: dead after 600 ms (LL-BEAT-3)
        t0 = time.monotonic()
        self.srv.accept()
        hello = self.srv.next()
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertEqual(hello["resume"], {"memento": "m1", "seq": 0})
        self.assertEqual(hello["attempt"], 0)  # an immediate first retry: nothing failed yet

    def test_resume_settles_and_resends(self) -> None:  # LL-RESUME-5
        c = self.start()
        self.open_session()
        c.send("a")
        c.send("b")
        self.assertEqual(self.srv.next()["seq"], 1)
        b = self.srv.next()
        self.srv.send({"type": "msg", "seq": 7, "data": "x", "am": "am7"})
        self.event("message")
        self.srv.conn.abort()
        self.event("status", status="waiting")
        c.send("c")  # while offline
        self.srv.accept()
        hello = self.srv.next()
        self.assertEqual(hello["resume"], {"memento": "m1", "seq": 7})
        self.assertEqual(hello["am"], "am7")
        self.srv.send(welcome(memento="m2", resumed=True, recovered=True, ackedSeq=1))
        self.event("recovered", resumed=True, recovered=True)
        self.event("settled", data="a", outcome="acked")
        self.assertEqual(self.srv.next(), b)  # original seq and id
        self.assertEqual(self.srv.next()["seq"], 3)
        self.assertEqual(c.storage()["memento"], "m2")

    def test_new_session_renumbers_and_rejoins(self) -> None:  # LL-RESUME-6, LL-TOPIC-6
        c = self.start()
        self.open_session()
        c.join("room:1")
        self.srv.next()
        self.srv.send({"type": "joined", "topic": "room:1", "seq": 4, "members": []})
        self.srv.send({"type": "msg", "seq": 6, "topic": "room:1", "data": 1})
        self.event("message")
        c.send("a", id="fixed-a")
        self.assertEqual(self.srv.next()["seq"], 1)
        c.join("deny:1")
        self.srv.next()
        self.srv.conn.abort()
        self.srv.accept()
        self.srv.next()
        self.srv.send(welcome(sid="s2", memento="m2", reason="expired"))
        self.event("recovered", resumed=False, recovered=False, reason="expired")
        frames = [self.srv.next() for _ in range(3)]
        self.assertIn({"type": "send", "seq": 1, "id": "fixed-a", "data": "a"}, frames)
        self.assertIn({"type": "join", "topic": "room:1", "from": 6}, frames)
        self.assertIn({"type": "join", "topic": "deny:1"}, frames)
        self.srv.send({"type": "join_error", "topic": "deny:1", "code": 4301, "reason": "no"})
        self.event("join_error", topic="deny:1", code=4301)

    def test_topics_restored_on_resume(self) -> None:  # LL-TOPIC-5
        c = self.start()
        self.open_session()
        c.join("a")
        self.srv.next()
        self.srv.send({"type": "joined", "topic": "a", "seq": 0, "members": []})
        self.event("joined")
        self.srv.conn.abort()
        self.event("status", status="waiting")
        c.join("b")
        self.srv.accept()
        self.srv.next()
        self.srv.send(welcome(memento="m2", resumed=True, recovered=True, topics=["a", "zombie"]))
        frames = [self.srv.next() for _ in range(2)]
        self.assertIn({"type": "join", "topic": "b"}, frames)
        self.assertIn({"type": "leave", "topic": "zombie"}, frames)
        self.srv.none(0.3)

    def test_rejected_send(self) -> None:  # LL-SEND-5
        c = self.start()
        self.open_session()
        c.send({"reject": True})
        self.srv.next()
        self.srv.send({"type": "error", "code": 4300, "reason": "no", "ref": 1})
        self.event("settled", outcome="rejected")

    def test_too_large_send_is_refused_locally(self) -> None:  # LL-SEND-6
        c = self.start()
        self.open_session(limits={"maxFrameBytes": 1024, "maxTopics": 1})
        c.send("x" * 2000)
        self.event("settled", outcome="failed")
        self.srv.none(0.3)

    def test_backoff_code_before_welcome_counts_attempts(self) -> None:  # LL-INTENT-4, LL-HELLO-4
        self.start()
        self.open_session()
        self.srv.conn.abort()
        for attempt in (0, 1, 2):
            self.srv.accept()
            self.assertEqual(self.srv.next()["attempt"], attempt)
            self.srv.send({"type": "bye", "code": 4101, "reason": "busy", "reconnect": True})
            self.srv.conn.close(4101)
            self.event("status", status="waiting")
        self.srv.accept()
        self.assertEqual(self.srv.next()["attempt"], 3)

    def test_retry_after_is_honoured(self) -> None:  # LL-INTENT-3, LL-CLIENT-4
        self.start()
        self.open_session()
        t0 = time.monotonic()
        self.srv.send({"type": "bye", "code": 4200, "reason": "deploy", "reconnect": True, "retryAfterMs": 400, "jitterMs": 100})
        self.srv.accept()
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.assertEqual(self.srv.next()["attempt"], 0)

    def test_fatal_codes_stop_for_good(self) -> None:  # LL-RESUME-8, LL-INTENT-2
        c = self.start()
        self.open_session()
        self.srv.conn.blackholed = True  # the send never gets acked
        c.send("pending")
        time.sleep(0.1)
        self.srv.conn.blackholed = False
        self.srv.send({"type": "bye", "code": 4006, "reason": "replaced", "reconnect": False})
        self.event("settled", outcome="failed", data="pending")  # LL-CLIENT-5
        self.event("status", status="closed")
        self.event("closed", code=4006)
        with self.assertRaises(queue.Empty):
            self.srv.conns.get(timeout=0.5)
        self.assertIsNone(c.storage()["memento"])

    def test_close_code_without_bye_is_fatal_too(self) -> None:
        self.start()
        self.open_session()
        self.srv.conn.close(4005, "kicked")
        self.event("closed", code=4005)

    def test_invalid_frame_is_an_unexpected_drop(self) -> None:  # LL-FRAME-6
        self.start()
        self.open_session()
        self.srv.send({"type": "msg", "seq": 1})  # no data
        self.event("status", status="waiting")
        self.srv.accept()
        hello = self.srv.next()
        self.assertEqual(hello["resume"]["seq"], 0)  # not delivered
        self.assertEqual(hello["attempt"], 0)

    def test_frame_before_welcome_is_a_violation(self) -> None:  # LL-HELLO-2, LL-FRAME-7
        self.start()
        self.srv.accept()
        self.srv.next()
        self.srv.send({"type": "msg", "seq": 1, "data": 1})
        self.event("status", status="waiting")
        self.srv.accept()
        self.assertEqual(self.srv.next()["attempt"], 1)  # no welcome: a failed attempt

    def test_connect_timeout(self) -> None:  # LL-HELLO-3
        self.start(connect_timeout=0.3)
        self.srv.accept()
        self.srv.next()
        self.srv.accept()
        self.assertEqual(self.srv.next()["attempt"], 1)

    def test_close_sends_bye_and_stays_closed(self) -> None:  # LL-INTENT-1, LL-WS-3
        c = self.start()
        self.open_session()
        closes: "queue.Queue[int]" = queue.Queue()
        self.srv.conn.on_close = closes.put
        c.close()
        self.assertEqual(self.srv.next(), {"type": "bye"})
        self.assertEqual(closes.get(timeout=WAIT), 1000)
        self.event("status", status="closed")
        with self.assertRaises(queue.Empty):
            self.srv.conns.get(timeout=0.5)

    def test_join_future_resolves_on_joined_and_fails_on_join_error(self) -> None:  # LL-TOPIC-1
        c = self.start()
        early = c.join("room:1")  # asked before welcome: sent after it
        self.open_session()
        self.assertEqual(self.srv.next(), {"type": "join", "topic": "room:1"})
        self.assertFalse(early.done())
        self.srv.send({"type": "joined", "topic": "room:1", "seq": 3, "recovered": True, "members": []})
        self.assertEqual(early.result(timeout=WAIT), {"topic": "room:1", "recovered": True})
        self.assertEqual(c.join("room:1").result(timeout=WAIT), {"topic": "room:1"})  # already joined
        denied = c.join("deny:1")
        self.srv.next()
        self.srv.send({"type": "join_error", "topic": "deny:1", "code": 4301, "reason": "no"})
        with self.assertRaises(JoinError) as refused:
            denied.result(timeout=WAIT)
        self.assertEqual((refused.exception.code, refused.exception.reason), (4301, "no"))
        stuck = c.join("room:2")
        self.srv.next()
        c.close().result(timeout=WAIT)  # resolves once the bye is written
        with self.assertRaises(JoinError):
            stuck.result(timeout=WAIT)
        with self.assertRaises(JoinError):
            c.join("room:3").result(timeout=WAIT)

    def test_presence_updates_members_after_members_seq(self) -> None:  # LL-PRESENCE-3
        c = self.start()
        self.open_session()
        c.join("t")
        self.srv.next()
        self.srv.send({"type": "joined", "topic": "t", "seq": 1, "membersSeq": 3,
                       "members": [{"sid": "a", "state": "online"}]})
        self.srv.send([
            {"type": "presence", "seq": 2, "topic": "t", "sid": "a", "event": "away"},  # history
            {"type": "presence", "seq": 4, "topic": "t", "sid": "b", "event": "joined"},
            {"type": "presence", "seq": 5, "topic": "t", "sid": "a", "event": "left"},
        ])
        for change in ("away", "joined", "left"):
            self.event("presence", change=change)
        self.assertEqual(c.members("t"), {"b": {"sid": "b", "state": "online"}})


if __name__ == "__main__":
    unittest.main()
