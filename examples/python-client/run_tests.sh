#!/bin/sh
# Unit tests of the Python Lifeline client (framing, frames, bookkeeping, client behaviour).
# Standard library only. Run from anywhere.
set -e
cd "$(dirname "$0")"
python3 -m unittest discover -s tests "$@"
