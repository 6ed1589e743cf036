"""Flask extensions, created without an app and bound to it in `create_app`."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.session_protection = "strong"

# Sign-in throttling; its storage is RATELIMIT_STORAGE_URI (memory:// here, Redis in production).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
