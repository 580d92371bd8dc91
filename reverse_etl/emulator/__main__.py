"""`python -m reverse_etl.emulator --port 8765`: serve until interrupted (SIGINT or SIGTERM).

Prints the URL on the first line (`emulator listening on http://127.0.0.1:<port>`), then each
provider's base URL, and flushes, so a parent process can read the port it got with --port 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from reverse_etl.emulator import PROVIDERS, start_emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reverse_etl.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument("--compact", action="store_true", help="keep digests, not payloads")
    parser.add_argument("--faults", default="", help="a fault plan as JSON")
    parser.add_argument("--credentials", default="", help="credentials as JSON (demo defaults)")
    parser.add_argument(
        "--no-webhook-dedupe",
        action="store_true",
        help="the webhook receiver applies a record again even if its key was applied",
    )
    args = parser.parse_args(argv)
    emulator = start_emulator(
        args.host,
        args.port,
        faults=json.loads(args.faults) if args.faults else None,
        credentials=json.loads(args.credentials) if args.credentials else None,
        compact=args.compact,
        webhook_dedupe=not args.no_webhook_dedupe,
    )
    print(f"emulator listening on {emulator.url}")
    for provider in PROVIDERS:
        print(f"  {provider:<10} {emulator.base_url(provider)}")
    sys.stdout.flush()
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
