"""Client bookkeeping without I/O: cursors, acks, outbox, backoff."""

from __future__ import annotations

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lifeline.state import AckBatcher, Backoff, Cursors, Outbox, PendingSend  # noqa: E402


class CursorTests(unittest.TestCase):
    def test_duplicates_are_dropped_and_gaps_accepted(self) -> None:  # LL-SEQ-3, LL-SEQ-4
        c = Cursors()
        self.assertTrue(c.accept(None, 1))
        self.assertFalse(c.accept(None, 1))
        self.assertTrue(c.accept(None, 5))  # a gap is not loss
        self.assertFalse(c.accept(None, 3))
        self.assertEqual(c.direct, 5)

    def test_streams_are_independent(self) -> None:
        c = Cursors(direct=3, topics={"room:1": 42})
        self.assertTrue(c.accept("room:2", 1))
        self.assertFalse(c.accept("room:1", 42))
        self.assertTrue(c.accept(None, 4))
        self.assertEqual(c.topics, {"room:1": 42, "room:2": 1})
        c.forget("room:1")
        self.assertEqual(c.get("room:1"), 0)

    def test_set_may_go_down(self) -> None:  # LL-TOPIC-2: joined.seq even below the cursor
        c = Cursors(topics={"t": 10})
        c.set("t", 4)
        self.assertTrue(c.accept("t", 5))


class AckTests(unittest.TestCase):
    def test_batches_by_count_per_stream(self) -> None:  # LL-ACK-2
        a = AckBatcher(every=3)
        self.assertFalse(a.delivered(None, 1))
        self.assertFalse(a.delivered("t", 7))
        self.assertFalse(a.delivered(None, 2))
        self.assertTrue(a.delivered(None, 3))
        self.assertEqual(a.take(None), [(None, 3)])
        self.assertEqual(a.take(), [("t", 7)])
        self.assertFalse(a)

    def test_cumulative(self) -> None:  # LL-ACK-1: one ack with the highest seq
        a = AckBatcher()
        for s in (4, 5, 9):
            a.delivered("room", s)
        self.assertEqual(a.take(), [("room", 9)])


def outbox_with(*datas: str) -> Outbox:
    o = Outbox()
    for i, d in enumerate(datas):
        o.add(PendingSend(f"id{i + 1}", d))
    return o


class OutboxTests(unittest.TestCase):
    def test_numbering_and_acks(self) -> None:  # LL-SEND-1, LL-SEND-4
        o = outbox_with("a", "b", "c")
        self.assertEqual([p.seq for p in o.unsent()], [1, 2, 3])
        self.assertEqual([p.data for p in o.acked(2)], ["a", "b"])
        self.assertEqual(len(o), 1)
        self.assertEqual(o.unsent(), [])

    def test_reject_by_ref(self) -> None:  # LL-SEND-5
        o = outbox_with("a", "b")
        o.unsent()
        self.assertEqual(o.rejected(1).data, "a")
        self.assertIsNone(o.rejected(1))
        self.assertEqual([p.data for p in o.acked(2)], ["b"])  # the ack covers the rejected seq too

    def test_resume_settles_up_to_acked_seq_and_keeps_seqs(self) -> None:  # LL-RESUME-5
        o = outbox_with("a", "b", "c")
        o.unsent()
        o.add(PendingSend("id4", "d"))  # queued while offline: no seq yet
        done, resend = o.resumed(acked_seq=1, received_seq=1)
        self.assertEqual([p.data for p in done], ["a"])
        self.assertEqual([(p.seq, p.id) for p in resend], [(2, "id2"), (3, "id3")])
        self.assertEqual([(p.seq, p.id) for p in o.unsent()], [(4, "id4")])  # after the resent ones

    def test_new_session_renumbers_from_one(self) -> None:  # LL-RESUME-6
        o = outbox_with("a", "b")
        o.unsent()
        o.acked(1)
        o.add(PendingSend("id3", "c"))
        o.new_session()
        self.assertEqual([(p.seq, p.id) for p in o.unsent()], [(1, "id2"), (2, "id3")])

    def test_bounded(self) -> None:  # LL-LIMIT-5
        o = Outbox(max_items=2)
        self.assertTrue(o.add(PendingSend("1", 1)))
        self.assertTrue(o.add(PendingSend("2", 2)))
        self.assertFalse(o.add(PendingSend("3", 3)))
        self.assertEqual([p.id for p in o.drain()], ["1", "2"])
        self.assertEqual(len(o), 0)


class BackoffTests(unittest.TestCase):
    def test_full_jitter_bounds(self) -> None:  # LL-CLIENT-1
        b = Backoff(rng=random.Random(7))
        self.assertEqual([b.ceiling(n) for n in range(8)], [0.5, 1, 2, 4, 8, 16, 30, 30])
        for n in range(12):
            for _ in range(200):
                self.assertTrue(0 <= b.delay(n) <= b.ceiling(n))

    def test_jitter_still_spreads_at_the_cap(self) -> None:
        b = Backoff(rng=random.Random(1))
        delays = [b.delay(50) for _ in range(500)]
        self.assertLess(min(delays), 3)
        self.assertGreater(max(delays), 27)


if __name__ == "__main__":
    unittest.main()
