"""Sign-in, sign-out, the language choice, and the session rules every request obeys.

Every page needs a signed-in user except the sign-in page itself, the health checks
and static files: the check runs before every request, so a view that forgets
``@login_required`` still shows nothing to a stranger. A session ends after
``NRMFLOW_SESSION_TIMEOUT_MINUTES`` without a request, measured on the app's
clock. Signing in starts a new session (and CSRF token), so a session id
planted before sign-in is worth nothing after it. Failed sign-ins are limited
per account (a lock-out) and per client address (engine/sign_in_limits.py),
the latter checked before the password costs any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from engine import accounts, sign_in_limits
from engine.clock import Clock, as_utc
from engine.errors import SignInFailed, UserNotFound
from engine.training_clock import wall_clock
from engine.users import UserView, find_user
from web import api, services
from web.extensions import login_manager
from web.i18n import LANGUAGES
from web.typed_text import without_nul
from workflows.hooks import CASE_PROCESS

EPOCH = "session_epoch"  # the account's epoch at sign-in (engine/models.User.session_epoch)
blueprint = Blueprint("auth", __name__)

OPEN_ENDPOINTS = frozenset({"static"})  # no session work at all
# blueprints that never use the session: health checks, and the API (a token per request)
SESSIONLESS_BLUEPRINTS = frozenset({"health", "api"})
PUBLIC_ENDPOINTS = frozenset({"auth.sign_in"})


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


login_manager.login_message = N_("Please sign in to see this page.")
login_manager.login_message_category = "info"
login_manager.localize_callback = _


@dataclass(frozen=True, eq=False)
class StaffUser(UserMixin):
    """The signed-in person as the web layer needs them: loaded fresh on every request."""

    username: str
    agency: str | None
    roles: set[str] = field(default_factory=set)
    language: str | None = None
    session_epoch: int = 0

    @property
    def may_start_referral(self) -> bool:
        return services.runtime().hooks.may_start(CASE_PROCESS, set(self.roles))

    @property
    def may_monitor(self) -> bool:
        return services.runtime().hooks.may_monitor(set(self.roles))

    @property
    def may_edit_models(self) -> bool:
        """The coordinator: process models, the modeler, moving cases to a new version."""
        return services.runtime().hooks.may_deploy(set(self.roles))

    @property
    def may_read_history(self) -> bool:
        """Auditors and the coordinator: the audit log, integrity, case histories."""
        return services.runtime().hooks.may_read_history(set(self.roles))

    def get_id(self) -> str:
        return self.username


@login_manager.user_loader
def load_staff_user(username: str) -> StaffUser | None:
    with services.database().reader() as db_session:
        try:
            user = find_user(db_session, username)
        except UserNotFound:
            return None
        return StaffUser(
            user.username, user.agency, set(user.role_names), user.language, user.session_epoch
        )


class SignInForm(FlaskForm):
    username = StringField(
        lazy_gettext("User name"),
        validators=[
            InputRequired(message=lazy_gettext("Enter your user name.")),
            Length(max=200, message=lazy_gettext("A user name has at most 200 characters.")),
        ],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[
            InputRequired(message=lazy_gettext("Enter your password.")),
            Length(max=1000, message=lazy_gettext("A password has at most 1000 characters.")),
        ],
    )


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site; anything that could leave it is dropped."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # browsers read "/\\evil" as "//evil"; control characters hide tricks
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _referrer_path() -> str | None:
    """The page the request came from, as a local path, if it is on this host."""
    parts = urlsplit(request.referrer or "")
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return safe_next(urlunsplit(("", "", parts.path, parts.query, "")))


def _sign_in_url() -> str:
    """Back to where the person was after sign-in, when that was a page (a GET)."""
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return url_for("auth.sign_in", next=safe_next(back))


def _home() -> str:
    return url_for("inbox.index")


@blueprint.before_app_request
def require_active_session() -> ResponseReturnValue | None:
    if request.endpoint in OPEN_ENDPOINTS or request.blueprint in SESSIONLESS_BLUEPRINTS:
        return None
    if api.is_api_request():
        return None  # a wrong API or health request answers as such, never with a sign-in page
    if not current_user.is_authenticated:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.endpoint is not None:
            flash(_(login_manager.login_message), login_manager.login_message_category)
        return redirect(_sign_in_url())
    if session.get(EPOCH, 0) != current_user.session_epoch:  # none: signed in before epochs
        return _end_session(
            _("Your session has ended: the account signed out or its password changed.")
        )
    now = _people_clock().now()
    if _inactive_too_long(now):
        minutes = services.settings().session_timeout_minutes
        return _end_session(
            _(
                "You were signed out after %(minutes)s minutes without activity.",
                minutes=f"{minutes:g}",
            )
        )
    session["last_seen"] = now.isoformat()
    return None


def _end_session(message: str) -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(_sign_in_url())


def _people_clock() -> Clock:
    """Real time for rules about people (inactivity, lock-out): a training deployment's
    moved clock must not sign everyone out or lift a lock-out early."""
    return wall_clock(services.runtime().clock)


def _inactive_too_long(now: datetime) -> bool:
    last_seen = session.get("last_seen")
    if last_seen is None:
        return False  # a session older than this rule: start counting now
    try:
        seen = as_utc(datetime.fromisoformat(last_seen))
    except (TypeError, ValueError):
        return True
    timeout = timedelta(minutes=services.settings().session_timeout_minutes)
    return now - seen > timeout


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or _home())
    form = SignInForm()
    failure = None
    if form.validate_on_submit():
        try:
            username = without_nul(form.username.data or "")  # such a name is nobody's
            view = _authenticate(username, form.password.data or "")
        except SignInFailed as error:
            failure = _failure_message(error)
        else:
            session.clear()  # a new session: nothing from before sign-in carries over
            staff = load_staff_user(view.username)
            assert staff is not None  # authenticate just found the account
            login_user(staff)
            session[EPOCH] = staff.session_epoch
            session.permanent = True
            session["last_seen"] = _people_clock().now().isoformat()
            return redirect(target or _home())
    return render_template("auth/sign_in.html", form=form, failure=failure, next=target)


def _authenticate(username: str, password: str) -> UserView:
    """The account's check, behind the client address's limit (SignInFailed either way).

    The address is ``request.remote_addr``: behind a reverse proxy that is the
    proxy's, unless the WSGI server or ProxyFix puts the client's there.
    """
    settings, db, clock = services.settings(), services.database(), _people_clock()
    address = sign_in_limits.address_key(settings.secret_key, request.remote_addr)
    limit = sign_in_limits.AddressLimit.from_settings(settings)
    attempt = sign_in_limits.admit_attempt(db, address, clock.now(), limit)
    view = accounts.authenticate(
        db,
        username,
        password,
        clock,
        settings.sign_in_max_failures,
        settings.sign_in_lockout_minutes,
    )
    sign_in_limits.forget_success(db, attempt)
    return view


def _failure_message(error: SignInFailed) -> str:
    if error.locked_until is not None:
        return _(
            "Account locked until %(time)s UTC after repeated failures.",
            time=f"{error.locked_until:%H:%M}",
        )
    return _("Wrong user name or password.")


@blueprint.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Ends every session of the account, so a copied session cookie dies with this one."""
    if current_user.is_authenticated:
        accounts.end_sessions(services.database(), current_user.username)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@blueprint.post("/language")
@login_required
def set_language() -> ResponseReturnValue:
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        abort(400)
    accounts.set_language(services.database(), current_user.username, language)
    return redirect(_referrer_path() or _home())
