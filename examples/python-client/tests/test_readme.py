"""The README's example, run as written: saved next to the `lifeline` folder, started with plain
`python3` (no PYTHONPATH), against the real reference server. It must print the echo and exit 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_reference_server import ReferenceServer  # noqa: E402

ROOT = os.path.dirname(HERE)


def readme_example() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        match = re.search(r"<!-- file: chat\.py -->\n```python\n(.*?)```", f.read(), re.S)
    if match is None:
        raise AssertionError("README.md lost its chat.py example")
    return match.group(1)


class ReadmeExample(unittest.TestCase):
    setUp = ReferenceServer.setUp  # starts the built reference server on a free port
    tearDown = ReferenceServer.tearDown
    def test_the_example_prints_the_echo_and_exits(self) -> None:
        path = os.path.join(ROOT, f"_readme_chat_{os.getpid()}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(readme_example())
        try:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["LIFELINE_URL"] = f"ws://127.0.0.1:{self.port}/lifeline"
            done = subprocess.run(
                [sys.executable, path], cwd="/", env=env, capture_output=True, text=True, timeout=30
            )
        finally:
            os.remove(path)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "alice: hi\n")


if __name__ == "__main__":
    unittest.main()
