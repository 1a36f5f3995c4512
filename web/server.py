"""Serves the 「在线客服」 chat page: `python -m web.server` (started by `make run`).

The page is static (web/static/) plus two generated or vendored files:
- /config.js tells the page where Rasa's socket.io channel is (the page's own host name at RASA_PORT,
  or WEB_SOCKET_URL when Rasa is published elsewhere, e.g. behind a TLS proxy);
- /vendor/rasa-webchat.js is node_modules/rasa-webchat/lib/index.js as `npm ci` installed it (no CDN).

It also serves the operator console (客服运营后台, docs/ops.md): its page at /ops/ (web/ops/), Apache
ECharts at /vendor/echarts.min.js (from node_modules, no CDN) and its token-protected API at /ops/api/
(ops/api.py).

Every response carries a Content-Security-Policy that allows scripts only from this server and
connections only to this server and the Rasa socket origin, so an injected script or link cannot run
or phone home. Environment: WEB_HOST (default 127.0.0.1), WEB_PORT (8080), RASA_PORT (5005),
WEB_SOCKET_URL (optional). Prints nothing unless something is wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web

from common.tracker_db import check_database_files
from ops.api import ConsoleSettings, add_console_api

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSOLE_DIR = Path(__file__).resolve().parent / "ops"
WIDGET_JS = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
ECHARTS_JS = ROOT / "node_modules" / "echarts" / "dist" / "echarts.min.js"

logger = logging.getLogger("web.server")

# A host name as it may appear in the Host header: DNS name, IPv4, or bracketed IPv6.
_HOST_NAME = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    rasa_port: int = 5005
    socket_url: Optional[str] = None  # fixed socket.io origin; None: the page's host name at rasa_port

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        socket_url = env.get("WEB_SOCKET_URL", "").strip().rstrip("/") or None
        if socket_url is not None:
            parts = urlsplit(socket_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"WEB_SOCKET_URL must be an origin like https://chat.example.com, not {socket_url!r}")
        return cls(
            host=env.get("WEB_HOST", "").strip() or cls.host,
            port=int(env.get("WEB_PORT", "") or cls.port),
            rasa_port=int(env.get("RASA_PORT", "") or cls.rasa_port),
            socket_url=socket_url,
        )

    def socket_origin(self, request: web.BaseRequest) -> str:
        """The origin of Rasa's socket.io endpoint, as the browser that sent `request` must reach it."""
        if self.socket_url:
            return self.socket_url
        return f"http://{host_name(request.host)}:{self.rasa_port}"


def host_name(host_header: str) -> str:
    """The name part of a Host header ("localhost:8080" -> "localhost"); 127.0.0.1 if it is not one."""
    host_header = host_header.strip()
    if host_header.startswith("["):
        name = host_header[: host_header.find("]") + 1]
    else:
        name = host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header
    return name if _HOST_NAME.match(name) else "127.0.0.1"


def _websocket_origin(origin: str) -> str:
    return "wss" + origin[len("https"):] if origin.startswith("https:") else "ws" + origin[len("http"):]


def content_security_policy(socket_origin: str) -> str:
    # style-src needs 'unsafe-inline': the widget injects its stylesheet as <style> elements. That also
    # blocks the widget's own @import of Google Fonts (unreachable in mainland China): the page brings
    # its own Chinese font stack (static/chat.css).
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",  # the widget's carousel arrows are an inline font
            f"connect-src 'self' {socket_origin} {_websocket_origin(socket_origin)}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


class Widget:
    """A script from node_modules (the rasa-webchat bundle, ECharts), read once (again if npm replaced it)
    and kept gzipped for phones."""

    def __init__(self, path: Path = WIDGET_JS):
        self.path = path
        self._cached: Optional[Tuple[float, bytes, bytes, str]] = None

    def load(self) -> Optional[Tuple[bytes, bytes, str]]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if self._cached is None or self._cached[0] != mtime:
            body = self.path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._cached = (mtime, body, gzip.compress(body, compresslevel=9, mtime=0), etag)
        _, body, compressed, etag = self._cached
        return body, compressed, etag


def html_page(path: Path) -> web.FileResponse:
    return web.FileResponse(path, headers={"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"})


def make_app(
    settings: Settings, widget: Optional[Widget] = None, console: Optional[ConsoleSettings] = None
) -> web.Application:
    """The chat page; with `console`, the operator console too."""
    widget = widget or Widget()
    app = web.Application()

    async def index(request: web.Request) -> web.StreamResponse:
        return html_page(STATIC_DIR / "index.html")

    async def config_js(request: web.Request) -> web.Response:
        config = {"socketUrl": settings.socket_origin(request), "socketPath": "/socket.io/"}
        body = "window.CS_CHAT_CONFIG = " + json.dumps(config, ensure_ascii=True) + ";\n"
        return web.Response(
            text=body, content_type="text/javascript", charset="utf-8", headers={"Cache-Control": "no-store"}
        )

    def script(vendored: Widget, what: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            loaded = vendored.load()
            if loaded is None:
                logger.error("%s is missing: run `npm ci` (make run does)", vendored.path)
                return web.Response(status=503, text=f"{what} not installed: run `npm ci`\n")
            body, compressed, etag = loaded
            headers: Dict[str, str] = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Accept-Encoding"}
            if etag in request.headers.get("If-None-Match", ""):
                return web.Response(status=304, headers=headers)
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
                body = compressed
            return web.Response(body=body, content_type="text/javascript", charset="utf-8", headers=headers)

        return serve

    async def healthz(request: web.Request) -> web.Response:
        # Fails when this process writes into tracker database files deleted under it (common/tracker_db.py).
        problem = check_database_files()
        if problem:
            return web.Response(status=503, text="tracker database files deleted: restart the page server\n",
                                headers={"Cache-Control": "no-store"})
        return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})

    async def add_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = content_security_policy(settings.socket_origin(request))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    app.on_response_prepare.append(add_security_headers)
    app.router.add_get("/", index)
    app.router.add_get("/config.js", config_js)
    app.router.add_get("/vendor/rasa-webchat.js", script(widget, "chat widget"))
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    if console is not None:
        add_console(app, console, script(Widget(ECHARTS_JS), "ECharts"))
    return app


def add_console(app: web.Application, console: ConsoleSettings,
                echarts: Callable[[web.Request], Awaitable[web.Response]]) -> None:
    async def console_page(request: web.Request) -> web.StreamResponse:
        return html_page(CONSOLE_DIR / "index.html")

    async def to_console(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/ops/")

    app.router.add_get("/ops", to_console)
    app.router.add_get("/ops/", console_page)
    app.router.add_static("/ops/static/", CONSOLE_DIR, show_index=False, follow_symlinks=False)
    app.router.add_get("/vendor/echarts.min.js", echarts)
    add_console_api(app, console)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s - %(message)s")
    try:
        settings = Settings.from_env()
    except ValueError as error:
        sys.exit(f"web.server: {error}")
    if not WIDGET_JS.exists():
        logger.warning("%s is missing: run `npm ci` (make run does); the page cannot chat without it", WIDGET_JS)
    web.run_app(make_app(settings, console=ConsoleSettings.from_env()), host=settings.host, port=settings.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
