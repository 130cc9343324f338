"""`python -m parser FILE.eml`: the JSON of `escalations parse` (CONTRACT.md §3), touching nothing.

tracker/cli.py's `parse` command can call `main([path])` directly.
"""
from __future__ import annotations

import json
import sys

from . import parse_message


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: escalations parse FILE.eml", file=sys.stderr)
        return 2
    try:
        with open(args[0], "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        print(f"cannot read {args[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(json.dumps(parse_message(raw).to_contract(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
