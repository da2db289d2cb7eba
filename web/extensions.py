"""Flask extensions created once and bound to the app in ``create_app``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.session_protection = "strong"
