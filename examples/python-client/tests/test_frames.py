"""Decoding server frames: every server vector of spec/vectors/frames must give its result."""

from __future__ import annotations

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lifeline.frames import DecodeError, decode_server_message, encode  # noqa: E402

VECTORS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "spec", "vectors", "frames"))


class FrameVectors(unittest.TestCase):
    def test_server_vectors(self) -> None:
        count = 0
        for name in ("server-valid", "server-invalid", "server-batches"):
            with open(os.path.join(VECTORS, f"{name}.json"), encoding="utf-8") as f:
                doc = json.load(f)
            self.assertEqual(doc["direction"], "server")
            for v in doc["vectors"]:
                count += 1
                with self.subTest(file=name, vector=v["name"]):
                    try:
                        frames = decode_server_message(v["text"], v.get("maxBytes", 1048576), v.get("batch", False))
                        got = {"ok": True, "frames": frames}
                    except DecodeError as e:
                        got = {"ok": False, "error": e.kind, "code": e.code}
                    self.assertEqual(got, v["expect"])
        self.assertGreater(count, 100)

    def test_python_specific_refusals(self) -> None:
        for text in ('{"type":"ping","id":NaN}', '{"type":"ping","id":Infinity}',
                     '{"type":"ack","seq":1,"seq":2}', '\ufeff{"type":"ping"}'):
            with self.subTest(text=text), self.assertRaises(DecodeError) as cm:
                decode_server_message(text)
            self.assertEqual(cm.exception.kind, "malformed")

    def test_booleans_are_not_integers(self) -> None:
        with self.assertRaises(DecodeError):
            decode_server_message('{"type":"ack","seq":true}')

    def test_integral_float_is_an_integer(self) -> None:
        # JSON Schema counts 1.0 as an integer; we store it as int
        self.assertEqual(decode_server_message('{"type":"ack","seq":1.0}'), [{"type": "ack", "seq": 1}])

    def test_encode_is_compact_utf8(self) -> None:
        self.assertEqual(encode({"type": "send", "data": "é"}), '{"type":"send","data":"é"}')


if __name__ == "__main__":
    unittest.main()
