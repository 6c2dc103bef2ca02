"""Users, roles, sessions and personal API tokens for the web interface and the HTTP API.

Passwords are argon2id hashes (argon2-cffi); API tokens are random 256-bit
secrets shown once and stored only as their SHA-256 (a token has the entropy a
password lacks, so a fast hash is enough); sessions are random ids stored here
and handed to the browser in a signed cookie, each with its own CSRF token.
Roles: viewer (read), analyst (read, watchlists, exports), admin (everything,
users and the audit trail).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from stores import open_sqlite

ROLES = ("viewer", "analyst", "admin")
TOKEN_PREFIX = "ow_"
SESSION_HOURS = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()
# Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool = False

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Accounts:
    def __init__(self, path: Path):
        self._db = open_sqlite(path, threads=True, autocommit=True)
        self._lock = threading.Lock()
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, user TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
                label TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT, last_used TEXT);
            CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                expires REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)

    def close(self) -> None:
        self._db.close()

    def _execute(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def secret_key(self) -> str:
        """The key that signs session cookies: made once, kept with the accounts."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = 'cookie_key'").fetchone()
            if row:
                return row[0]
            key = secrets.token_urlsafe(48)
            self._db.execute("INSERT INTO settings VALUES ('cookie_key', ?)", (key,))
            return key

    # -- users ----------------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: str = "viewer") -> User:
        if not _NAME.match(name or ""):
            raise AccountError("a user name is 1-64 letters, digits or . _ @ -")
        if role not in ROLES:
            raise AccountError(f"no role {role!r} (choose from {', '.join(ROLES)})")
        if len(password or "") < 10:
            raise AccountError("a password needs at least 10 characters")
        try:
            self._execute("INSERT INTO users VALUES (?, ?, ?, 0, ?)", (name, role, _hasher.hash(password), _now()))
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} exists already") from None
        return User(name, role)

    def user(self, name: str) -> User | None:
        row = self._execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return User(row["name"], row["role"], bool(row["disabled"])) if row else None

    def users(self) -> list[dict]:
        rows = self._execute("SELECT name, role, disabled, created FROM users ORDER BY name").fetchall()
        return [{**dict(row), "disabled": bool(row["disabled"])} for row in rows]

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        if self._execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)).rowcount == 0:
            raise AccountError(f"no user {name!r}")
        if disabled:
            self._execute("DELETE FROM sessions WHERE user = ?", (name,))

    def authenticate(self, name: str, password: str) -> User | None:
        row = self._execute("SELECT * FROM users WHERE name = ?", (name or "",)).fetchone()
        try:
            _hasher.verify(row["password"] if row else _DUMMY_HASH, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if _hasher.check_needs_rehash(row["password"]):
            self._execute("UPDATE users SET password = ? WHERE name = ?", (_hasher.hash(password), name))
        return User(row["name"], row["role"])

    # -- API tokens -----------------------------------------------------------------------------
    def create_token(self, user: str, label: str = "") -> tuple[str, str]:
        """A new token for ``user``: returns (token id, the secret, shown only now)."""
        if self.user(user) is None:
            raise AccountError(f"no user {user!r}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        self._execute("INSERT INTO tokens (id, user, hash, label, created) VALUES (?, ?, ?, ?, ?)",
                      (token_id, user, _sha256(secret), (label or "")[:100], _now()))
        return token_id, secret

    def tokens(self, user: str | None = None) -> list[dict]:
        sql = "SELECT id, user, label, created, revoked, last_used FROM tokens"
        rows = self._execute(sql + (" WHERE user = ?" if user else "") + " ORDER BY created, id",
                             (user,) if user else ()).fetchall()
        return [dict(row) for row in rows]

    def revoke_token(self, token_id: str, user: str | None = None) -> bool:
        sql = "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL" + (" AND user = ?" if user else "")
        return self._execute(sql, (_now(), token_id, user) if user else (_now(), token_id)).rowcount > 0

    def user_for_token(self, secret: str) -> User | None:
        if not secret.startswith(TOKEN_PREFIX):
            return None
        row = self._execute("SELECT id, user FROM tokens WHERE hash = ? AND revoked IS NULL",
                            (_sha256(secret),)).fetchone()
        if row is None:
            return None
        user = self.user(row["user"])
        if user is None or user.disabled:
            return None
        self._execute("UPDATE tokens SET last_used = ? WHERE id = ?", (_now(), row["id"]))
        return user

    # -- sessions -------------------------------------------------------------------------------
    def start_session(self, user: str) -> tuple[str, str]:
        """A new session: returns (session id for the cookie, its CSRF token)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
        self._execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                      (_sha256(session_id), user, csrf, time.time() + SESSION_HOURS * 3600))
        return session_id, csrf

    def session(self, session_id: str) -> tuple[User, str] | None:
        row = self._execute("SELECT user, csrf, expires FROM sessions WHERE id_hash = ?",
                            (_sha256(session_id),)).fetchone()
        if row is None or row["expires"] < time.time():
            return None
        user = self.user(row["user"])
        if user is None or user.disabled:
            return None
        return user, row["csrf"]

    def end_session(self, session_id: str) -> None:
        self._execute("DELETE FROM sessions WHERE id_hash = ?", (_sha256(session_id),))


class LoginLimiter:
    """At most ``attempts`` failed logins per address and per user name in ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0):
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        self._failures[key] = times
        return times

    def blocked(self, address: str, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.attempts for key in (f"ip:{address}", f"user:{name}"))

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{name}"):
                self._recent(key, now).append(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name}", None)
