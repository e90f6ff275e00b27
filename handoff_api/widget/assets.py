"""Static assets and pages with cache validators and a Content-Security-Policy (shared by widget and console).

Assets are read once at start-up; each gets a strong ETag (content hash) and `Cache-Control` with a
max-age plus revalidation, so a changed file reaches browsers within minutes and an unchanged one costs
a 304. Scripts are always revalidated (`no-cache`, an unchanged one still costs only a 304): the widget's and
the console's modules import one another, and a page must never run old modules beside new ones after a
deploy. Pages get `no-cache` too, and a CSP that allows no inline script.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

ASSET_MAX_AGE_SECONDS = 300
ASSET_SUFFIXES = frozenset({".js", ".css", ".html", ".svg", ".png", ".ico", ".json"})
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def content_security_policy(request: Request) -> str:
    """Scripts, styles and connections from this origin only (plus its WebSocket form); no inline script."""
    host = request.headers.get("host", "")
    sockets = f"ws://{host} wss://{host}" if host else "ws: wss:"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


@dataclass(frozen=True)
class Asset:
    """One file's bytes, type and validator."""

    body: bytes
    media_type: str
    etag: str


def load_asset(path: Path) -> Asset:
    """Read a file and compute its ETag."""
    body = path.read_bytes()
    media_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:20]}"')


class AssetDirectory:
    """The files of one folder, served by name (no sub-folders, no path tricks)."""

    def __init__(self, folder: Path) -> None:
        self._assets = {
            path.name: load_asset(path)
            for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix in ASSET_SUFFIXES
        }

    def names(self) -> list[str]:
        """Served file names."""
        return sorted(self._assets)

    def get(self, name: str) -> Asset | None:
        """The asset with this exact name."""
        return self._assets.get(name)

    def version(self, name: str) -> str:
        """A short content hash, for cache-busting query strings."""
        asset = self._assets[name]
        return asset.etag.strip('"')[:10]

    def respond(self, request: Request, name: str, *, page: bool = False) -> Response:
        """200 with the asset, 304 if the browser's copy is current, 404 if unknown."""
        asset = self._assets.get(name)
        if asset is None:
            return PlainTextResponse("not found", status_code=404)
        revalidate = page or asset.media_type.startswith("text/javascript")
        headers = {
            "ETag": asset.etag,
            "Cache-Control": "no-cache" if revalidate else f"public, max-age={ASSET_MAX_AGE_SECONDS}, must-revalidate",
            "X-Content-Type-Options": "nosniff",
        }
        if page:
            headers["Content-Security-Policy"] = content_security_policy(request)
            headers["Referrer-Policy"] = "same-origin"
        if _matches(request.headers.get("if-none-match"), asset.etag):
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {item.strip().removeprefix("W/") for item in if_none_match.split(",")}
    return etag in candidates or "*" in candidates
