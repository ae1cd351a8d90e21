"""A Lifeline protocol version 1 client over WebSocket, written from spec/PROTOCOL.md alone.

Threading model: one worker thread per client owns all state. The public methods (`connect`,
`send`, `join`, `leave`, `close`, ...) only post commands to its queue; each connection has one
more thread that dials, then reads messages and posts them to the same queue. Timers (acks,
heartbeats, backoff, connect timeout) are deadlines the worker checks between events. So no state
is shared between threads, and no locks are needed beyond the queue.

Application events go to `on_event(name, payload)`, called on the worker thread:

    status     {"status": "connecting"|"open"|"waiting"|"closed"}
    message    {"topic"?: str, "data": any}             an entry delivered (LL-SEQ-3)
    presence   {"topic", "sid", "change", "meta"?}       a presence entry delivered
    recovered  {"resumed", "recovered", "reason"?, "appMemento"?}   welcome answering a resume
               (appMemento: the value of the session's app memento, LL-APPM-5)
    joined     {"topic", "recovered"?, "appMemento"?} / join_error {"topic", "code", "reason"}
               (appMemento: the topic's app memento the client now has, LL-APPM-7)
    unjoined   {"topic", "code"?, "reason"?}
    settled    {"id", "data", "topic"?, "outcome": "acked"|"rejected"|"dropped"|"failed"}
    error      {"code", "reason"}                        an error frame without ref
    closed     {"code", "reason"}                        stopped for good
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import Future
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .frames import DecodeError, decode_server_message, encode, printable
from .state import AckBatcher, Backoff, Cursors, Outbox, PendingSend, Stream
from .websocket import MAX_MESSAGE_BYTES, ConnectionClosed, WebSocket

log = logging.getLogger("lifeline")

VERSIONS = [1]
EventHandler = Callable[[str, dict], None]


@dataclass
class Options:
    connect_timeout: float = 10.0  # LL-HELLO-3: no welcome in time = a failed attempt
    ack_every: int = 32  # LL-ACK-2
    ack_delay: float = 0.2
    max_pending: int = 1000  # LL-LIMIT-5 / LL-SEND-7 (policy: refuse the new send, "dropped")
    max_attempts: Optional[int] = None  # LL-CLIENT-2: None = unlimited
    max_message: int = MAX_MESSAGE_BYTES  # what we accept from the server (LL-FRAME-4, LL-WS-6)


@dataclass
class Topic:
    """A topic the app wants. state: requested (join not sent on this connection yet),
    joining (join sent), joined (joined received on this client object)."""

    state: str = "requested"
    members: Optional[dict[str, dict]] = None  # sid -> member, from joined.members
    members_seq: int = 0
    presence: bool = True  # False: the topic has no presence, so no member list (LL-PRESENCE-6)


class ProtocolViolation(Exception):
    """A valid frame that is not allowed now (LL-FRAME-7)."""


class JoinError(Exception):
    """A join was refused (join_error), or could not complete because the client closed."""

    def __init__(self, topic: str, code: int, reason: str) -> None:
        super().__init__(f"could not join {topic}: {reason} ({code})")
        self.topic, self.code, self.reason = topic, code, reason


class LifelineClient:
    def __init__(
        self,
        url: str,
        auth: Any = None,
        on_event: Optional[EventHandler] = None,
        storage: Optional[dict] = None,
        options: Optional[Options] = None,
        backoff: Optional[Backoff] = None,
    ) -> None:
        self.url = url
        self._auth = auth  # a value, or a callable asked afresh for every attempt (LL-AUTH-4)
        self._on_event = on_event or (lambda name, payload: None)
        self.opts = options or Options()
        self._backoff = backoff or Backoff()
        self.cid = secrets.token_hex(8)  # LL-RESUME-8: 64 random bits, never stored
        self._ids = itertools.count(1)  # message ids: f"{cid}.{n}" (thread-safe in CPython)

        # What a stored session holds (the `storage` capability of the driver): memento, app
        # memento and cursors. Topics with a cursor count as wanted, like after a page reload.
        storage = storage or {}
        self._memento: Optional[str] = storage.get("memento")
        self._am: Optional[str] = storage.get("am")
        self._amv: Any = storage.get("amv")  # its readable value (LL-APPM-5)
        self._topic_amv: dict[str, Any] = dict(storage.get("topicMementos") or {})  # LL-APPM-7
        self._cursors = Cursors(storage.get("direct", 0), storage.get("topics"), storage.get("epochs"))
        self._topics: dict[str, Topic] = {t: Topic() for t in self._cursors.topics}
        self._leaving: set[str] = set()
        self._join_waiters: dict[str, list[Future]] = {}  # join() futures, settled on joined / join_error

        self._outbox = Outbox(max_items=self.opts.max_pending)
        self._acks = AckBatcher(self.opts.ack_every, self.opts.ack_delay)
        self.status = "idle"
        self.sid: Optional[str] = None
        self.attempt = 0  # failed attempts since the last open connection (LL-HELLO-4)
        self.connections = 0  # connections opened so far (LL-INTENT-6: is this a reconnection?)
        self._last_code: Optional[int] = None

        # the current connection
        self._conn = 0  # id of the current connection; events of older ones are ignored
        self._lingering: Optional[WebSocket] = None  # after our bye, until the server closes it
        self._ws: Optional[WebSocket] = None
        self._phase: Optional[str] = None  # dialing | hello | open
        self._asked_resume = False
        self._hb = 0.0  # heartbeatMs / 1000
        self._hb_timeout = 0.0
        self._max_frame = MAX_MESSAGE_BYTES  # welcome.limits.maxFrameBytes
        self._last_sent = 0.0
        self._ping_id = 0
        self._deadlines: dict[str, float] = {}  # retry, connect, ack

        self._q: "queue.Queue[tuple]" = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="lifeline-client", daemon=True)
        self._worker.start()

    # ================================================================ public API (any thread)

    def connect(self) -> None:
        self._q.put(("connect",))

    def send(self, data: Any, topic: Optional[str] = None, id: Optional[str] = None) -> str:
        """Queue an application message; returns its id. Its outcome arrives as `settled`."""
        if topic is not None and not printable(topic, 1, 200):
            raise ValueError("a topic is 1-200 printable ASCII characters")
        if id is None:
            id = f"{self.cid}.{next(self._ids)}"  # LL-SEND-1: random prefix + counter
        elif not printable(id, 1, 128):
            raise ValueError("an id is 1-128 printable ASCII characters")
        encode(data)  # raise here, in the caller, if data is not JSON
        self._q.put(("send", PendingSend(id, data, topic)))
        return id

    def join(self, topic: str) -> Future:
        """Join a topic (at any time; rejoined after reconnects). The future resolves with the
        `joined` payload once the server confirms, so `join(t).result()` then `send(..., topic=t)`
        works; it fails with JoinError when refused or when the client closes first."""
        if not printable(topic, 1, 200):
            raise ValueError("a topic is 1-200 printable ASCII characters")
        done: Future = Future()
        self._q.put(("join", topic, done))
        return done

    def leave(self, topic: str) -> None:
        self._q.put(("leave", topic))

    def close(self, reason: Optional[str] = None) -> Future:
        """Close deliberately (LL-INTENT-1): bye when open, no reconnection, pending sends failed.
        The future resolves once the bye is written: wait on it before the program exits, since the
        client's threads are daemons and die with it."""
        done: Future = Future()
        self._q.put(("close", reason, done))
        return done

    def dispose(self) -> None:
        """Stop the worker without any protocol action (tests, driver shutdown)."""
        self._q.put(("dispose",))

    def call(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run `fn` on the worker thread and return its result (a consistent read of state)."""
        box: "queue.Queue[Any]" = queue.Queue()
        self._q.put(("call", fn, box))
        return box.get(timeout=timeout)

    def storage(self) -> dict:
        """A copy of what a browser would keep in storage for this session."""
        return self.call(
            lambda: {
                "memento": self._memento,
                "am": self._am,
                "amv": self._amv,
                "topicMementos": dict(self._topic_amv),
                "direct": self._cursors.direct,
                "topics": dict(self._cursors.topics),
                "epochs": dict(self._cursors.epochs),
            }
        )

    def pending_count(self) -> int:
        """Sends not yet settled (LL-CLIENT-5: a "3 pending" badge)."""
        return self.call(lambda: len(self._outbox))

    def app_memento(self, topic: Optional[str] = None) -> Any:
        """The app memento's value: the session's (no topic, LL-APPM-5) or a topic's (LL-APPM-7)."""
        return self.call(lambda: self._amv if topic is None else self._topic_amv.get(topic))

    def members(self, topic: str) -> Optional[dict[str, dict]]:
        """The topic's members; None when not joined, or when the topic has no presence (LL-PRESENCE-6)."""

        def read() -> Optional[dict[str, dict]]:
            st = self._topics.get(topic)
            return None if st is None or not st.presence else dict(st.members or {})

        return self.call(read)

    @property
    def is_reconnection(self) -> bool:
        return self.connections > 1  # LL-INTENT-6

    # ================================================================ worker loop

    def _run(self) -> None:
        while True:
            timeout = None
            due = self._next_deadline()
            if due is not None:
                timeout = max(0.0, due - time.monotonic())
            try:
                event = self._q.get(timeout=timeout)
            except queue.Empty:
                event = None
            try:
                if event is not None:
                    if event[0] == "dispose":
                        self._abandon()
                        self._close_lingering()
                        return
                    self._handle(event)
                self._run_timers()
            except Exception:  # a bug must not kill the worker silently
                log.exception("lifeline client worker error")

    def _emit(self, name: str, **payload: Any) -> None:
        try:
            self._on_event(name, payload)
        except Exception:
            log.exception("event handler failed for %s", name)

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._emit("status", status=status)

    def _handle(self, event: tuple) -> None:
        kind = event[0]
        if kind == "call":
            event[2].put(event[1]())
        elif kind == "connect":
            if self.status in ("idle", "closed"):
                self.attempt = 0
                self._dial()
        elif kind == "send":
            self._cmd_send(event[1])
        elif kind == "join":
            self._cmd_join(event[1], event[2])
        elif kind == "leave":
            self._cmd_leave(event[1])
        elif kind == "close":
            self._cmd_close(event[1])
            event[2].set_result(None)
        elif event[1] != self._conn:
            # an event of a connection we abandoned: drop it (and its socket)
            if kind == "opened":
                event[2].abort()
        elif kind == "opened":
            self._on_opened(event[2])
        elif kind == "message":
            self._on_message(event[2])
        elif kind == "closed":
            self._on_closed(event[2], event[3])

    # ================================================================ connections

    def _dial(self) -> None:
        self._conn += 1
        conn = self._conn
        self._phase = "dialing"
        self._deadlines.pop("retry", None)
        self._deadlines["connect"] = time.monotonic() + self.opts.connect_timeout
        self._set_status("connecting")
        threading.Thread(target=self._io, args=(conn,), name=f"lifeline-io-{conn}", daemon=True).start()

    def _io(self, conn: int) -> None:
        """Connection thread: dial, then read until the connection ends."""
        try:
            ws = WebSocket.connect(self.url, self.opts.connect_timeout, self.opts.max_message)
        except Exception as e:  # refused, DNS, TLS, handshake: a failed attempt
            self._q.put(("closed", conn, 1006, f"dial failed: {e}"))
            return
        self._q.put(("opened", conn, ws))
        while True:
            try:
                text = ws.recv()
            except ConnectionClosed as c:
                self._q.put(("closed", conn, c.code, c.reason))
                return
            self._q.put(("message", conn, text))

    def _on_opened(self, ws: WebSocket) -> None:
        self._ws = ws
        self._phase = "hello"
        hello: dict[str, Any] = {"type": "hello", "versions": VERSIONS, "cid": self.cid, "attempt": self.attempt}
        auth = self._auth() if callable(self._auth) else self._auth
        if auth is not None:
            hello["auth"] = auth  # LL-AUTH-3: credentials only here
        self._asked_resume = self._memento is not None
        if self._memento is not None:  # LL-HELLO-5, LL-RESUME-1
            resume: dict[str, Any] = {"memento": self._memento, "seq": self._cursors.direct}
            if self._cursors.topics:
                resume["topics"] = dict(self._cursors.topics)
                epochs = {t: e for t, e in self._cursors.epochs.items() if t in self._cursors.topics}
                if epochs:
                    resume["epochs"] = epochs  # LL-EPOCH-2: each cursor names its incarnation
            hello["resume"] = resume
        if self._am is not None:
            hello["am"] = self._am
        self._write(hello)

    def _write(self, frame: dict[str, Any]) -> None:
        if self._ws is None:
            return
        try:
            self._ws.send_text(encode(frame))
            self._last_sent = time.monotonic()
        except (ConnectionClosed, OSError) as e:
            log.debug("write failed (%s); the reader will report the close", e)

    def _close_lingering(self) -> None:
        ws, self._lingering = self._lingering, None
        if ws is not None:
            try:
                ws.close(1000)
            except Exception:  # already closed by the server: what we waited for
                pass

    def _abandon(self, code: int = 1000, graceful: bool = False) -> None:
        """Forget the current connection: later events of it are ignored."""
        ws, self._ws = self._ws, None
        self._conn += 1
        self._phase = None
        self._acks.clear()
        for name in ("connect", "ack"):
            self._deadlines.pop(name, None)
        if ws is not None:
            ws.close(code) if graceful else ws.abort()

    # ================================================================ incoming frames

    def _on_message(self, text: str) -> None:
        try:
            frames = decode_server_message(text, self.opts.max_message)
        except DecodeError as e:
            # LL-FRAME-6: close without processing, and reconnect as after any drop
            log.warning("refused a server message (%s)", e)
            self._drop_link(4000 if e.code == 4000 else 4002, str(e))
            return
        for frame in frames:  # a batch is handled in order, as if frame by frame (LL-WS-2)
            if self._phase not in ("hello", "open"):
                return  # an earlier frame of the batch ended the connection
            try:
                self._on_frame(frame)
            except ProtocolViolation as e:
                log.warning("protocol violation by the server: %s", e)
                self._drop_link(4000, str(e))
                return

    def _drop_link(self, code: int, reason: str) -> None:
        """We end the link ourselves: no bye, and the session is not ended (LL-FRAME-6)."""
        was_open = self._phase == "open"
        if self._ws is not None:
            self._ws.close(code, reason[:100])
        self._ws = None
        self._after_close(None, was_open, None)

    def _on_frame(self, f: dict[str, Any]) -> None:
        t = f["type"]
        if self._phase == "hello":  # LL-HELLO-2: welcome or bye, nothing else
            if t == "welcome":
                return self._on_welcome(f)
            if t == "bye":
                return self._on_bye(f)
            raise ProtocolViolation(f"{t} before welcome")
        if t == "msg":
            self._deliver(f.get("topic"), f)
        elif t == "presence":
            self._deliver(f["topic"], f)
        elif t == "ack":
            for p in self._outbox.acked(f["seq"]):
                self._settle(p, "acked")
        elif t == "error":
            p = self._outbox.rejected(f["ref"]) if "ref" in f else None
            if p is not None:
                self._settle(p, "rejected", code=f["code"], reason=f["reason"])  # LL-SEND-5
            else:
                self._emit("error", code=f["code"], reason=f["reason"])
        elif t == "joined":
            self._on_joined(f)
        elif t == "join_error":
            topic = f["topic"]
            self._topics.pop(topic, None)
            self._cursors.forget(topic)
            self._topic_amv.pop(topic, None)
            self._emit("join_error", topic=topic, code=f["code"], reason=f["reason"])
            for waiter in self._join_waiters.pop(topic, []):
                waiter.set_exception(JoinError(topic, f["code"], f["reason"]))
        elif t == "unjoined":
            topic = f["topic"]
            self._topics.pop(topic, None)
            self._cursors.forget(topic)
            self._topic_amv.pop(topic, None)
            self._leaving.discard(topic)
            extra = {k: f[k] for k in ("code", "reason") if k in f}
            self._emit("unjoined", topic=topic, **extra)
        elif t == "memento":
            self._memento = f["memento"]  # LL-MEMENTO-1, LL-MEMENTO-6
        elif t == "ping":
            self._write({"type": "pong", **({"id": f["id"]} if "id" in f else {})})  # LL-BEAT-2
        elif t == "pong":
            pass  # any frame received already counts as life (LL-BEAT-3)
        elif t == "bye":
            self._on_bye(f)
        elif t == "welcome":
            raise ProtocolViolation("a second welcome")

    def _on_welcome(self, w: dict[str, Any]) -> None:
        if w["version"] not in VERSIONS:
            raise ProtocolViolation(f"welcome.version {w['version']} was not offered")
        self._phase = "open"
        self._deadlines.pop("connect", None)
        self.attempt = 0
        self.connections += 1
        self.sid = w["sid"]
        self._memento = w["memento"]
        if "am" in w:
            self._am, self._amv = w["am"], w.get("amv")  # LL-APPM-2, LL-APPM-5
        self._hb = w["heartbeatMs"] / 1000
        self._hb_timeout = w["heartbeatTimeoutMs"] / 1000
        self._max_frame = w["limits"]["maxFrameBytes"]
        # LL-RESUME-12: a stream that did not recover continues where the server says, even lower.
        lost = w.get("lost", {})
        if "seq" in lost:
            self._cursors.direct = lost["seq"]
        for topic, cursor in lost.get("topics", {}).items():
            self._cursors.place(topic, cursor["seq"], cursor["epoch"])

        if self._asked_resume:  # LL-RESUME-7: tell the app before any entry is delivered
            info: dict[str, Any] = {"resumed": w["resumed"], "recovered": w["recovered"]}
            if "reason" in w:
                info["reason"] = w["reason"]
            if self._amv is not None:
                info["appMemento"] = self._amv  # LL-APPM-3: the value, not the token
            if not w["recovered"]:  # LL-RESUME-7: name the streams that lost entries
                info["direct"] = not w["resumed"] or "seq" in lost
                info["topics"] = sorted(lost.get("topics", {}))
            self._emit("recovered", **info)
        self._set_status("open")

        server_topics = set(w["topics"])
        if w["resumed"]:
            # LL-RESUME-5: settle what the server processed, resend the rest as they were
            settled, resend = self._outbox.resumed(w["ackedSeq"], w.get("receivedSeq", w["ackedSeq"]))
            for p in settled:
                self._settle(p, "acked")
            for p in resend:
                self._write(p.frame())
            # LL-TOPIC-5: the server restored its topics; join what is missing, leave the unwanted
            for topic, st in self._topics.items():
                if topic not in server_topics:
                    self._send_join(topic, self._cursors.topics.get(topic))
                elif st.members is None:
                    self._send_join(topic, None)  # no member list yet: LL-TOPIC-3 answers with it
            self._leaving &= server_topics
            for topic in server_topics - set(self._topics):
                self._leaving.add(topic)
            for topic in self._leaving:
                self._write({"type": "leave", "topic": topic})
        else:
            # LL-RESUME-6: a new session. Direct stream from 0, sends renumbered from 1.
            self._cursors.direct = 0
            self._outbox.new_session()
            self._leaving.clear()
            # LL-TOPIC-6: join again every topic that was joined or asked for, from its cursor
            for topic in self._topics:
                self._send_join(topic, self._cursors.topics.get(topic))
        self._flush_sends()

    def _send_join(self, topic: str, from_seq: Optional[int]) -> None:
        st = self._topics.setdefault(topic, Topic())
        st.state = "joining"
        st.members = None
        frame: dict[str, Any] = {"type": "join", "topic": topic}
        if from_seq is not None:
            frame["from"] = from_seq
            epoch = self._cursors.epochs.get(topic)
            if epoch is not None:
                frame["epoch"] = epoch  # LL-EPOCH-2: never read against another incarnation
        self._write(frame)

    def _on_joined(self, f: dict[str, Any]) -> None:
        topic = f["topic"]
        if topic in self._leaving or topic not in self._topics:
            return  # the app left meanwhile; our leave is on its way
        st = self._topics[topic]
        st.state = "joined"
        st.members = {m["sid"]: m for m in f["members"]}
        st.members_seq = f.get("membersSeq", f["seq"])  # LL-PRESENCE-3
        st.presence = f.get("presence", True) is not False  # LL-PRESENCE-6
        # LL-TOPIC-2, LL-EPOCH-2: even when below the cursor we had, with its incarnation
        self._cursors.place(topic, f["seq"], f.get("epoch"))
        if "amv" in f:
            self._topic_amv[topic] = f["amv"]  # LL-APPM-8: as of joined.seq
        extra: dict[str, Any] = {"recovered": f["recovered"]} if "recovered" in f else {}
        if topic in self._topic_amv:
            extra["appMemento"] = self._topic_amv[topic]
        self._emit("joined", topic=topic, **extra)
        for waiter in self._join_waiters.pop(topic, []):
            waiter.set_result({"topic": topic, **extra})

    def _deliver(self, topic: Stream, f: dict[str, Any]) -> None:
        if topic is not None and topic in self._leaving:
            return  # LL-TOPIC-4: nothing of a topic we asked to leave
        if not self._cursors.accept(topic, f["seq"]):
            return  # LL-SEQ-3: a duplicate (replay boundary), dropped without delivery
        if f["type"] == "msg":
            self._emit("message", **({"topic": topic} if topic is not None else {}), data=f["data"])
            if topic is None and "am" in f:
                self._am, self._amv = f["am"], f.get("amv")  # LL-APPM-2: stored once delivered
            elif topic is not None and "amv" in f:
                self._topic_amv[topic] = f["amv"]  # LL-APPM-7: a topic's, once delivered
        else:
            st = self._topics.get(topic)  # type: ignore[arg-type]
            if st and st.members is not None and f["seq"] > st.members_seq:  # LL-PRESENCE-3
                if f["event"] == "left":
                    st.members.pop(f["sid"], None)
                else:
                    state = "away" if f["event"] == "away" else "online"
                    member = {"sid": f["sid"], "state": state}
                    if "meta" in f:
                        member["meta"] = f["meta"]
                    st.members[f["sid"]] = member
            extra = {"meta": f["meta"]} if "meta" in f else {}
            self._emit("presence", topic=topic, sid=f["sid"], change=f["event"], **extra)
        # LL-ACK-1: ack only after the handler returned; batched (LL-ACK-2)
        if self._acks.delivered(topic, f["seq"]):
            self._send_acks(self._acks.take(topic))
        elif "ack" not in self._deadlines:
            # LL-ACK-2: the delay, and in any case well before the heartbeat interval ends
            delay = min(self._acks.delay, self._hb / 2) if self._hb > 0 else self._acks.delay
            self._deadlines["ack"] = time.monotonic() + delay

    def _send_acks(self, acks: list[tuple[Stream, int]]) -> None:
        for stream, seq in acks:
            self._write({"type": "ack", "seq": seq} if stream is None else {"type": "ack", "topic": stream, "seq": seq})

    # ================================================================ closes and reconnection

    def _on_bye(self, f: dict[str, Any]) -> None:
        was_open = self._phase == "open"
        if self._ws is not None:
            self._ws.close(1000)  # the server closes with the bye code; we answer
        self._ws = None
        self._after_close(f["code"], was_open, f, reason=f["reason"])

    def _on_closed(self, code: int, reason: str) -> None:
        was_open = self._phase == "open"
        self._ws = None
        self._after_close(code, was_open, None, reason=reason)

    def _after_close(self, code: Optional[int], was_open: bool, bye: Optional[dict], reason: str = "") -> None:
        """LL-INTENT-4: the code decides. 4000-4099 fatal; 4100-4199 backoff; 4200-4299 reconnect
        at once or after retryAfterMs; anything else (or none) is an unexpected drop."""
        self._abandon()
        self._last_code = code
        now_failed = not was_open  # a connection that never got welcome is a failed attempt
        if (code is not None and 4000 <= code <= 4099) or (bye is not None and not bye["reconnect"]):
            self._finish(code if code is not None else 1006, reason)  # LL-INTENT-2
            return
        if now_failed:
            self.attempt += 1
        if bye is not None and ("retryAfterMs" in bye or "jitterMs" in bye):
            # LL-INTENT-3 / LL-CLIENT-4: the server's delay wins over the backoff
            delay = bye.get("retryAfterMs", 0) / 1000 + self._backoff.rng.uniform(0, bye.get("jitterMs", 0) / 1000)
        elif code is not None and 4100 <= code <= 4199:
            delay = self._backoff.delay(max(self.attempt - 1, 0))
        elif was_open:
            delay = 0.0  # LL-CLIENT-1: the first attempt after a drop is immediate
        else:
            delay = self._backoff.delay(max(self.attempt - 1, 0))
        if self.opts.max_attempts is not None and self.attempt >= self.opts.max_attempts:
            self._finish(code if code is not None else 1006, "too many attempts")  # LL-CLIENT-2
            return
        log.info("connection ended (code %s); next attempt in %.3f s", code, delay)
        self._set_status("waiting")
        self._deadlines["retry"] = time.monotonic() + delay

    def _finish(self, code: int, reason: str = "") -> None:
        """Stop for good: no reconnection, every pending send failed (LL-INTENT-1/2)."""
        self._abandon()
        self._deadlines.clear()
        if code in (1000, 4005, 4006, 4007):
            # The session is over (closed, kicked, ended) or belongs to another holder (4006,
            # LL-RESUME-8): never resume it again. A later connect() starts a new session.
            self._memento = None
            self._cursors.direct = 0
        for p in self._outbox.drain():
            self._settle(p, "failed")
        waiters, self._join_waiters = self._join_waiters, {}
        for topic, futures in waiters.items():
            for waiter in futures:
                waiter.set_exception(JoinError(topic, code, reason or "the client closed"))
        self._set_status("closed")
        self._emit("closed", code=code, reason=reason)

    # ================================================================ app commands

    def _cmd_send(self, p: PendingSend) -> None:
        if self.status == "closed":
            return self._settle(p, "failed")
        probe = dict(p.frame(), seq=2**53 - 1)  # the largest the frame can get
        if len(encode(probe).encode("utf-8")) > self._max_frame:
            return self._settle(p, "failed", reason="frame too large")  # LL-SEND-6: refused locally
        if not self._outbox.add(p):
            return self._settle(p, "dropped", reason="outbox full")  # LL-SEND-7: refuse the newest
        if self._phase == "open":
            self._flush_sends()

    def _flush_sends(self) -> None:
        for p in self._outbox.unsent():
            self._write(p.frame())

    def _cmd_join(self, topic: str, done: Optional[Future] = None) -> None:
        if done is not None:
            if self.status == "closed":
                done.set_exception(JoinError(topic, 1000, "the client is closed"))
                return
            if self._topics.get(topic, Topic()).state == "joined":
                done.set_result({"topic": topic})  # LL-TOPIC-3: already joined
                return
            self._join_waiters.setdefault(topic, []).append(done)
        self._leaving.discard(topic)
        st = self._topics.setdefault(topic, Topic())
        if self._phase == "open":
            self._send_join(topic, None)
        else:
            st.state = "requested"  # sent after welcome (LL-HELLO-1)

    def _cmd_leave(self, topic: str) -> None:
        for waiter in self._join_waiters.pop(topic, []):
            waiter.set_exception(JoinError(topic, 0, "left before the join completed"))
        self._topics.pop(topic, None)
        self._cursors.forget(topic)
        self._topic_amv.pop(topic, None)
        if self._phase == "open":
            self._leaving.add(topic)
            self._write({"type": "leave", "topic": topic})

    def _cmd_close(self, reason: Optional[str]) -> None:
        if self.status == "closed":
            return
        lingering = None
        if self._phase == "open":
            self._write({"type": "bye", **({"reason": reason} if reason else {})})  # LL-INTENT-1
            # LL-INTENT-1, LL-WS-3: the server answers bye 4007 and closes; we close with 1000 only
            # if it has not within a second. Its answer is not read: the session is over.
            lingering, self._ws = self._ws, None
        self._finish(1000, reason or "closed by the application")
        if lingering is not None:
            self._lingering = lingering
            self._deadlines["linger"] = time.monotonic() + 1.0

    def _settle(self, p: PendingSend, outcome: str, **extra: Any) -> None:
        payload: dict[str, Any] = {"id": p.id, "data": p.data, "outcome": outcome, **extra}
        if p.topic is not None:
            payload["topic"] = p.topic
        self._emit("settled", **payload)

    # ================================================================ timers

    def _next_deadline(self) -> Optional[float]:
        times = list(self._deadlines.values())
        if self._phase == "open" and self._hb > 0 and self._ws is not None:
            times.append(self._last_sent + self._hb)  # LL-BEAT-1
            times.append(self._ws.last_rx + self._hb + self._hb_timeout)  # LL-BEAT-3
        return min(times) if times else None

    def _run_timers(self) -> None:
        now = time.monotonic()
        due = [name for name, t in self._deadlines.items() if t <= now]
        for name in due:
            self._deadlines.pop(name, None)
            if name == "retry":
                self._dial()
            elif name == "connect":  # LL-HELLO-3: no welcome in time
                log.info("connect timeout")
                self._after_close(None, False, None, reason="connect timeout")
            elif name == "ack":
                self._send_acks(self._acks.take())
            elif name == "linger":
                self._close_lingering()
        if self._phase == "open" and self._hb > 0 and self._ws is not None:
            if now >= self._ws.last_rx + self._hb + self._hb_timeout:
                log.info("heartbeat timeout: the link is dead")  # LL-BEAT-3
                self._drop_link(1000, "heartbeat timeout")
            elif now >= self._last_sent + self._hb:
                self._ping_id += 1
                self._write({"type": "ping", "id": self._ping_id})
