"""An HTTPS server on loopback for the harness's identity providers: a ThreadingHTTPServer
with the throw-away CA's server certificate (tests.harness.pki), serving from a thread.

    httpd = serve(Handler, pki, "127.0.0.1", 0, "oidc-server")   # httpd.server_address[1]: the port
    shut(httpd)
"""
from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .pki import Pki


def serve(handler: type[BaseHTTPRequestHandler], pki: Pki, host: str, port: int, name: str) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, name=name, daemon=True).start()
    return httpd


def shut(httpd: ThreadingHTTPServer | None) -> None:
    if httpd is not None:
        httpd.shutdown()
        httpd.server_close()
