"""A tiny threaded WebSocket server for the tests (RFC 6455 server side, text only).

Each accepted connection is a `ServerConn`; the `on_connect(conn)` callback runs on the
connection's own thread, which then reads frames and calls `conn.on_text(text)` /
`conn.on_close(code)` (set them in on_connect). Tests can also write raw bytes with `send_raw`, to
check how the client copes with odd framing.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from typing import Callable, Optional

from lifeline.websocket import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, accept_for, encode_frame, mask_bytes


class ServerConn:
    def __init__(self, sock: socket.socket, path: str, headers: dict[str, str]) -> None:
        self.sock = sock
        self.path = path
        self.headers = headers
        self.lock = threading.Lock()
        self.on_text: Callable[[str], None] = lambda text: None
        self.on_close: Callable[[int], None] = lambda code: None
        self.on_ping: Callable[[bytes], None] = lambda payload: None
        self.on_pong: Callable[[bytes], None] = lambda payload: None
        self.closed = False
        self.blackholed = False  # drop everything in both directions, keep the socket open

    def send_raw(self, data: bytes) -> None:
        if self.blackholed:
            return
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def send_text(self, text: str) -> None:
        self.send_raw(encode_frame(OP_TEXT, text.encode("utf-8"), mask=False))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame; the reader drops the socket when the client answers."""
        self.send_raw(encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode(), mask=False))

    def abort(self) -> None:
        """Drop TCP without a close frame (a reset)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    # -- reading (runs on the connection thread)

    def _read_exact(self, n: int, buf: bytearray) -> bytes:
        while len(buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def serve(self, buf: bytearray) -> None:
        code = 1006
        parts: list[bytes] = []
        try:
            while True:
                b0, b1 = self._read_exact(2, buf)
                opcode, n = b0 & 0x0F, b1 & 0x7F
                if not b1 & 0x80:
                    raise ValueError("client frame not masked")
                if n == 126:
                    (n,) = struct.unpack("!H", self._read_exact(2, buf))
                elif n == 127:
                    (n,) = struct.unpack("!Q", self._read_exact(8, buf))
                key = self._read_exact(4, buf)
                payload = mask_bytes(key, self._read_exact(n, buf))
                if self.blackholed:
                    continue
                if opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    self.send_raw(encode_frame(OP_CLOSE, payload[:2], mask=False))
                    break
                if opcode == OP_PING:
                    self.on_ping(payload)
                    self.send_raw(encode_frame(OP_PONG, payload, mask=False))
                    continue
                if opcode == OP_PONG:
                    self.on_pong(payload)
                    continue
                parts.append(payload)
                if b0 & 0x80:
                    text = b"".join(parts).decode("utf-8")
                    parts = []
                    self.on_text(text)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            if not self.blackholed:
                self.closed = True
                try:
                    self.sock.close()
                except OSError:
                    pass
            self.on_close(code)


class WSServer:
    """`WSServer(on_connect)`; `.port`; `.stop()`."""

    def __init__(self, on_connect: Callable[[ServerConn], None], accept: Optional[Callable[[str], str]] = None) -> None:
        outer = self
        self.on_connect = on_connect
        self.accept = accept or accept_for  # tests may break the handshake on purpose

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                key = headers.get("sec-websocket-key", "")
                sock.sendall(
                    (
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {outer.accept(key)}\r\n\r\n"
                    ).encode()
                )
                conn = ServerConn(sock, path, headers)
                outer.on_connect(conn)
                conn.serve(bytearray(rest))

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
