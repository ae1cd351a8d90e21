"""The client's bookkeeping, free of I/O and threads so that it can be tested on its own:
cursors (LL-SEQ-3), batched acks (LL-ACK-1/2), the outbox of sends (LL-SEND-*, LL-RESUME-5/6) and
the reconnection backoff (LL-CLIENT-1).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Optional

Stream = Optional[str]  # None: the direct stream; otherwise a topic name


class Cursors:
    """Per stream, the highest seq delivered to the application (PROTOCOL.md section 9)."""

    def __init__(
        self,
        direct: int = 0,
        topics: dict[str, int] | None = None,
        epochs: dict[str, str] | None = None,
    ) -> None:
        self.direct = direct
        self.topics: dict[str, int] = dict(topics or {})
        # LL-EPOCH-2: the incarnation each topic cursor belongs to, sent back with it.
        self.epochs: dict[str, str] = dict(epochs or {})

    def get(self, stream: Stream) -> int:
        return self.direct if stream is None else self.topics.get(stream, 0)

    def set(self, stream: Stream, seq: int) -> None:
        if stream is None:
            self.direct = seq
        else:
            self.topics[stream] = seq

    def place(self, stream: Stream, seq: int, epoch: Optional[str]) -> None:
        """Puts a cursor where the server says (joined, welcome.lost), in that incarnation."""
        self.set(stream, seq)
        if stream is not None:
            if epoch is None:
                self.epochs.pop(stream, None)
            else:
                self.epochs[stream] = epoch

    def accept(self, stream: Stream, seq: int) -> bool:
        """LL-SEQ-3: True (and advance) when `seq` is new; False for a duplicate to drop.
        A gap (seq > cursor + 1) is accepted: it is not loss (LL-SEQ-4)."""
        if seq <= self.get(stream):
            return False
        self.set(stream, seq)
        return True

    def forget(self, topic: str) -> None:
        self.topics.pop(topic, None)
        self.epochs.pop(topic, None)


class AckBatcher:
    """Cumulative acks, one per stream, after `every` entries or `delay` seconds (LL-ACK-2)."""

    def __init__(self, every: int = 32, delay: float = 0.2) -> None:
        self.every = every
        self.delay = delay
        self._pending: dict[Stream, tuple[int, int]] = {}  # stream -> (highest seq, entries)

    def delivered(self, stream: Stream, seq: int) -> bool:
        """Record a delivered entry; True when this stream's ack is due now (count reached)."""
        _, count = self._pending.get(stream, (0, 0))
        self._pending[stream] = (seq, count + 1)
        return count + 1 >= self.every

    def take(self, stream: Stream | bool = True) -> list[tuple[Stream, int]]:
        """Remove and return pending acks: all of them (default) or one stream's."""
        if stream is True:
            out = [(s, seq) for s, (seq, _) in self._pending.items()]
            self._pending.clear()
            return out
        item = self._pending.pop(stream, None)  # type: ignore[arg-type]
        return [(stream, item[0])] if item else []  # type: ignore[list-item]

    def clear(self) -> None:
        self._pending.clear()

    def __bool__(self) -> bool:
        return bool(self._pending)


@dataclass
class PendingSend:
    id: str
    data: Any
    topic: str | None = None
    seq: int | None = None  # seq in the current session, once written to the wire

    def frame(self) -> dict[str, Any]:
        f: dict[str, Any] = {"type": "send", "seq": self.seq, "id": self.id}
        if self.topic is not None:
            f["topic"] = self.topic
        f["data"] = self.data
        return f


@dataclass
class Outbox:
    """Sends not yet settled, in order. Each is settled exactly once (LL-CLIENT-5)."""

    max_items: int = 1000  # LL-LIMIT-5 / LL-SEND-7: bounded; beyond, the new send is refused
    items: list[PendingSend] = field(default_factory=list)
    next_seq: int = 1  # the seq the next send written in this session gets (LL-SEND-1)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: PendingSend) -> bool:
        if len(self.items) >= self.max_items:
            return False
        self.items.append(item)
        return True

    def unsent(self) -> list[PendingSend]:
        """Sends never written in this session, numbered now in order (call when writing them)."""
        out = []
        for p in self.items:
            if p.seq is None:
                p.seq = self.next_seq
                self.next_seq += 1
                out.append(p)
        return out

    def acked(self, seq: int) -> list[PendingSend]:
        """A server ack: every send up to `seq` was processed (LL-SEND-4). Returns those settled."""
        done = [p for p in self.items if p.seq is not None and p.seq <= seq]
        self.items = [p for p in self.items if not (p.seq is not None and p.seq <= seq)]
        return done

    def rejected(self, ref: int) -> PendingSend | None:
        """An error with ref (LL-SEND-5): settle that send as rejected; it is never resent."""
        for i, p in enumerate(self.items):
            if p.seq == ref:
                return self.items.pop(i)
        return None

    def resumed(self, acked_seq: int, received_seq: int) -> tuple[list[PendingSend], list[PendingSend]]:
        """LL-RESUME-5: settle sends up to welcome.ackedSeq; return (settled, to resend as they were).
        Sends never written keep no seq; `unsent()` numbers them after the resent ones, and after
        every seq the server received (LL-SEND-8), so no seq ever names two messages."""
        done = self.acked(acked_seq)
        self.next_seq = max(self.next_seq, acked_seq + 1, received_seq + 1)
        return done, [p for p in self.items if p.seq is not None]

    def new_session(self) -> None:
        """LL-RESUME-6: a new session numbers sends from 1 again; every pending send keeps its id
        and order and gets a new seq when `unsent()` is next called."""
        for p in self.items:
            p.seq = None
        self.next_seq = 1

    def drain(self) -> list[PendingSend]:
        out, self.items = self.items, []
        return out


@dataclass
class Backoff:
    """Full jitter (LL-CLIENT-1): uniform in [0, min(cap, initial * factor**n)] seconds."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self, n: int) -> float:
        return min(self.cap, self.initial * self.factor ** min(n, 64))

    def delay(self, n: int) -> float:
        return self.rng.uniform(0.0, self.ceiling(n))
