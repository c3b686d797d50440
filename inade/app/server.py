"""The HTTP side of the web page: static files and a small JSON API over a
Studio, on the standard library's threading HTTP server."""
from __future__ import annotations

import json
import os
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from ..errors import InadeError
from .session import Studio, png_bytes

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}
MAX_REQUEST_BYTES = 20 * 1024 * 1024  # uploads arrive base64 in JSON


class _Handler(BaseHTTPRequestHandler):
    studio: Studio = None  # set on the subclass make_server builds

    def log_message(self, format, *args):  # quiet: the page reports errors itself
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict):
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def do_GET(self):
        url = urlparse(self.path)
        if url.path in ("/", "/index.html"):
            return self._static("index.html")
        if url.path.startswith("/static/"):
            return self._static(url.path[len("/static/"):])
        if url.path == "/api/info":
            return self._json(200, self.studio.info())
        if url.path in ("/api/download/image", "/api/download/styles"):
            return self._download(url.path.rsplit("/", 1)[1], parse_qs(url.query).get("session", [""])[0])
        self._json(404, {"error": f"no page {url.path}"})

    def _static(self, name: str):
        path = os.path.normpath(os.path.join(STATIC, name))
        if not path.startswith(STATIC + os.sep) or not os.path.isfile(path):
            return self._json(404, {"error": f"no file {name}"})
        with open(path, "rb") as f:
            self._send(200, f.read(), CONTENT_TYPES.get(os.path.splitext(path)[1], "application/octet-stream"))

    def _download(self, kind: str, token: str):
        try:
            session = self.studio.session(token)
        except InadeError as error:
            return self._json(404, {"error": str(error)})
        if kind == "image":
            body, content_type, filename = png_bytes(session.image), "image/png", "inade.png"
        else:
            body, content_type, filename = session.styles.to_json().encode("utf-8"), "application/json", "inade_styles.json"
        self._send(200, body, content_type, [("Content-Disposition", f'attachment; filename="{filename}"')])

    def do_POST(self):
        url = urlparse(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self._json(400, {"error": "bad request: the Content-Length header is not a number"})
        limit = self.studio.max_upload_bytes
        if length > limit:
            # the body is left unread: close the connection rather than parse it as the next request
            message = (f"the upload is {length / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB "
                       "(files travel base64-encoded, a third larger)")
            return self._send(413, json.dumps({"error": message}).encode("utf-8"), "application/json",
                              [("Connection", "close")])
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(request, dict):
                raise InadeError("the request must be a JSON object")
            if url.path == "/api/open":
                token, view = self.studio.open(request)
                return self._json(200, {"session": token, **view})
            if url.path.startswith("/api/"):
                return self._json(200, self.studio.act(str(request.get("session", "")), url.path[5:], request))
            return self._json(404, {"error": f"no endpoint {url.path}"})
        except (InadeError, ValueError, KeyError, TypeError) as error:
            message = str(error) if isinstance(error, InadeError) else f"bad request: {type(error).__name__}: {error}"
            return self._json(400, {"error": message})
        except Exception as error:  # the page shows it; the console keeps the details
            traceback.print_exc()
            return self._json(500, {"error": f"internal error: {type(error).__name__}: {error}"})


def make_server(synth, host: str = "127.0.0.1", port: int = 7860, examples=None,
                max_upload_bytes: int = MAX_REQUEST_BYTES) -> ThreadingHTTPServer:
    """A server (not yet serving) for ``synth``; port 0 picks a free port
    (read it back from server.server_address). ``examples``: [(name, (label,
    instance, photo uint8))] for the page's lists; by default built-in
    procedural scenes when the model is of the procedural data."""
    handler = type("Handler", (_Handler,), {"studio": Studio(synth, examples, max_upload_bytes)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
