"""A minimal RFC 6455 WebSocket client over `socket` (and `ssl` for wss://).

Only what a Lifeline client needs, and nothing that is not standard library:

* the HTTP/1.1 upgrade handshake, with Sec-WebSocket-Key and a checked Sec-WebSocket-Accept;
* masked text frames from the client, unmasked frames from the server;
* fragmented messages (continuation frames) on receive;
* ping/pong: a WebSocket-level ping is answered with a pong by the reading thread;
* close frames with a code and a reason, in both directions;
* binary messages refused as a protocol error (close code 1003; Lifeline LL-WS-1);
* a maximum message size (1 MiB by default, LL-WS-6), refused with close code 1009;
* a dropped TCP connection reported as close code 1006.

Usage: `ws = WebSocket.connect(url)`, then one thread calls `ws.recv()` in a loop (it returns each
text message and raises `ConnectionClosed(code, reason)` once the connection has ended), while any
thread may call `send_text`, `close` and `abort`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import threading
import time
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
MAX_MESSAGE_BYTES = 1024 * 1024  # LL-WS-6: no larger than maxFrameBytes (default 1 MiB)

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Close codes used locally (RFC 6455 section 7.4.1).
NORMAL, PROTOCOL_ERROR, UNSUPPORTED_DATA, NO_STATUS, ABNORMAL = 1000, 1002, 1003, 1005, 1006
INVALID_PAYLOAD, TOO_BIG = 1007, 1009


class HandshakeError(Exception):
    """The server did not accept the WebSocket upgrade."""


class ConnectionClosed(Exception):
    """The connection has ended. `code` is the close code (1006: dropped without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed {code} {reason}".strip())
        self.code = code
        self.reason = reason


class _Violation(Exception):
    """The server broke the framing rules: we close with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept value a server must answer for `key`."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def mask_bytes(key: bytes, data: bytes) -> bytes:
    """XOR `data` with the 4-byte masking `key` (fast enough for 1 MiB without a loop)."""
    n = len(data)
    if n == 0:
        return b""
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes, mask: bool = True, fin: bool = True) -> bytes:
    """One frame. Clients MUST mask (RFC 6455 section 5.3); servers MUST NOT."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head.append(mask_bit | n)
    elif n < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + mask_bytes(key, payload)


def _valid_close_code(code: int) -> bool:
    # Codes a peer may put on the wire: 1000-1003, 1007-1014, and 3000-4999 (registered / private).
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


class WebSocket:
    """One client connection. Create it with `WebSocket.connect`."""

    def __init__(self, sock: socket.socket, leftover: bytes, max_message: int) -> None:
        self._sock = sock
        self._buf = bytearray(leftover)
        self._send_lock = threading.Lock()
        self._max_message = max_message
        self._close_sent = False
        self._ended: ConnectionClosed | None = None
        self.last_rx = time.monotonic()  # when any frame last arrived (heartbeat bookkeeping)

    # ---------------------------------------------------------------- opening

    @classmethod
    def connect(
        cls,
        url: str,
        timeout: float = 10.0,
        max_message: int = MAX_MESSAGE_BYTES,
        headers: dict[str, str] | None = None,
    ) -> "WebSocket":
        """Dial `url` (ws:// or wss://) and perform the opening handshake (RFC 6455 section 4)."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"not a WebSocket URL: {url}")
        secure = parts.scheme == "wss"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            default_port = 443 if secure else 80
            host_header = host if port == default_port else f"{host}:{port}"
            if ":" in host and not host.startswith("["):
                host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
            lines = [
                f"GET {path} HTTP/1.1",
                f"Host: {host_header}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
            ]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            leftover = cls._read_handshake(sock, key)
            sock.settimeout(None)  # from now on the reader blocks; abort() unblocks it
            try:  # ...but a send must not block forever on a black-holed link
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), 0))
            except (OSError, struct.error):
                pass
            return cls(sock, leftover, max_message)
        except BaseException:
            sock.close()
            raise

    @staticmethod
    def _read_handshake(sock: socket.socket, key: str) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > 16384:
                raise HandshakeError("response headers too long")
            chunk = sock.recv(4096)
            if not chunk:
                raise HandshakeError("connection closed during the handshake")
            data += chunk
        head, _, leftover = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = status_line.split(" ", 2)
        if len(fields) < 2 or fields[1] != "101":
            raise HandshakeError(f"upgrade refused: {status_line}")
        hdrs: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            hdrs[name.strip().lower()] = value.strip()
        if hdrs.get("upgrade", "").lower() != "websocket":
            raise HandshakeError("missing Upgrade: websocket")
        if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
            raise HandshakeError("missing Connection: Upgrade")
        if hdrs.get("sec-websocket-accept") != accept_for(key):
            raise HandshakeError("wrong Sec-WebSocket-Accept")
        if hdrs.get("sec-websocket-extensions") or hdrs.get("sec-websocket-protocol"):
            raise HandshakeError("server chose an extension or subprotocol we did not offer")
        return leftover

    # ---------------------------------------------------------------- sending

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        frame = encode_frame(opcode, payload, mask=True)
        with self._send_lock:
            try:
                self._sock.sendall(frame)
            except OSError:
                self.abort()  # a half-written frame leaves the stream unusable; recv() reports 1006
                raise

    def send_text(self, text: str) -> None:
        """Send one text message (unfragmented). Raises ConnectionClosed once closing started."""
        if self._close_sent or self._ended:
            raise ConnectionClosed(self._ended.code if self._ended else NORMAL, "closing")
        try:
            self._send_frame(OP_TEXT, text.encode("utf-8"))
        except OSError as e:
            raise ConnectionClosed(ABNORMAL, str(e)) from e

    def close(self, code: int = NORMAL, reason: str = "", timeout: float = 2.0) -> None:
        """Start the closing handshake; the TCP connection is dropped after `timeout` at the latest."""
        if not self._close_sent and self._ended is None:
            self._close_sent = True
            payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
            try:
                self._send_frame(OP_CLOSE, payload)
            except OSError:
                self.abort()
                return
            timer = threading.Timer(timeout, self.abort)
            timer.daemon = True
            timer.start()

    def abort(self) -> None:
        """Drop the TCP connection at once, without a close frame. Unblocks a pending recv()."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass

    # ---------------------------------------------------------------- receiving

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(self._buf)))
            except OSError:
                chunk = b""
            if not chunk:
                raise ConnectionClosed(ABNORMAL, "connection dropped")
            self._buf += chunk
            self.last_rx = time.monotonic()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read_exact(2)
        fin, rsv, opcode = bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F
        masked, length = bool(b1 & 0x80), b1 & 0x7F
        if rsv:
            raise _Violation(PROTOCOL_ERROR, "reserved bits set")
        if masked:
            raise _Violation(PROTOCOL_ERROR, "masked frame from the server")
        if opcode not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise _Violation(PROTOCOL_ERROR, f"unknown opcode {opcode}")
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
            if length >> 63:
                raise _Violation(PROTOCOL_ERROR, "bad length")
        if opcode >= OP_CLOSE and (length > 125 or not fin):
            raise _Violation(PROTOCOL_ERROR, "bad control frame")
        if length > self._max_message:
            raise _Violation(TOO_BIG, "message too big")
        return fin, opcode, self._read_exact(length)

    def recv(self) -> str:
        """The next text message. Raises ConnectionClosed when the connection has ended."""
        if self._ended:
            raise self._ended
        try:
            return self._recv_message()
        except _Violation as v:
            self._fail(v.code, v.reason)
        except ConnectionClosed as c:
            self._end(c.code, c.reason)
        raise self._ended  # type: ignore[misc]

    def _recv_message(self) -> str:
        parts: list[bytes] = []
        size = 0
        started = False
        while True:
            fin, opcode, payload = self._read_frame()
            if opcode == OP_PING:
                if not self._close_sent:
                    try:
                        self._send_frame(OP_PONG, payload)
                    except OSError:
                        pass
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                self._on_close_frame(payload)
            # a data frame
            if opcode == OP_CONT and not started:
                raise _Violation(PROTOCOL_ERROR, "continuation without a message")
            if opcode in (OP_TEXT, OP_BINARY) and started:
                raise _Violation(PROTOCOL_ERROR, "new message inside a fragmented one")
            if opcode == OP_BINARY:
                raise _Violation(UNSUPPORTED_DATA, "binary messages are not Lifeline frames")
            started = True
            size += len(payload)
            if size > self._max_message:
                raise _Violation(TOO_BIG, "message too big")
            parts.append(payload)
            if fin:
                try:
                    return b"".join(parts).decode("utf-8")
                except UnicodeDecodeError:
                    raise _Violation(INVALID_PAYLOAD, "text is not UTF-8") from None

    def _on_close_frame(self, payload: bytes) -> None:
        code, reason = NO_STATUS, ""
        if len(payload) == 1:
            raise _Violation(PROTOCOL_ERROR, "close payload of 1 byte")
        if len(payload) >= 2:
            (code,) = struct.unpack("!H", payload[:2])
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise _Violation(INVALID_PAYLOAD, "close reason is not UTF-8") from None
            if not _valid_close_code(code):
                raise _Violation(PROTOCOL_ERROR, f"invalid close code {code}")
        if not self._close_sent:  # echo the close, then drop TCP (the server closes first)
            self._close_sent = True
            try:
                self._send_frame(OP_CLOSE, payload[:2])
            except OSError:
                pass
        raise ConnectionClosed(code, reason)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): send a close frame if we can, then drop it."""
        if not self._close_sent:
            self._close_sent = True
            try:
                self._send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123])
            except OSError:
                pass
        self._end(code, reason)

    def _end(self, code: int, reason: str) -> None:
        self._ended = ConnectionClosed(code, reason)
        self.abort()
