"""The Content-Security-Policy header (django-csp) and the static-file middleware, so the
middleware around every response is in one place.

The policy's fixed directives are settings.CONTENT_SECURITY_POLICY. Scripts run only from this
site's static files and from Stripe.js: the origin of STRIPE_JS_URL (localstripe's stand-in
offline, js.stripe.com with a real test key), which the middleware adds per request, with the
Stripe API origin the card page talks to and the frames real Stripe.js opens for 3-D Secure
(js.stripe.com / hooks.stripe.com). The Stripe part is read from settings per request (cached
per value), so a test that points STRIPE_JS_URL at its own localstripe gets a policy that lets
it load. No inline scripts anywhere (the pages load static/js/*.js), no plugins, no framing of
our pages. The Swagger UI page keeps its one inline <style> block, so only that view allows
inline styles (`csp_update` in coinsite/urls.py); its script is served separately
(drf-spectacular's split view).

Live video: every page may play media from blob: URLs (hls.js feeds the video element through
a MediaSource), and the pages that play HLS (VIDEO_PATHS) may also fetch and play from the
media server's origin (MEDIA_HLS_URL), read per request like Stripe's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware

REAL_STRIPE_JS = ("https://js.stripe.com", "https://*.js.stripe.com")
REAL_STRIPE_FRAMES = (*REAL_STRIPE_JS, "https://hooks.stripe.com")
REAL_STRIPE_API = "https://api.stripe.com"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), usb=()"
VIDEO_PATHS = ("/live/", "/studio/stream/")  # pages that play HLS from the media server


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@dataclass(frozen=True)
class StripeSources:
    """What Stripe.js needs: `update` adds its script origin and the origins it connects to;
    `replace` puts the frames it opens in place of frame-src's 'none' (both in django-csp's
    shape)."""

    update: Mapping[str, tuple[str, ...]]
    replace: Mapping[str, tuple[str, ...]]


@lru_cache(maxsize=16)
def stripe_sources(*, stripe_js_url: str, stripe_api_base: str) -> StripeSources:
    js_origin = _origin(stripe_js_url)
    api_origin = _origin(stripe_api_base)
    scripts: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    connect: tuple[str, ...] = ()
    if js_origin == "https://js.stripe.com":
        scripts, frames, connect = REAL_STRIPE_JS, REAL_STRIPE_FRAMES, (REAL_STRIPE_API,)
    elif js_origin:
        scripts = frames = connect = (js_origin,)
    if api_origin and api_origin not in connect:
        connect = (*connect, api_origin)
    update = {
        name: sources for name, sources in (("script-src", scripts), ("connect-src", connect)) if sources
    }
    return StripeSources(update=update, replace={"frame-src": frames} if frames else {})


@lru_cache(maxsize=16)
def video_sources(*, hls_url: str) -> Mapping[str, tuple[str, ...]]:
    """What the live video player needs, in django-csp's `update` shape."""
    hls_origin = _origin(hls_url)
    media: tuple[str, ...] = ("'self'", "blob:", *((hls_origin,) if hls_origin else ()))
    return {"media-src": media, **({"connect-src": (hls_origin,)} if hls_origin else {})}


def _merged(*updates: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for update in updates:
        for name, sources in update.items():
            merged[name] = (*merged.get(name, ()), *(s for s in sources if s not in merged.get(name, ())))
    return merged


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware: the policy of settings.CONTENT_SECURITY_POLICY with Stripe.js's
    sources for STRIPE_JS_URL / STRIPE_API_BASE as they are now, the live video player's (a view's own `csp_update` /
    `csp_replace` still apply on top), and a Permissions-Policy header. Under ASGI it runs its
    hooks on the event loop: the base class (Django's MiddlewareMixin) would run them through
    sync_to_async, two thread hops on every request for work that does no I/O."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            stripe = stripe_sources(
                stripe_js_url=settings.STRIPE_JS_URL, stripe_api_base=settings.STRIPE_API_BASE
            )
            video = video_sources(
                hls_url=settings.MEDIA_HLS_URL if request.path.startswith(VIDEO_PATHS) else ""
            )
            parts.update = {**_merged(stripe.update, video), **(parts.update or {})}
            parts.replace = {**stripe.replace, **(parts.replace or {})}
        return parts

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        return self.process_response(request, response)


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
