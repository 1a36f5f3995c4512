"""The page server on its own (no browser, no Rasa): settings, socket origin, headers, widget file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from web.server import Settings, Widget, content_security_policy, host_name, make_app


@pytest.mark.parametrize(
    "header, expected",
    [
        ("localhost:8080", "localhost"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("chat.example.com", "chat.example.com"),
        ("[::1]:8080", "[::1]"),
        ('evil"x:1', "127.0.0.1"),
        ("a b:80", "127.0.0.1"),
        ("", "127.0.0.1"),
    ],
)
def test_host_name(header, expected):
    assert host_name(header) == expected


def test_settings_from_env():
    settings = Settings.from_env({"WEB_PORT": "9000", "RASA_PORT": "6000"})
    assert (settings.host, settings.port, settings.rasa_port, settings.socket_url) == ("127.0.0.1", 9000, 6000, None)
    assert Settings.from_env({"WEB_SOCKET_URL": "https://chat.example.com/"}).socket_url == "https://chat.example.com"
    with pytest.raises(ValueError):
        Settings.from_env({"WEB_SOCKET_URL": "chat.example.com"})
    with pytest.raises(ValueError):
        Settings.from_env({"WEB_SOCKET_URL": "https://chat.example.com/socket.io"})


def test_csp_allows_the_socket_origin_and_its_websocket():
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in content_security_policy(
        "http://localhost:5005"
    )
    assert "connect-src 'self' https://chat.example.com wss://chat.example.com;" in content_security_policy(
        "https://chat.example.com"
    )


async def client_for(settings: Settings, widget: Widget) -> TestClient:
    client = TestClient(TestServer(make_app(settings, widget)))
    await client.start_server()
    return client


async def test_config_follows_the_host_the_browser_used(tmp_path: Path):
    client = await client_for(Settings(rasa_port=5123), Widget(tmp_path / "missing.js"))
    try:
        response = await client.get("/config.js", headers={"Host": "localhost:8080"})
        assert response.status == 200
        assert '"socketUrl": "http://localhost:5123"' in await response.text()
        assert "connect-src 'self' http://localhost:5123 ws://localhost:5123" in response.headers[
            "Content-Security-Policy"
        ]
        missing = await client.get("/static/nothing-here.js")
        assert missing.status == 404
        assert missing.headers["X-Content-Type-Options"] == "nosniff"  # error pages get the headers too
    finally:
        await client.close()


async def test_widget_is_served_gzipped_with_etag_or_503_when_not_installed(tmp_path: Path):
    bundle = tmp_path / "index.js"
    widget = Widget(bundle)
    client = await client_for(Settings(), widget)
    try:
        response = await client.get("/vendor/rasa-webchat.js")
        assert response.status == 503
        assert "npm ci" in await response.text()

        bundle.write_text("window.WebChat = {};\n" * 100)
        response = await client.get("/vendor/rasa-webchat.js", headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert await response.read() == bundle.read_bytes()  # the client undoes the gzip
        assert int(response.headers["Content-Length"]) == len(gzip.compress(bundle.read_bytes(), 9, mtime=0))
        etag = response.headers["ETag"]
        again = await client.get("/vendor/rasa-webchat.js", headers={"If-None-Match": etag})
        assert again.status == 304
    finally:
        await client.close()
