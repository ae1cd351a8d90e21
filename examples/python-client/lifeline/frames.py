"""Decoding and validating the frames a server sends (PROTOCOL.md sections 2, 3 and 20).

`decode_server_message(text)` turns one transport message into a list of frames or raises
`DecodeError` with the kinds of spec/vectors/README.md: `too-large` (LL-FRAME-4, code 4002),
`malformed` (not JSON), `too-deep` (nested past 64 levels, LL-LIMIT-8), `invalid` (not an object
with a string `type`, not matching its schema, or a bad batch) and `unknown-type` (code 4000).
The checks below transcribe spec/schema/*.json by hand, so the client needs nothing but the standard library at run time.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

MAX_SAFE = 2**53 - 1  # LL-FRAME-8
MAX_I32 = 2**31 - 1
MAX_BATCH = 1024  # LL-WS-2
MAX_DEPTH = 64  # LL-LIMIT-8

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')

Check = Callable[[Any], bool]


class DecodeError(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.code = 4002 if kind == "too-large" else 4000


# ------------------------------------------------------------------ value checks


def is_int(v: Any, lo: int = 0, hi: int = MAX_SAFE) -> bool:
    # JSON Schema "integer": a number with no fractional part (1.0 counts; True does not).
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, float) and not v.is_integer():
        return False
    return lo <= v <= hi


def printable(v: Any, lo: int = 1, hi: int | None = None) -> bool:
    """A string of printable ASCII (0x21-0x7E), LL-FRAME-8, of length lo..hi."""
    if not isinstance(v, str) or len(v) < lo or (hi is not None and len(v) > hi):
        return False
    return all("!" <= c <= "~" for c in v)


def integer(lo: int = 0, hi: int = MAX_SAFE) -> Check:
    return lambda v: is_int(v, lo, hi)


def string(v: Any) -> bool:
    return isinstance(v, str)


def boolean(v: Any) -> bool:
    return isinstance(v, bool)


def anything(v: Any) -> bool:
    return True


def one_of(*values: str) -> Check:
    return lambda v: isinstance(v, str) and v in values


topic: Check = lambda v: printable(v, 1, 200)  # noqa: E731
sid: Check = lambda v: printable(v, 1, 64)  # noqa: E731
token: Check = lambda v: printable(v, 1, 1024)  # memento  # noqa: E731
app_memento: Check = lambda v: printable(v, 1, 4096)  # noqa: E731
code: Check = integer(1000, 4999)
duration: Check = integer(0, MAX_I32)
seq0: Check = integer(0)
seq1: Check = integer(1)


def obj(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    """An object with these members; unknown members are allowed and kept (LL-FRAME-2)."""
    optional = optional or {}

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return False
        for name, ok in required.items():
            if name not in v or not ok(v[name]):
                return False
        for name, ok in optional.items():
            if name in v and not ok(v[name]):
                return False
        return True

    return check


def array(item: Check, lo: int = 0, hi: int | None = None) -> Check:
    def check(v: Any) -> bool:
        if not isinstance(v, list) or len(v) < lo or (hi is not None and len(v) > hi):
            return False
        return all(item(x) for x in v)

    return check


# ------------------------------------------------------------------ server frames (schema/*.json)

member = obj({"sid": sid, "state": one_of("online", "away")}, {"meta": anything})

SERVER_FRAMES: dict[str, Check] = {
    "welcome": obj(
        {
            "version": integer(1, 65535),
            "sid": sid,
            "memento": token,
            "resumed": boolean,
            "recovered": boolean,
            "ackedSeq": seq0,
            "topics": array(topic),
            "heartbeatMs": duration,
            "heartbeatTimeoutMs": duration,
            "graceMs": duration,
            "limits": obj(
                {"maxFrameBytes": integer(1024, 2**63), "maxTopics": integer(1, 2**63)}
            ),
        },
        {"reason": one_of("expired", "unknown", "invalid", "overflow"), "am": app_memento},
    ),
    "msg": obj({"seq": seq1, "data": anything}, {"topic": topic, "am": app_memento}),
    "presence": obj(
        {
            "seq": seq1,
            "topic": topic,
            "sid": sid,
            "event": one_of("joined", "away", "reconnected", "left"),
        },
        {"meta": anything},
    ),
    "ack": obj({"seq": seq0}),  # a `topic` member is unknown here, so ignored (LL-FRAME-2)
    "joined": obj(
        {"topic": topic, "seq": seq0, "members": array(member)},
        # presence: false marks a topic without presence (LL-PRESENCE-6); true is not defined.
        {"recovered": boolean, "membersSeq": seq0, "presence": lambda v: v is False},
    ),
    "join_error": obj({"topic": topic, "code": code, "reason": string}),
    "unjoined": obj({"topic": topic}, {"code": code, "reason": string}),
    "memento": obj({"memento": token}),
    "error": obj({"code": code, "reason": string}, {"ref": seq1}),
    "ping": obj({}, {"id": seq0}),
    "pong": obj({}, {"id": seq0}),
    "bye": obj(
        {"code": code, "reason": string, "reconnect": boolean},
        {"retryAfterMs": duration, "jitterMs": duration},
    ),
}

_INT_MEMBERS = ("seq", "ackedSeq", "version", "code", "ref", "id", "membersSeq", "heartbeatMs",
                "heartbeatTimeoutMs", "graceMs", "retryAfterMs", "jitterMs")


def _normalize(frame: dict[str, Any]) -> dict[str, Any]:
    # Integral floats such as 3.0 passed the checks; store them as ints so that they compare and
    # hash like the integers they are.
    for k in _INT_MEMBERS:
        if isinstance(frame.get(k), float):
            frame[k] = int(frame[k])
    return frame


def validate_server_frame(value: Any) -> dict[str, Any]:
    """Check one decoded JSON value against the server-frame schema (LL-FRAME-3)."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise DecodeError("invalid", "not an object with a string type")
    check = SERVER_FRAMES.get(value["type"])
    if check is None:
        raise DecodeError("unknown-type", value["type"][:40])
    if not check(value):
        raise DecodeError("invalid", f"{value['type']} does not match its schema")
    return _normalize(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:  # LL-FRAME-1 forbids senders to repeat a member; we refuse it
            raise ValueError(f"duplicate member {k}")
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python would accept NaN and Infinity otherwise


def check_depth(text: str) -> None:
    """LL-LIMIT-8: count nesting before building the value; brackets inside strings do not count."""
    depth = 0
    for ch in _STRING.sub("", text):
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise DecodeError("too-deep", f"nested deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth -= 1


def parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError) as e:
        raise DecodeError("malformed", str(e)[:80]) from None


def decode_server_message(
    message: str | bytes, max_bytes: int = 1024 * 1024, batch: bool = True
) -> list[dict[str, Any]]:
    """Decode a transport message: one frame, or (batch=True) a JSON array of 1..1024 frames."""
    raw = message.encode("utf-8") if isinstance(message, str) else message
    if len(raw) > max_bytes:  # LL-FRAME-4: measured in UTF-8 bytes, before parsing
        raise DecodeError("too-large", f"{len(raw)} > {max_bytes} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(message, bytes) else message
    except UnicodeDecodeError:
        raise DecodeError("malformed", "not UTF-8") from None
    check_depth(text)
    value = parse_json(text)
    if isinstance(value, list):
        if not batch:
            raise DecodeError("invalid", "an array where one frame was expected")
        if not 1 <= len(value) <= MAX_BATCH:
            raise DecodeError("invalid", "a batch holds 1 to 1024 frames")
        return [validate_server_frame(v) for v in value]  # any bad frame refuses the whole batch
    return [validate_server_frame(value)]


def encode(frame: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 safe (LL-FRAME-1)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
