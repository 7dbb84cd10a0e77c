"""The security headers every response carries, added where the response leaves the app.

At the WSGI edge a response's headers are a plain list: appending five constant pairs costs a
microsecond, where an after_request hook on Flask's Headers re-validated each value on every
response (the redemption API pays per request). A header the view set itself is kept."""

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def content_security_policy(map_tiles_origin: str = "") -> str:
    """The policy, letting images (and nothing else) come from the map's tile server when there is one."""
    if not map_tiles_origin:
        return CSP
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {map_tiles_origin};")


def security_headers(production: bool, map_tiles_origin: str = "") -> list[tuple[str, str]]:
    headers = [("Content-Security-Policy", content_security_policy(map_tiles_origin)),
               ("X-Content-Type-Options", "nosniff"),
               ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]
    return headers + [HSTS] if production else headers


class SecurityHeaders:
    """WSGI middleware around the Flask app's wsgi_app."""

    def __init__(self, wsgi_app, headers: list[tuple[str, str]]):
        self.wsgi_app = wsgi_app
        self.headers = [(name, value, name.lower()) for name, value in headers]

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend([(name, value) for name, value, lowered in self.headers if lowered not in present])
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, start)
