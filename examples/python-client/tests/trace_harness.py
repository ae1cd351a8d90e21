#!/usr/bin/env python3
"""A small stand-in for the conformance client suite, written from spec/conformance.md and
spec/vectors/README.md: it plays the server side of spec/vectors/traces/*.json against any driver
(spec/conformance.md, "The driver protocol") over real WebSockets, on real time.

    python3 tests/trace_harness.py --traces first-connect,kick -- python3 driver.py

It implements the matching rules (queues per client/type/topic, cumulative acks, captures,
`$absent`/`$any`, unordered welcome.topics / joined.members, fill-ins of welcome/joined/bye) and the
faults (`reset`, `client_loses`, `blackhole`). It is a test tool, not the official suite.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from wsserver import ServerConn, WSServer  # noqa: E402

TRACES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "spec", "vectors", "traces"))
CAPTURE = re.compile(r"^\$[a-z0-9_$]+$")
MISSING = object()
UNORDERED = {("welcome", "topics"), ("joined", "members")}
END_CHECK = {"msg", "presence", "welcome", "joined", "join_error", "unjoined", "error", "bye"}


class TraceFailure(Exception):
    pass


def match(pattern: Any, value: Any, caps: dict[str, Any], ftype: str = "", key: str = "") -> bool:
    if isinstance(pattern, str) and pattern.startswith("$"):
        if pattern == "$any":
            return value is not MISSING
        if pattern == "$absent":
            return value is MISSING
        if CAPTURE.match(pattern):
            if value is MISSING:
                return False
            if pattern in caps:
                return caps[pattern] == value
            caps[pattern] = value
            return True
    if value is MISSING:
        return False
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(match(p, value.get(k, MISSING), caps, ftype, k) for k, p in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(value, list) or len(pattern) != len(value):
            return False
        if (ftype, key) in UNORDERED:
            for perm in itertools.permutations(value):
                trial = dict(caps)
                if all(match(p, v, trial) for p, v in zip(pattern, perm)):
                    caps.update(trial)
                    return True
            return False
        return all(match(p, v, caps) for p, v in zip(pattern, value))
    if isinstance(pattern, bool) or isinstance(value, bool):
        return type(pattern) is type(value) and pattern == value
    return pattern == value


def try_match(pattern: Any, value: Any, caps: dict[str, Any]) -> bool:
    trial = dict(caps)
    ftype = value.get("type", "") if isinstance(value, dict) else ""
    if match(pattern, value, trial, ftype):
        caps.clear()
        caps.update(trial)
        return True
    return False


class Harness:
    def __init__(self, trace: dict, driver: list[str], timeout: float = 2.0, verbose: bool = False) -> None:
        self.trace = trace
        self.driver_cmd = driver
        self.timeout = timeout
        self.verbose = verbose
        self.caps: dict[str, Any] = {}
        self.fresh = itertools.count(1)
        self.cond = threading.Condition()
        self.frames: dict[tuple, collections.deque] = collections.defaultdict(collections.deque)
        self.events: dict[tuple, collections.deque] = collections.defaultdict(collections.deque)
        self.conns: dict[str, ServerConn] = {}
        self.log: list[str] = []
        s = trace.get("server", {})
        self.hb = s.get("heartbeatMs", 25000)
        self.hbt = s.get("heartbeatTimeoutMs", 10000)
        self.grace = s.get("graceMs", 120000)
        self.max_topics = s.get("maxTopics", 100)

    # -------------------------------------------------------------- server side

    def on_connect(self, conn: ServerConn) -> None:
        actor = conn.path.strip("/")
        with self.cond:
            self.conns[actor] = conn
        conn.on_text = lambda text: self.on_c2s(actor, conn, text)

    def on_c2s(self, actor: str, conn: ServerConn, text: str) -> None:
        value = json.loads(text)
        for frame in value if isinstance(value, list) else [value]:
            self.note(f"{actor} -> {json.dumps(frame)}")
            if frame.get("type") == "ping":  # answered at once (LL-BEAT-2)
                conn.send_text(json.dumps({"type": "pong", **({"id": frame["id"]} if "id" in frame else {})}))
            with self.cond:
                self.frames[(actor, frame.get("type"), frame.get("topic"))].append(frame)
                self.cond.notify_all()

    def build(self, pattern: Any) -> Any:
        if isinstance(pattern, dict):
            return {k: self.build(v) for k, v in pattern.items() if v != "$absent"}
        if isinstance(pattern, list):
            return [self.build(v) for v in pattern]
        if isinstance(pattern, str) and CAPTURE.match(pattern) and pattern not in ("$any", "$absent"):
            if pattern not in self.caps:
                self.caps[pattern] = f"{pattern[1:]}-{next(self.fresh)}"
            return self.caps[pattern]
        return pattern

    def s2c(self, actor: str, pattern: dict) -> None:
        frame = self.build(pattern)
        t = frame["type"]
        if t == "welcome":
            defaults = {"version": 1, "ackedSeq": 0, "topics": [], "heartbeatMs": self.hb,
                        "heartbeatTimeoutMs": self.hbt, "graceMs": self.grace,
                        "limits": {"maxFrameBytes": 1048576, "maxTopics": self.max_topics}}
            frame = {**defaults, **frame}
        elif t == "joined":
            frame.setdefault("members", [])
        elif t == "bye":
            frame.setdefault("reason", "")
        conn = self.conns.get(actor)
        if conn is None:
            raise TraceFailure(f"no connection of {actor} to send {t} on")
        self.note(f"{actor} <- {json.dumps(frame)}")
        conn.send_text(json.dumps(frame))
        if t == "bye":  # LL-INTENT-5 / LL-WS-3: close with the bye code
            conn.close(frame["code"])

    # -------------------------------------------------------------- driver side

    def read_events(self, stream) -> None:
        for line in stream:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self.note(f"event {line.strip()}")
            with self.cond:
                self.events[(ev.get("client"), ev.get("event"))].append(ev)
                self.cond.notify_all()

    def command(self, cmd: dict) -> None:
        self.note(f"cmd {json.dumps(cmd)}")
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def note(self, text: str) -> None:
        line = f"{time.monotonic() - self.t0:8.3f} {text}"
        self.log.append(line)
        if self.verbose:
            print(line, file=sys.stderr)

    # -------------------------------------------------------------- steps

    def take(self, queues: dict, key: tuple, pattern: dict, what: str, cumulative_ack: bool = False) -> None:
        deadline = time.monotonic() + self.timeout
        with self.cond:
            while True:
                q = queues[key]
                if cumulative_ack:
                    while q and q[0]["seq"] < pattern["seq"]:
                        q.popleft()
                if q:
                    head = q.popleft()
                    if not try_match(pattern, head, self.caps):
                        raise TraceFailure(f"{what}: expected {json.dumps(pattern)}, got {json.dumps(head)}")
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TraceFailure(f"{what}: expected {json.dumps(pattern)}, nothing came")
                self.cond.wait(left)

    def duration(self, value: Any) -> float:
        if isinstance(value, int):
            return value / 1000
        return {"heartbeat": self.hb, "dead_link": self.hb + self.hbt + 1000, "grace": self.grace + 1000}[value] / 1000

    def run(self) -> None:
        self.t0 = time.monotonic()
        server = WSServer(self.on_connect)
        self.proc = subprocess.Popen(self.driver_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None if self.verbose else subprocess.DEVNULL, text=True)
        try:
            ready = json.loads(self.proc.stdout.readline() or "{}")
            if ready.get("event") != "ready":
                raise TraceFailure(f"driver did not say ready: {ready}")
            threading.Thread(target=self.read_events, args=(self.proc.stdout,), daemon=True).start()
            for i, step in enumerate(self.trace["steps"]):
                try:
                    self.step(step, server)
                except TraceFailure as e:
                    raise TraceFailure(f"step {i} {json.dumps(step)}: {e}") from None
            time.sleep(0.05)
            with self.cond:
                for (client, ev), q in self.events.items():
                    if ev == "message" and q:
                        raise TraceFailure(f"unconsumed message event of {client}: {q[0]}")
                for (client, t, _), q in self.frames.items():
                    if t in END_CHECK and q:
                        raise TraceFailure(f"unconsumed {t} from {client}: {q[0]}")
        finally:
            try:
                self.command({"cmd": "exit"})
                self.proc.wait(timeout=3)
            except Exception:
                self.proc.kill()
            server.stop()

    def step(self, step: dict, server: WSServer) -> None:
        actor = step.get("client")
        if "note" in step or "server" in step:
            return  # server do/sees steps: their wire effect is written as s2c frames
        if "advance" in step:
            time.sleep(self.duration(step["advance"]))
        elif "do" in step:
            do = dict(step["do"])
            action = do.pop("action")
            cmd = {"cmd": action, "client": actor, **do}
            if action == "connect":
                cmd["url"] = server.url(f"/{actor}")
            self.command(cmd)
        elif "c2s" in step:
            p = step["c2s"]
            topic = p.get("topic") if isinstance(p.get("topic"), str) and p.get("topic") != "$absent" else None
            self.take(self.frames, (actor, p["type"], topic), p, f"c2s from {actor}", cumulative_ack=p["type"] == "ack")
        elif "s2c" in step:
            self.s2c(actor, step["s2c"])
        elif "sees" in step:
            p = dict(step["sees"])
            if "member" in p:
                p["sid"] = f"$sid_{p.pop('member')}"
            self.take(self.events, (actor, p["event"]), p, f"{actor} sees")
        elif "fault" in step:
            conn = self.conns.get(actor)
            if conn is not None:
                self.note(f"fault {step['fault']} on {actor}")
                if step["fault"] == "blackhole":
                    conn.blackholed = True
                else:
                    conn.abort()
        elif "quiet" in step:
            time.sleep(0.1)
            with self.cond:
                for (client, t, _), q in self.frames.items():
                    if client == actor and t in step["quiet"] and q:
                        raise TraceFailure(f"not quiet: {client} sent {q[0]}")


def applicable(trace: dict) -> bool:
    if trace.get("checks") == "server":
        return False  # scripted clients: only a server suite can run it
    return any("do" in s and "client" in s for s in trace["steps"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default="")
    ap.add_argument("--timeout", type=float, default=2000)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("driver", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    driver = args.driver[1:] if args.driver[:1] == ["--"] else args.driver
    names = [n for n in args.traces.split(",") if n] or sorted(f[:-5] for f in os.listdir(TRACES))
    failed = 0
    for name in names:
        trace = json.load(open(os.path.join(TRACES, f"{name}.json")))
        if not applicable(trace):
            print(f"{name:24} n/a")
            continue
        h = Harness(trace, driver, args.timeout / 1000, args.verbose)
        start = time.monotonic()
        try:
            h.run()
            print(f"{name:24} pass  {time.monotonic() - start:6.1f}s")
        except TraceFailure as e:
            failed += 1
            print(f"{name:24} FAIL  {e}")
            if not args.verbose:
                print("\n".join("    " + line for line in h.log[-25:]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
