"""The HTTP headers that make the browser itself enforce what the pages already promise.

Every answer, pages, API, errors and static files alike, carries a strict
Content-Security-Policy: scripts, styles, fonts, images and requests come
only from this site, with no inline script and no inline style element, so
markup injected into a page (a BPMN name, a form value someone got past the
escaping) cannot run. The pages are built for it: every script is a file
under ``static/js``, and the vendored bpmn-js viewer sets styles only through
the DOM's style properties, which the policy does not restrict.
``frame-ancestors 'none'`` and ``X-Frame-Options`` keep the app out of other
sites' frames (clickjacking a "Complete" button), ``nosniff`` stops a
browser from running an upload as script, and ``no-referrer`` keeps case
ids in URLs from leaking to any other site.

Case data must not stay in a browser's or proxy's cache after a person
signs out, so everything but static files is ``no-store``. HSTS is sent
only on a request that arrived over HTTPS: behind a proxy that ends TLS,
the app learns that from the proxy (gunicorn's ``--forwarded-allow-ips``
with ``X-Forwarded-Proto``), else it never sends HSTS at all.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # bpmn-js.css draws its breadcrumb arrow from a data: URL
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# a year; no includeSubDomains or preload: other services may share the domain
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
STATIC_ENDPOINT = "static"


def add_security_headers(response: Response) -> Response:
    """Set on every answer, overwriting: no view gets to loosen the policy by accident."""
    response.headers.update(HEADERS)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    if request.endpoint != STATIC_ENDPOINT:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
