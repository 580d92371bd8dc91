"""Serve the dashboard folder over HTTP on loopback.

A browser refuses to follow a file:// link from a web page such as the Dagster UI, so the
asset's link points at this server; the page itself needs nothing but static files.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Requests are not worth a line each in the terminal."""


def start_server(directory: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve `directory` from a daemon thread; the caller shuts the server down."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server
