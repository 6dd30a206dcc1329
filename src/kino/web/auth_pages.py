"""Signing up, in and out on the site, and resetting a forgotten password. The same services as
the API's /auth endpoints; the session lives in the ``kino_session`` cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from kino.core.errors import KinoError
from kino.core.http import DbSession
from kino.core.mail import AppMailer, send_quietly
from kino.core.ratelimit import AppRateLimiter
from kino.identity import service as identity
from kino.identity import sessions
from kino.identity.dependencies import ClientAddress
from kino.identity.errors import EmailTaken, WeakPassword
from kino.identity.schemas import (
    LoginRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
)
from kino.web.context import WebContext, safe_next
from kino.web.errors import PageRoute
from kino.web.forms import field_errors

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NextPath = Annotated[str | None, Query(alias="next", max_length=2000)]


# ---------------------------------------------------------------------------- sign in


@router.get("/login")
async def login_page(web: WebContext, next_path: NextPath = None) -> Response:
    if web.user is not None:
        return web.redirect(safe_next(next_path))
    return web.render("auth/login.html", {"next": safe_next(next_path), "values": {}})


@router.post("/login")
async def login(
    web: WebContext,
    session: DbSession,
    limiter: AppRateLimiter,
    client_address: ClientAddress,
) -> Response:
    form = await web.form()
    next_path = safe_next(form.get("next"))
    context = {"next": next_path, "values": {"email": form.get("email", "")}}
    try:
        credentials = LoginRequest(email=form.get("email", ""), password=form.get("password", ""))
        tokens = await sessions.sign_in(
            session,
            web.settings,
            limiter,
            email=credentials.email,
            password=credentials.password,
            client_address=client_address,
        )
    except ValidationError:
        message = "Enter your e-mail address and your password."
        return web.render("auth/login.html", {**context, "error": message}, status=422)
    except KinoError as error:
        context["error"] = error.message
        return web.render("auth/login.html", context, status=error.status)
    web.sign_in(tokens.refresh_token)
    return web.redirect(next_path, flash="signed_in")


@router.post("/logout")
async def logout(web: WebContext, session: DbSession) -> Response:
    await web.form()
    if web.session_token is not None:
        await sessions.sign_out(session, refresh_token=web.session_token)
    web.sign_out()
    return web.redirect("/", flash="signed_out")


# ---------------------------------------------------------------------------- sign up


@router.get("/register")
async def register_page(web: WebContext) -> Response:
    if web.user is not None:
        return web.redirect("/")
    return web.render("auth/register.html", {"values": {}, "errors": {}})


@router.post("/register")
async def register(web: WebContext, session: DbSession) -> Response:
    form = await web.form()
    values = {name: form.get(name, "") for name in ("display_name", "email")}
    try:
        body = RegisterRequest(
            email=form.get("email", ""),
            password=form.get("password", ""),
            display_name=form.get("display_name", ""),
        )
        user = await identity.create_user(
            session, email=body.email, password=body.password, display_name=body.display_name
        )
    except ValidationError as error:
        errors = field_errors(error)
        return _register_again(web, values, errors, 422)
    except WeakPassword as error:
        return _register_again(web, values, {"password": error.message}, 422)
    except EmailTaken as error:
        if not session.is_active:  # lost a race for the address at the insert: the error page
            raise
        return _register_again(web, values, {"email": error.message}, 409)
    tokens = await sessions.start_session(session, web.settings, user)
    web.sign_in(tokens.refresh_token)
    return web.redirect("/", flash="registered")


def _register_again(
    web: WebContext, values: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    return web.render("auth/register.html", {"values": values, "errors": errors}, status=status)


# ---------------------------------------------------------------------------- password reset


@router.get("/forgot-password")
async def forgot_password_page(web: WebContext) -> Response:
    return web.render("auth/forgot.html", {"values": {}, "error": None})


@router.post("/forgot-password")
async def forgot_password(
    web: WebContext,
    session: DbSession,
    limiter: AppRateLimiter,
    mailer: AppMailer,
    client_address: ClientAddress,
    background: BackgroundTasks,
) -> Response:
    form = await web.form()
    values = {"email": form.get("email", "")}
    try:
        body = PasswordResetRequest(email=values["email"])
        mail = await sessions.request_password_reset(
            session, web.settings, limiter, email=body.email, client_address=client_address
        )
    except ValidationError:
        error = "Enter the e-mail address of your account."
        return web.render("auth/forgot.html", {"values": values, "error": error}, status=422)
    except KinoError as failure:
        context = {"values": values, "error": failure.message}
        return web.render("auth/forgot.html", context, status=failure.status)
    if mail is not None:
        background.add_task(send_quietly, mailer, mail)
    response = web.redirect("/login", flash="reset_sent")
    response.background = background
    return response


@router.get("/reset-password")
async def reset_password_page(
    web: WebContext, token: Annotated[str, Query(max_length=512)] = ""
) -> Response:
    return web.render("auth/reset.html", {"token": token, "error": None})


@router.post("/reset-password")
async def reset_password(web: WebContext, session: DbSession) -> Response:
    form = await web.form()
    token = form.get("token", "")
    try:
        body = PasswordResetConfirm(token=token, password=form.get("password", ""))
        await sessions.confirm_password_reset(session, token=body.token, password=body.password)
    except ValidationError:
        error = "Choose a new password."
        return web.render("auth/reset.html", {"token": token, "error": error}, status=422)
    except KinoError as failure:
        context = {"token": token, "error": failure.message}
        return web.render("auth/reset.html", context, status=failure.status)
    web.sign_out()
    return web.redirect("/login", flash="reset_done")
