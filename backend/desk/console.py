"""The registry-desk console at ``/desk``: pages rendered on the server for clinic staff who help
a patient, present and consenting, to install the app, sign in, switch notifications on and
understand their status.

Every page works without JavaScript; ``desk.js`` only refreshes the steps of an onboarding and
a notification check as they happen, and counts down the consent.  Nothing is loaded from
another origin (the pages' CSP, ``backend.api.headers``, forbids it anyway).

What the pages show and do about a patient goes through the API's own GraphQL schema, run in
this process with the signed-in worker as the principal (``Staff``): the same permissions
(a consent window of this worker), the same patient access log, the same words.  The console
adds only what a browser needs: a server-side session behind an HttpOnly, SameSite=Strict
cookie (``auth.console``), a CSRF token in every form, the language switch (a cookie), and
staff management for a clinic's administrator (``auth.staff_admin``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from strawberry import Schema

from auth.console import ConsoleSession
from auth.errors import RateLimited, Refused
from auth.principals import Principal, Staff
from auth.secrets import group
from auth.service import AuthService
from auth.staff import StaffMember
from backend.desk import operations as ops
from backend.desk.texts import LANGUAGE_NAMES, TEXTS, text
from backend.gql.context import SUPPORTED_LANGUAGES, Context, language_from_header
from backend.help.library import Audience, HelpLibrary
from backend.help.render import render_markdown
from backend.i18n import format_date
from backend.messages import AUTH_MESSAGES

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SESSION_COOKIE = "desk_session"
PRE_COOKIE = "desk_pre"
LANGUAGE_COOKIE = "desk_lang"
MAX_FORM_BYTES = 8192
SECRET_FIELDS = frozenset({"password", "repeat"})
MAX_SECRET = 512
ALMATY = ZoneInfo("Asia/Almaty")
STATIC_FILES = {"desk.css": "text/css; charset=utf-8",
                "desk.js": "text/javascript; charset=utf-8"}

ContextFor = Callable[[Request, Principal, str], Awaitable[Context]]


class Refusal(Exception):
    """A page that answers with an error page (status, title and words already chosen)."""

    def __init__(self, status: int, title: str, words: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.words = words
        self.headers = dict(headers or {})


@dataclass
class Visit:
    """One request to the console: who (if signed in), in which language, its CSRF token."""

    request: Request
    language: str
    session: ConsoleSession | None
    cookie_token: str | None
    pre_token: str | None
    new_pre: bool

    @property
    def csrf_source(self) -> str:
        """What the form's CSRF token is derived from: the session's token, else the
        pre-session cookie's."""
        if self.session is not None and self.cookie_token:
            return self.cookie_token
        return f"pre:{self.pre_token}"

    def staff(self) -> Staff:
        """The signed-in worker as the API's principal."""
        if self.session is None:
            raise RuntimeError("not signed in")
        member = self.session.member
        return Staff(member.id, member.provider_id, f"console:{self.session.id}", None,
                     member.display_name, member.provider_name)


def _time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    try:  # a form's hidden field comes back as the browser sent it
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(ALMATY).strftime("%H:%M")
    except (ValueError, OverflowError):
        return ""


def _day(value: str | None, language: str) -> str:
    if not value:
        return ""
    return format_date(datetime.fromisoformat(value[:10]).date(), language)


def _moment(value: str | None, language: str) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value).astimezone(ALMATY)
    return f"{format_date(moment.date(), language)}, {moment:%H:%M}"


def qr_svg(payload: str, title: str) -> Markup:
    """``payload`` as an inline SVG QR code (no style attributes: the CSP allows none)."""
    code = segno.make(payload, error="m")
    svg = code.svg_inline(scale=8, border=4, dark="#000", light="#fff", title=title,
                          svgclass="qr", lineclass=None, omitsize=True)
    return Markup(svg)  # noqa: S704 (segno's own markup; the title is escaped by segno)


