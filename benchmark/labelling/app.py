"""The web app: FastAPI routes over a :class:`~interpbench.labelling.session.StudySession`.

Why so few routes: everything a rater's browser can ask for is listed here, and each answer is
either a fixed asset (the page, its script and style sheet, the same for every study), the current
trial's view, an image by opaque token, or a refusal as JSON (``{"error": "..."}``) with a 4xx
status. Each rater reaches the study through a link with a random token (``/s/<token>/``), made
fresh at every start; the rater id itself never appears in a URL. No request value is used as a
path: images live in memory, keyed by random tokens.

Served by uvicorn on 127.0.0.1 unless told otherwise (:func:`serve`); with ``allowed_hosts`` set,
requests that name another host (DNS rebinding) are refused, as JSON like every refusal.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from interpbench.labelling.page import APP_CSS, APP_JS, INDEX_HTML, LANDING_HTML
from interpbench.labelling.session import TOKEN, RequestRefused, StudySession

MAX_BODY = 4096
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _host_name(header: str) -> str:
    """The host of a Host header without its port (``[::1]:8000`` -> ``[::1]``)."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.split(":", 1)[0].lower()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def create_app(session: StudySession, links: Mapping[str, str] | None = None,
               allowed_hosts: Iterable[str] | None = None) -> FastAPI:
    """The app for ``session``. ``links`` maps link tokens to rater ids (default: a fresh random
    token per rater of the session); ``app.state.links`` holds them for the caller to hand out."""
    links = dict(links) if links is not None else {secrets.token_urlsafe(18): rater for rater in session.raters}
    for token, rater in links.items():
        if not TOKEN.fullmatch(token) or rater not in session.raters:
            raise ValueError(f"bad link {token!r} for rater {rater!r}")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.links = links
    hosts = None if allowed_hosts is None else set(allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            response: Response = _error(400, f"this server answers only to {sorted(hosts)} (Host header)")
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(RequestRefused)
    async def refused(request: Request, exc: RequestRefused) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "not found" if exc.status_code == 404 else str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "malformed request")

    def rater_of(link: str) -> str:
        rater = links.get(link) if TOKEN.fullmatch(link) else None
        if rater is None:
            raise RequestRefused(404, "unknown study link; use the link that `interpbench label` printed for you")
        return rater

    @app.get("/", response_class=HTMLResponse)
    def landing() -> HTMLResponse:
        return HTMLResponse(LANDING_HTML)

    @app.get("/static/app.js")
    def script() -> Response:
        return Response(APP_JS, media_type="text/javascript; charset=utf-8")

    @app.get("/static/app.css")
    def style() -> Response:
        return Response(APP_CSS, media_type="text/css; charset=utf-8")

    @app.get("/s/{link}/", response_class=HTMLResponse)
    def page(link: str) -> HTMLResponse:
        rater_of(link)
        return HTMLResponse(INDEX_HTML)

    @app.get("/s/{link}/api/trial")
    def trial(link: str) -> JSONResponse:
        return JSONResponse(session.trial_view(rater_of(link)))

    @app.post("/s/{link}/api/trial/{trial_token}")
    async def submit(link: str, trial_token: str, request: Request) -> JSONResponse:
        rater = rater_of(link)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise RequestRefused(415, "send the answer as JSON (Content-Type: application/json)")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise RequestRefused(413, f"the answer is larger than {MAX_BODY} bytes")
        try:
            answer = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise RequestRefused(400, "the answer is not valid JSON") from None
        return JSONResponse(await run_in_threadpool(session.submit, rater, trial_token, answer))

    @app.get("/s/{link}/img/{image_token}")
    def image(link: str, image_token: str) -> Response:
        return Response(session.image(rater_of(link), image_token), media_type="image/png")

    return app


def links_text(app: FastAPI, host: str, port: int) -> list[str]:
    """``rater: URL`` lines to hand out, one per rater."""
    shown = f"[{host}]" if ":" in host else host
    return [f"{rater}: http://{shown}:{port}/s/{token}/" for token, rater in app.state.links.items()]


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app until interrupted (uvicorn, one process; judgments are durable per request)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, date_header=False)


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread for the block; yields the base URL (``port=0``: a free
    port). For tests and in-process demos."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", server_header=False, date_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the labelling server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
