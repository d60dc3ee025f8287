"""The staff page's routes: thin handlers over :mod:`clinic_staff`'s data modules.

Every page needs a login (else: the login page); every action is a POST that needs a login,
the session's CSRF token and a same-origin ``Origin`` (else: 403, nothing changes). Pages
are HTML from ``templates/`` (Jinja2, every value escaped), with no script at all.
"""

import asyncio
import datetime
import functools
import logging
from pathlib import Path
from typing import Any, Callable, Coroutine, Dict, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_requests.handled_requests import MAX_NAME_CHARS
from clinic_staff import charts
from clinic_staff.content_status import CheckRunner, overdue_answers
from clinic_staff.figures import PERIODS as FIGURE_PERIODS
from clinic_staff.figures import figures
from clinic_staff.login_limit import LoginLimiter
from clinic_staff.questions_data import PERIODS as QUESTION_PERIODS
from clinic_staff.questions_data import mark_group_handled, question_groups
from clinic_staff.requests_data import FILTERS, find_request, list_requests
from clinic_staff.security import HEADERS, same_origin
from clinic_staff.sessions import Session, SessionStore, new_login_token, same_token
from clinic_staff.settings import StaffSettings
from clinic_staff.stores import Stores

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "clinic_staff_session"
LOGIN_COOKIE = "clinic_staff_login"
LOGIN_COOKIE_SECONDS = 3600
MAX_GROUP_IDS = 10_000

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def build_app(settings: StaffSettings, stores: Stores, name: str = "clinic_staff") -> Sanic:
    """The Sanic app (not started)."""
    app = Sanic(name)
    app.config.FALLBACK_ERROR_FORMAT = "text"
    app.config.REQUEST_MAX_SIZE = 1_000_000
    sessions = SessionStore(settings.session_idle_seconds, settings.session_max_seconds)
    limiter = LoginLimiter()
    checks = CheckRunner(stores.content_dir)
    pages = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    pages.filters["when"] = _when
    app.ctx.sessions, app.ctx.limiter, app.ctx.checks = sessions, limiter, checks

    def own_origin(request: Request) -> str:
        return settings.origin or f"{request.scheme}://{request.host}"

    def render(
        template: str, status: int = 200, session: Optional[Session] = None, **values: Any
    ) -> HTTPResponse:
        notices = []
        if session is not None:
            notices, session.notices = session.notices, []
            values.setdefault("counts", stores.outbox.counts())
        body = pages.get_template(template).render(session=session, notices=notices, **values)
        return response.html(body, status=status)

    def refused(why: str) -> HTTPResponse:
        return render("refused.html", status=403, why=why)

    def set_cookie(
        reply: HTTPResponse, request: Request, key: str, value: str, max_age: Optional[int] = None
    ) -> None:
        reply.cookies[key] = value
        cookie = reply.cookies[key]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if request.scheme == "https":
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    def page(handler: Handler) -> Handler:
        """A GET page: the login page instead when not logged in."""

        @functools.wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            session = sessions.get(request.cookies.get(SESSION_COOKIE))
            if session is None:
                return response.redirect("/login", status=303)
            return await handler(request, session, *args, **kwargs)

        return wrapped

    def action(handler: Handler) -> Handler:
        """A POST action: same origin, logged in, the session's CSRF token; else 403."""

        @functools.wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            if not same_origin(
                request.headers.get("origin"), request.headers.get("referer"), own_origin(request)
            ):
                return refused("it did not come from this page")
            session = sessions.get(request.cookies.get(SESSION_COOKIE))
            if session is None:
                return refused("you are not logged in (or your login ended)")
            if not same_token(session.csrf, request.form.get("csrf")):
                return refused("the form was not one this page gave you")
            return await handler(request, session, *args, **kwargs)

        return wrapped

    @app.on_response
    async def security_headers(request: Request, reply: HTTPResponse) -> None:
        for key, value in HEADERS.items():
            reply.headers.setdefault(key, value)

    @app.exception(NotFound, MethodNotSupported)
    async def not_found(request: Request, exception: Exception) -> HTTPResponse:
        return response.text("Not found", status=404)

    app.static(
        "/static/staff.css",
        str(HERE / "static" / "staff.css"),
        content_type="text/css; charset=utf-8",
    )

    @app.get("/favicon.ico")
    async def favicon(request: Request) -> HTTPResponse:
        return response.empty()  # browsers ask for it; there is none

    @app.get("/")
    @page
    async def home(request: Request, session: Session) -> HTTPResponse:
        return response.redirect("/requests", status=303)

    @app.get("/login")
    async def login_page(request: Request) -> HTTPResponse:
        if sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
            return response.redirect("/requests", status=303)
        return login_form(request)

    def login_form(
        request: Request, status: int = 200, problem: Optional[str] = None, name: str = ""
    ) -> HTTPResponse:
        token = new_login_token()
        reply = render("login.html", status=status, login_token=token, problem=problem, name=name)
        set_cookie(reply, request, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
        return reply

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        if not same_origin(
            request.headers.get("origin"), request.headers.get("referer"), own_origin(request)
        ):
            return refused("it did not come from this page")
        if not same_token(request.cookies.get(LOGIN_COOKIE), request.form.get("login_token")):
            return refused(
                "the login form was not one this page gave you; open the login page again"
            )
        address = request.remote_addr or request.ip
        wait = limiter.wait_seconds(address)
        name = " ".join((request.form.get("name") or "").split())[:MAX_NAME_CHARS]
        if wait > 0:
            return login_form(
                request,
                429,
                f"Too many wrong passwords. Try again in {max(1, round(wait / 60))} minute(s).",
                name,
            )
        password = request.form.get("password") or ""
        good = await asyncio.get_running_loop().run_in_executor(
            None, settings.password.matches, password
        )
        if not good:
            limiter.failed(address)
            logger.warning("Failed staff login from %s.", address)
            return login_form(request, 401, "That password is not right.", name)
        if not name:
            return login_form(
                request, 400, "Please type your name: it is shown on what you mark handled.", name
            )
        limiter.succeeded(address)
        session = sessions.create(name)
        reply = response.redirect("/requests", status=303)
        set_cookie(reply, request, SESSION_COOKIE, session.token)
        del reply.cookies[LOGIN_COOKIE]
        logger.info("Staff login: %s from %s.", name, address)
        return reply

    @app.post("/logout")
    @action
    async def logout(request: Request, session: Session) -> HTTPResponse:
        sessions.end(session.token)
        reply = response.redirect("/login", status=303)
        del reply.cookies[SESSION_COOKIE]
        return reply

    @app.get("/requests")
    @page
    async def requests_page(request: Request, session: Session) -> HTTPResponse:
        which = request.args.get("show", "open")
        which = which if which in FILTERS else "open"
        return render(
            "requests.html",
            session=session,
            section="requests",
            which=which,
            filters=FILTERS,
            requests=list_requests(stores, which),
        )

    @app.get("/requests/<request_id:str>")
    @page
    async def request_page(request: Request, session: Session, request_id: str) -> HTTPResponse:
        found = find_request(stores, request_id)
        if found is None:
            return render("missing.html", status=404, session=session, section="requests")
        return render("request.html", session=session, section="requests", item=found)

    @app.post("/requests/<request_id:str>/retry")
    @action
    async def retry(request: Request, session: Session, request_id: str) -> HTTPResponse:
        found = find_request(stores, request_id)
        if found is None:
            return render("missing.html", status=404, session=session, section="requests")
        if stores.outbox.retry_failed(found.request.id):
            session.notices.append(
                f"Request {found.view.reference} will be sent again within "
                "a few seconds (only where it did not arrive)."
            )
            logger.info("Staff %s: retry request %s.", session.name, found.request.id)
        else:
            session.notices.append(
                f"Request {found.view.reference} had not failed; nothing to retry."
            )
        return response.redirect(f"/requests/{found.request.id}", status=303)

    @app.post("/requests/<request_id:str>/handled")
    @action
    async def handled(request: Request, session: Session, request_id: str) -> HTTPResponse:
        found = find_request(stores, request_id)
        if found is None:
            return render("missing.html", status=404, session=session, section="requests")
        who = " ".join((request.form.get("who") or "").split()) or session.name
        stores.handled.mark(found.request.id, who)
        session.notices.append(f"Request {found.view.reference} marked handled by {who}.")
        logger.info("Staff %s: request %s handled by %s.", session.name, found.request.id, who)
        return response.redirect("/requests", status=303)

    @app.post("/requests/<request_id:str>/reopen")
    @action
    async def reopen(request: Request, session: Session, request_id: str) -> HTTPResponse:
        found = find_request(stores, request_id)
        if found is None:
            return render("missing.html", status=404, session=session, section="requests")
        stores.handled.unmark(found.request.id)
        session.notices.append(f"Request {found.view.reference} is open again.")
        return response.redirect(f"/requests/{found.request.id}", status=303)

    @app.get("/questions")
    @page
    async def questions_page(request: Request, session: Session) -> HTTPResponse:
        days = _period(request, QUESTION_PERIODS, 30)
        return render(
            "questions.html",
            session=session,
            section="questions",
            days=days,
            periods=QUESTION_PERIODS,
            groups=question_groups(stores, days),
        )

    @app.post("/questions/handled")
    @action
    async def questions_handled(request: Request, session: Session) -> HTTPResponse:
        words = (request.form.get("ids") or "").split()
        if not words or len(words) > MAX_GROUP_IDS or not all(w.isdigit() for w in words):
            return render("refused.html", status=400, why="the form did not name questions")
        count = mark_group_handled(stores, [int(word) for word in words])
        session.notices.append(f"{count} question(s) marked handled.")
        logger.info("Staff %s: %d unanswered question(s) handled.", session.name, count)
        days = request.form.get("days") or "30"
        return response.redirect(f"/questions?days={days if days.isdigit() else 30}", status=303)

    @app.get("/content")
    @page
    async def content_page(request: Request, session: Session) -> HTTPResponse:
        overdue, broken = overdue_answers(stores.content_dir)
        result, running = checks.status()
        return render(
            "content.html",
            session=session,
            section="content",
            overdue=overdue,
            broken=broken,
            result=result,
            running=running,
        )

    @app.post("/content/check")
    @action
    async def run_check(request: Request, session: Session) -> HTTPResponse:
        checks.start()
        return response.redirect("/content", status=303)

    @app.get("/figures")
    @page
    async def figures_page(request: Request, session: Session) -> HTTPResponse:
        days = _period(request, FIGURE_PERIODS, 30)
        found = await asyncio.get_running_loop().run_in_executor(None, figures, stores, days)
        return render(
            "figures.html",
            session=session,
            section="figures",
            days=days,
            periods=FIGURE_PERIODS,
            figures=found,
            charts=_charts(found),
        )

    return app


def _charts(found: Any) -> Dict[str, charts.Chart]:
    return {
        "conversations": charts.day_columns(
            "Conversations per day", found.days, found.conversations, "conversations"
        ),
        "requests": charts.day_columns("Requests per day", found.days, found.requests, "requests"),
        "questions": charts.ranking("Questions asked most", found.top_questions),
        "outcomes": charts.outcome_columns(
            "Messages answered, not answered and not understood, per day", found.outcomes
        ),
    }


def _period(request: Request, periods: tuple, default: int) -> int:
    value = request.args.get("days", "")
    return int(value) if value.isdigit() and int(value) in periods else default


def _when(moment: Optional[datetime.datetime]) -> str:
    """``2026-05-14 09:31`` (UTC) for the page."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M") if moment else ""
