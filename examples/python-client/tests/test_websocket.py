"""RFC 6455 framing tests: the client against the in-process server of wsserver.py."""

from __future__ import annotations

import os
import queue
import struct
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lifeline.websocket import (  # noqa: E402
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    ConnectionClosed,
    HandshakeError,
    WebSocket,
    accept_for,
    encode_frame,
    mask_bytes,
)
from wsserver import ServerConn, WSServer  # noqa: E402


def raw(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, mask=False, fin=fin)


class PureFunctions(unittest.TestCase):
    def test_accept_value_of_rfc_example(self) -> None:
        # RFC 6455 section 1.3
        self.assertEqual(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_mask_round_trip(self) -> None:
        key = b"\x01\x02\x03\x04"
        for n in (0, 1, 3, 4, 5, 125, 126, 65535, 70000):
            data = os.urandom(n)
            self.assertEqual(mask_bytes(key, mask_bytes(key, data)), data)

    def test_frame_lengths(self) -> None:
        self.assertEqual(encode_frame(OP_TEXT, b"x" * 125, mask=False)[1], 125)
        self.assertEqual(encode_frame(OP_TEXT, b"x" * 126, mask=False)[1], 126)
        self.assertEqual(encode_frame(OP_TEXT, b"x" * 65536, mask=False)[1], 127)
        masked = encode_frame(OP_TEXT, b"hi", mask=True)
        self.assertEqual(masked[1], 0x80 | 2)
        self.assertEqual(mask_bytes(masked[2:6], masked[6:]), b"hi")


class AgainstServer(unittest.TestCase):
    def setUp(self) -> None:
        self.conns: "queue.Queue[ServerConn]" = queue.Queue()
        self.received: "queue.Queue[str]" = queue.Queue()
        self.closes: "queue.Queue[int]" = queue.Queue()
        self.pings: "queue.Queue[bytes]" = queue.Queue()

        def on_connect(conn: ServerConn) -> None:
            conn.on_text = self.received.put
            conn.on_close = self.closes.put
            self.conns.put(conn)

        self.server = WSServer(on_connect)

    def tearDown(self) -> None:
        self.server.stop()

    def open(self, max_message: int = 1024 * 1024) -> tuple[WebSocket, ServerConn]:
        ws = WebSocket.connect(self.server.url("/x?y=1"), timeout=2, max_message=max_message)
        return ws, self.conns.get(timeout=2)

    def recv_in_thread(self, ws: WebSocket) -> "queue.Queue[object]":
        out: "queue.Queue[object]" = queue.Queue()

        def loop() -> None:
            while True:
                try:
                    out.put(ws.recv())
                except ConnectionClosed as c:
                    out.put(c)
                    return

        threading.Thread(target=loop, daemon=True).start()
        return out

    def test_handshake_path_and_text_both_ways(self) -> None:
        ws, conn = self.open()
        self.assertEqual(conn.path, "/x?y=1")
        self.assertEqual(conn.headers["sec-websocket-version"], "13")
        ws.send_text("héllo")  # masked by the client; the server unmasks
        self.assertEqual(self.received.get(timeout=2), "héllo")
        big = "x" * 70000  # 64-bit length
        ws.send_text(big)
        self.assertEqual(self.received.get(timeout=2), big)
        conn.send_text("日本語")
        self.assertEqual(ws.recv(), "日本語")
        ws.abort()

    def test_wrong_accept_is_refused(self) -> None:
        self.server.stop()
        self.server = WSServer(lambda c: None, accept=lambda key: "bm9wZQ==")
        with self.assertRaises(HandshakeError):
            WebSocket.connect(self.server.url("/"), timeout=2)

    def test_fragmented_message_with_ping_in_between(self) -> None:
        ws, conn = self.open()
        conn.on_ping = self.pings.put
        conn.send_raw(raw(OP_TEXT, b"hel", fin=False) + raw(OP_PING, b"p1") + raw(OP_CONT, b"lo", fin=False))
        conn.send_raw(raw(OP_CONT, b" world"))
        self.assertEqual(ws.recv(), "hello world")
        ws.abort()

    def test_server_ping_is_answered_with_pong(self) -> None:
        ws, conn = self.open()
        pongs: "queue.Queue[bytes]" = queue.Queue()
        conn.on_pong = pongs.put
        conn.send_raw(raw(OP_PING, b"abc") + raw(OP_TEXT, b"after"))
        self.assertEqual(ws.recv(), "after")  # the pong is sent by recv() on the way
        self.assertEqual(pongs.get(timeout=2), b"abc")
        ws.abort()

    def test_close_from_server_with_code_and_reason(self) -> None:
        ws, conn = self.open()
        conn.close(4005, "kicked")
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual((cm.exception.code, cm.exception.reason), (4005, "kicked"))
        self.assertEqual(self.closes.get(timeout=2), 4005)  # the client echoed the close

    def test_close_from_client(self) -> None:
        ws, conn = self.open()
        out = self.recv_in_thread(ws)
        ws.close(1000, "bye")
        self.assertEqual(self.closes.get(timeout=2), 1000)
        result = out.get(timeout=3)
        self.assertIsInstance(result, ConnectionClosed)

    def test_dropped_tcp_is_1006(self) -> None:
        ws, conn = self.open()
        conn.abort()
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1006)

    def test_binary_message_is_a_protocol_error(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(OP_BINARY, b"\x00\x01"))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1003)
        self.assertEqual(self.closes.get(timeout=2), 1003)

    def test_masked_server_frame_is_refused(self) -> None:
        ws, conn = self.open()
        conn.send_raw(encode_frame(OP_TEXT, b"hi", mask=True))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1002)

    def test_message_too_big(self) -> None:
        ws, conn = self.open(max_message=1000)
        conn.send_raw(raw(OP_TEXT, b"x" * 600, fin=False) + raw(OP_CONT, b"x" * 600))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1009)

    def test_invalid_utf8_is_1007(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(OP_TEXT, b"\xff\xfe"))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1007)

    def test_continuation_without_start(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(OP_CONT, b"x"))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1002)

    def test_fragmented_control_frame(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(OP_PING, b"x", fin=False))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1002)

    def test_close_without_code_reports_1005(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(0x8, b""))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1005)

    def test_invalid_close_code(self) -> None:
        ws, conn = self.open()
        conn.send_raw(raw(0x8, struct.pack("!H", 1006)))
        with self.assertRaises(ConnectionClosed) as cm:
            ws.recv()
        self.assertEqual(cm.exception.code, 1002)

    def test_send_after_close_raises(self) -> None:
        ws, conn = self.open()
        ws.close()
        with self.assertRaises(ConnectionClosed):
            ws.send_text("late")


if __name__ == "__main__":
    unittest.main()