class DeskConsole:
    """The console's routes on one FastAPI app."""

    def __init__(self, schema: Schema, context_for: ContextFor, help_library: HelpLibrary,
                 *, secure_cookies: bool, app_link: str) -> None:
        self._schema = schema
        self._app_link = app_link
        self._context_for = context_for
        self._help = help_library
        self._secure = secure_cookies
        self._templates = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.router = APIRouter(prefix="/desk", include_in_schema=False)
        self._routes()

    # -- plumbing -------------------------------------------------------------------------

    def _auth(self, request: Request) -> AuthService:
        auth: AuthService = request.app.state.runtime.auth
        return auth

    async def _visit(self, request: Request) -> Visit:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        language = chosen if chosen in SUPPORTED_LANGUAGES else language_from_header(
            request.headers.get("accept-language"))
        token = request.cookies.get(SESSION_COOKIE)
        session = await self._auth(request).console.resolve(token)
        pre = request.cookies.get(PRE_COOKIE)
        new_pre = not pre or len(pre) > 64
        if new_pre:
            pre = uuid.uuid4().hex
        return Visit(request, language, session, token if session else None, pre, new_pre)

    def _render(self, visit: Visit, template: str, status: int = 200,
                headers: Mapping[str, str] | None = None, **values: Any) -> HTMLResponse:
        language = visit.language
        console = self._auth(visit.request).console
        page = self._templates.get_template(template).render(
            t=lambda key, **fill: text(key, language, **fill), lang=language,
            languages=LANGUAGE_NAMES, here=visit.request.url.path,
            session=visit.session, csrf=console.csrf(visit.csrf_source), known=TEXTS,
            time=_time, day=lambda v: _day(v, language),
            moment=lambda v: _moment(v, language), **values)
        response = HTMLResponse(page, status_code=status, headers={
            "Cache-Control": "no-store", **(headers or {})})
        if visit.new_pre:
            self._cookie(response, PRE_COOKIE, str(visit.pre_token), None)
        return response

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/desk", secure=self._secure,
                            httponly=True, samesite="strict")

    def _refused(self, visit: Visit, refusal: Refusal) -> HTMLResponse:
        return self._render(visit, "message.html", refusal.status, refusal.headers,
                            title=refusal.title, words=refusal.words)

    async def _form(self, visit: Visit) -> dict[str, str]:
        """The posted form, after its CSRF token is checked (403 otherwise)."""
        request = visit.request
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise Refusal(413, text("error_title", visit.language),
                              text("csrf_text", visit.language))
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                    max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            fields = {}
        if any("\x00" in key or "\x00" in value for key, value in fields.items()):
            fields = {}  # no browser sends a NUL, and PostgreSQL text cannot hold one
        console = self._auth(request).console
        if not console.csrf_matches(visit.csrf_source, fields.get("csrf")):
            raise Refusal(403, text("csrf_title", visit.language),
                          text("csrf_text", visit.language))
        # Passwords exactly as typed (spaces are theirs, as in the API's staffSignIn); any
        # other field trimmed and capped (each handler caps it again for its purpose).
        return {key: value[:MAX_SECRET] if key in SECRET_FIELDS else value.strip()[:200]
                for key, value in fields.items()}

    def _signed_in(self, visit: Visit) -> None:
        if visit.session is None:
            raise _GoSignIn(expired=visit.request.cookies.get(SESSION_COOKIE) is not None)

    async def _api(self, visit: Visit, document: str,
                   variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run ``document`` through the API's schema as the signed-in worker; a refusal of
        the API becomes the page's (a closed window: 403, a throttle: 429)."""
        context = await self._context_for(visit.request, visit.staff(), visit.language)
        result = await self._schema.execute(document, variable_values=dict(variables or {}),
                                            context_value=context)
        if result.errors:
            error = result.errors[0]
            code = (error.extensions or {}).get("code")
            language = visit.language
            if code == "FORBIDDEN":
                raise Refusal(403, text("window_closed_title", language), error.message)
            if code == "RATE_LIMITED":
                retry = int((error.extensions or {}).get("retryAfter", 60))
                raise Refusal(429, text("error_title", language), text(
                    "rate_limited", language, minutes=max(1, -(-retry // 60))),
                    {"Retry-After": str(retry)})
            if code in ("NOT_FOUND", "BAD_USER_INPUT"):
                raise Refusal(404, text("not_found_title", language), error.message)
            log.error("a desk page's operation failed: %s", code)
            raise Refusal(500, text("error_title", language), error.message)
        return dict(result.data or {})

    # -- routes ---------------------------------------------------------------------------

    def _routes(self) -> None:
        router = self.router

        def page(path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[
                [Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
            def register(handler: Callable[..., Awaitable[Response]]
                         ) -> Callable[..., Awaitable[Response]]:
                async def endpoint(request: Request) -> Response:
                    visit = await self._visit(request)
                    try:
                        return await handler(visit, **request.path_params)
                    except Refusal as refusal:
                        return self._refused(visit, refusal)
                    except _GoSignIn as go:
                        target = "/desk/sign-in" + ("?ended=1" if go.expired else "")
                        response = RedirectResponse(target, status_code=303)
                        if go.expired:
                            response.delete_cookie(SESSION_COOKIE, path="/desk")
                        return response
                router.add_api_route(path, endpoint, methods=list(methods))
                return handler
            return register

        @page("")
        @page("/")
        async def home(visit: Visit) -> Response:
            self._signed_in(visit)
            return await self._home(visit, sms=None)

        @page("/sign-in")
        async def sign_in_page(visit: Visit) -> Response:
            if visit.session is not None:
                return RedirectResponse("/desk/", status_code=303)
            query = visit.request.query_params
            notice = ("session_ended" if "ended" in query else
                      "signed_out" if "out" in query else
                      "password_saved" if "saved" in query else None)
            return self._render(visit, "sign_in.html", notice=notice, error=None, username="")

        @page("/sign-in", ("POST",))
        async def sign_in(visit: Visit) -> Response:
            form = await self._form(visit)
            auth = self._auth(visit.request)
            username = form.get("username", "")[:64]
            try:
                member = await auth.desk.authenticate(
                    username, form.get("password", ""), _client(visit.request))
            except RateLimited as limited:
                return self._render(visit, "sign_in.html", 429,
                                    {"Retry-After": str(limited.retry_after)}, notice=None,
                                    username=username, error=text(
                                        "rate_limited", visit.language,
                                        minutes=max(1, -(-limited.retry_after // 60))))
            except Refused as refusal:
                return self._render(visit, "sign_in.html", 400, notice=None, username=username,
                                    error=_auth_words(refusal.reason, visit.language))
            token, session = await auth.console.start(member)
            response = RedirectResponse("/desk/", status_code=303)
            self._cookie(response, SESSION_COOKIE, token,
                         int((session.expires_at - session.created_at).total_seconds()))
            return response

        @page("/sign-out", ("POST",))
        async def sign_out(visit: Visit) -> Response:
            if visit.session is None:  # ended already (idle, deactivated): nothing to end
                raise _GoSignIn(expired=True)
            await self._form(visit)
            await self._auth(visit.request).console.end(visit.cookie_token)
            response = RedirectResponse("/desk/sign-in?out=1", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/desk")
            return response

        @page("/language/{code}")
        async def language(visit: Visit, code: str) -> Response:
            back = visit.request.query_params.get("next", "/desk/")
            if not back.startswith("/desk") or "//" in back or "\\" in back:
                back = "/desk/"
            response = RedirectResponse(back, status_code=303)
            if code in SUPPORTED_LANGUAGES:
                self._cookie(response, LANGUAGE_COOKIE, code, 365 * 86_400)
            return response

        async def static(request: Request) -> Response:
            name = request.path_params["name"]
            if name not in STATIC_FILES:  # no session is looked up (or touched) for a file
                return Response("not found", status_code=404, media_type="text/plain")
            return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                                headers={"Cache-Control": "no-cache"})

        router.add_api_route("/static/{name}", static, methods=["GET"])

        # -- a patient ----------------------------------------------------------------------

        @page("/patients", ("POST",))
        async def open_patient(visit: Visit) -> Response:
            self._signed_in(visit)
            form = await self._form(visit)
            if form.get("how") == "sms":
                data = (await self._api(visit, ops.SEND_CONSENT_SMS,
                                        {"iin": form.get("iin", "")[:32]}))["sendConsentSms"]
                if data["userErrors"]:
                    return await self._home_error(visit, data["userErrors"][0], "sms")
                return await self._home(visit, sms=data)
            if form.get("how") == "sms-code":
                data = (await self._api(visit, ops.OPEN_BY_SMS, {
                    "challengeId": form.get("challenge", "")[:64],
                    "code": form.get("code", "")[:32]}))["openPatientWindowBySms"]
                if data["userErrors"]:
                    error = data["userErrors"][0]
                    sms = {"challengeId": form.get("challenge", ""),
                           "maskedPhone": form.get("phone", ""),
                           "expiresAt": form.get("expires", "")}
                    retry = error["code"] == "WRONG_CODE" and error.get("attemptsLeft")
                    return await self._home(visit, 400, sms=sms if retry else None,
                                            error={**error, "form": "sms-code" if retry
                                                   else "sms"})
            else:
                data = (await self._api(visit, ops.OPEN_BY_CODE, {
                    "code": form.get("consent_code", "")[:32]}))["openPatientWindow"]
                if data["userErrors"]:
                    return await self._home_error(visit, data["userErrors"][0], "code")
            window_id = data["window"]["id"]
            return RedirectResponse(f"/desk/patients/{quote(window_id)}", status_code=303)

        @page("/patients/{window_id}")
        async def patient(visit: Visit, window_id: str) -> Response:
            self._signed_in(visit)
            data = await self._api(visit, ops.WINDOW, {"id": window_id})
            return self._render(visit, "patient.html", window=data["patientWindow"])

        @page("/patients/{window_id}/onboarding", ("POST",))
        async def onboarding_code(visit: Visit, window_id: str) -> Response:
            self._signed_in(visit)
            await self._form(visit)
            made = (await self._api(visit, ops.MAKE_ONBOARDING,
                                    {"id": window_id}))["createOnboardingCode"]
            if made["userErrors"]:
                error = made["userErrors"][0]
                raise Refusal(400, text("onboarding_title", visit.language), error["message"])
            code = made["onboardingCode"]
            data = await self._api(visit, ops.ONBOARDING, {"id": window_id})
            return self._render(visit, "onboarding.html", window=data["patientWindow"],
                                code=code, qr=qr_svg(code["qrText"], text(
                                    "qr_label", visit.language)))

        @page("/patients/{window_id}/onboarding")
        async def onboarding(visit: Visit, window_id: str) -> Response:
            self._signed_in(visit)
            data = await self._api(visit, ops.ONBOARDING, {"id": window_id})
            template = ("onboarding_steps.html" if "fragment" in visit.request.query_params
                        else "onboarding.html")
            return self._render(visit, template, window=data["patientWindow"], code=None,
                                qr=None)

        @page("/patients/{window_id}/checks", ("POST",))
        async def check(visit: Visit, window_id: str) -> Response:
            self._signed_in(visit)
            await self._form(visit)
            sent = (await self._api(visit, ops.CHECK, {"id": window_id}))["checkNotifications"]
            return RedirectResponse(
                f"/desk/patients/{quote(window_id)}/checks/{quote(sent['check']['id'])}",
                status_code=303)

        @page("/patients/{window_id}/checks/{check_id}")
        async def check_page(visit: Visit, window_id: str, check_id: str) -> Response:
            self._signed_in(visit)
            data = await self._api(visit, ops.CHECK_STATE, {"id": window_id,
                                                            "check": check_id})
            template = ("check_states.html" if "fragment" in visit.request.query_params
                        else "check.html")
            limit = self._auth(visit.request).settings.desk_checks_per_person
            return self._render(visit, template, window=data["patientWindow"],
                                check=data["patientWindow"]["notificationCheck"], limit=limit)

        # -- staff management ---------------------------------------------------------------

        @page("/staff")
        async def staff_page(visit: Visit) -> Response:
            self._signed_in(visit)
            return await self._staff(visit)

        @page("/staff", ("POST",))
        async def staff_action(visit: Visit) -> Response:
            self._signed_in(visit)
            form = await self._form(visit)
            admin = self._auth(visit.request).staff_admin
            member = _session_member(visit)
            action = form.get("action", "")
            try:
                if action == "create":
                    created, code = await admin.create(
                        member, form.get("username", "")[:64],
                        form.get("display_name", "")[:100], form.get("role", "worker"))
                    return await self._staff(visit, issued=(created.username, code))
                target = _uuid(form.get("staff", ""))
                if action == "deactivate":
                    await admin.deactivate(member, target)
                elif action == "reactivate":
                    await admin.reactivate(member, target)
                elif action == "password-code":
                    code = await admin.password_code(member, target)
                    found = [m for m in await admin.staff_of(member) if m.id == target]
                    return await self._staff(visit, issued=(found[0].username, code))
            except Refused as refusal:
                return await self._staff(visit, 400, error=text(
                    refusal.reason if refusal.reason in TEXTS else "error_title",
                    visit.language))
            return RedirectResponse("/desk/staff", status_code=303)

        @page("/set-password")
        async def set_password_page(visit: Visit) -> Response:
            return self._render(visit, "set_password.html", error=None, username="")

        @page("/set-password", ("POST",))
        async def set_password(visit: Visit) -> Response:
            form = await self._form(visit)
            username = form.get("username", "")[:64]
            password = form.get("password", "")
            if password != form.get("repeat", ""):
                return self._render(visit, "set_password.html", 400, username=username,
                                    error=text("passwords_differ", visit.language))
            try:
                await self._auth(visit.request).staff_admin.set_password(
                    username, form.get("code", ""), password, _client(visit.request))
            except RateLimited as limited:
                return self._render(visit, "set_password.html", 429, username=username,
                                    error=text("rate_limited", visit.language, minutes=max(
                                        1, -(-limited.retry_after // 60))))
            except Refused as refusal:
                key = "PASSWORD_WEAK" if refusal.reason == "PASSWORD_WEAK" else "SETUP_WRONG_CODE"
                return self._render(visit, "set_password.html", 400, username=username,
                                    error=text(key, visit.language))
            return RedirectResponse("/desk/sign-in?saved=1", status_code=303)

        # -- help ---------------------------------------------------------------------------

        @page("/help")
        async def help_index(visit: Visit) -> Response:
            self._signed_in(visit)
            articles = self._help.articles(visit.language)
            return self._render(
                visit, "help_index.html",
                staff=[a for a in articles if a.audience is Audience.STAFF],
                citizens=[a for a in articles if a.audience is not Audience.STAFF])

        @page("/help/{slug}")
        async def help_article(visit: Visit, slug: str) -> Response:
            self._signed_in(visit)
            article = self._help.get(slug, visit.language)
            if article is None:
                raise Refusal(404, text("not_found_title", visit.language),
                              text("article_missing", visit.language))
            return self._render(visit, "help_article.html", article=article,
                                body=render_markdown(article.body))

        @page("/help/{slug}/handout")
        async def handout(visit: Visit, slug: str) -> Response:
            self._signed_in(visit)
            chosen = visit.request.query_params.get("lang", visit.language)
            patient_language = chosen if chosen in SUPPORTED_LANGUAGES else visit.language
            article = self._help.get(slug, patient_language)
            if article is None:
                raise Refusal(404, text("not_found_title", visit.language),
                              text("article_missing", visit.language))
            return self._render(
                visit, "handout.html", article=article, body=render_markdown(article.body),
                patient_language=patient_language,
                pt=lambda key, **fill: text(key, patient_language, **fill),
                qr=qr_svg(self._app_link, text("get_app", patient_language)),
                app_link=self._app_link)

        @page("/{rest:path}")
        async def unknown(visit: Visit, rest: str) -> Response:  # registered last
            raise Refusal(404, text("not_found_title", visit.language),
                          text("not_found_text", visit.language))

    # -- pages shared by several routes -----------------------------------------------------

    async def _home(self, visit: Visit, status: int = 200, *, sms: Mapping[str, Any] | None,
                    error: Mapping[str, Any] | None = None) -> Response:
        data = await self._api(visit, ops.OPEN_WINDOWS)
        return self._render(visit, "home.html", status, windows=data["patientWindows"],
                            sms=sms, error=error)

    async def _home_error(self, visit: Visit, error: Mapping[str, Any], form: str) -> Response:
        return await self._home(visit, 400, sms=None, error={**error, "form": form})

    async def _staff(self, visit: Visit, status: int = 200, *,
                     issued: tuple[str, Any] | None = None,
                     error: str | None = None) -> Response:
        admin = self._auth(visit.request).staff_admin
        member = _session_member(visit)
        if not member.is_admin:
            raise Refusal(403, text("staff_title", visit.language),
                          text("FORBIDDEN", visit.language))
        return self._render(visit, "staff.html", status, members=await admin.staff_of(member),
                            trail=await admin.trail(member), issued=issued, error=error,
                            me=member.id, group=group)


class _GoSignIn(Exception):
    """Not signed in (``expired``: a session cookie came, but its session has ended)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


def _session_member(visit: Visit) -> StaffMember:
    if visit.session is None:
        raise _GoSignIn(expired=False)
    return visit.session.member


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.UUID(int=0)  # matches no account: NOT_FOUND


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _auth_words(reason: str, language: str) -> str:
    words = AUTH_MESSAGES.get(reason, AUTH_MESSAGES["UNAUTHENTICATED"])
    return words.get(language) or words["kk"]


def add_desk_console(app: FastAPI, schema: Schema, context_for: ContextFor,
                     help_library: HelpLibrary, *, secure_cookies: bool,
                     app_link: str) -> None:
    """Mount the console's pages at ``/desk`` (``secure_cookies`` outside development;
    ``app_link``: where a handout's QR code sends a phone to get the app)."""
    app.include_router(DeskConsole(schema, context_for, help_library,
                                   secure_cookies=secure_cookies, app_link=app_link).router)
