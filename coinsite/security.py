"""The Content-Security-Policy header (Django 5.2 has none built in).

Scripts run only from this site's static files and from Stripe.js: the origin of
STRIPE_JS_URL (localstripe's stand-in offline, js.stripe.com with a real test key). The
card page talks to that Stripe API origin, and real Stripe.js opens its 3-D Secure frames
on js.stripe.com / hooks.stripe.com. No inline scripts anywhere (the pages load
static/js/*.js), no plugins, no framing of our pages. The Swagger UI page keeps its one
inline <style> block, so only that page allows inline styles; its script is served
separately (drf-spectacular's split view).

`StaticFilesMiddleware` (WhiteNoise made async-capable) lives here too, so the middleware
around every response is in one place.

The policy is built from settings per request (cached per value), so a test that points
STRIPE_JS_URL at its own localstripe gets a policy that lets it load. The pages that play live
video (VIDEO_PATHS) may also fetch from the media server's HLS origin (MEDIA_HLS_URL); every
page may play media from blob: URLs (hls.js feeds the video through a MediaSource)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

HEADER = "Content-Security-Policy"
DOCS_PATH = "/api/docs/"
VIDEO_PATHS = ("/live/", "/studio/stream/")  # pages that play HLS from the media server
REAL_STRIPE_JS = ("https://js.stripe.com", "https://*.js.stripe.com")
REAL_STRIPE_FRAMES = (*REAL_STRIPE_JS, "https://hooks.stripe.com")
REAL_STRIPE_API = "https://api.stripe.com"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), usb=()"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@lru_cache(maxsize=16)
def content_security_policy(
    *, stripe_js_url: str, stripe_api_base: str, report_uri: str, inline_styles: bool, hls_url: str = ""
) -> str:
    js_origin = _origin(stripe_js_url)
    api_origin = _origin(stripe_api_base)
    scripts = ["'self'"]
    frames: list[str] = []
    connect = ["'self'"]
    if js_origin == "https://js.stripe.com":
        scripts += REAL_STRIPE_JS
        frames += REAL_STRIPE_FRAMES
        connect.append(REAL_STRIPE_API)
    elif js_origin:
        scripts.append(js_origin)
        frames.append(js_origin)
        connect.append(js_origin)
    if api_origin and api_origin not in connect:
        connect.append(api_origin)
    # Live video: hls.js fetches playlists and segments from the media server and plays them
    # through a MediaSource (a blob: URL).
    hls_origin = _origin(hls_url)
    if hls_origin and hls_origin not in connect:
        connect.append(hls_origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": ["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "media-src": ["'self'", "blob:", *([hls_origin] if hls_origin else [])],
        "connect-src": connect,
        "frame-src": frames or ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    if report_uri:
        directives["report-uri"] = [report_uri]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every response. Sync and async: under ASGI a sync-only middleware
    makes every request hop from the event loop to a thread and back once more."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._finish(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return self._finish(request, await self.get_response(request))

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if HEADER not in response.headers:
            response.headers[HEADER] = content_security_policy(
                stripe_js_url=settings.STRIPE_JS_URL,
                stripe_api_base=settings.STRIPE_API_BASE,
                report_uri=settings.CSP_REPORT_URI,
                inline_styles=request.path == DOCS_PATH,
                hls_url=settings.MEDIA_HLS_URL if request.path.startswith(VIDEO_PATHS) else "",
            )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class StaticFilesMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]
    """WhiteNoise, async as well as sync (WhiteNoise's own middleware is sync only, which put
    two extra thread hops on every request under ASGI). Serving a file is a dictionary lookup
    (or, with autorefresh in development, a stat) and a file response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any], settings: Any = settings) -> None:
        super().__init__(get_response, settings)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        static_file = (
            self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        )
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)
