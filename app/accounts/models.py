"""People who sign in, what they may do, and their API tokens."""
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICIAL = "official"
    ORG_MEMBER = "org_member"
    COUNCIL_MEMBER = "council_member"
    ADMIN = "admin"
    MODERATOR = "moderator"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CITIZEN: _l("Citizen"),
    Role.OFFICIAL: _l("City official"),
    Role.ORG_MEMBER: _l("Organisation member"),
    Role.COUNCIL_MEMBER: _l("Council member"),
    Role.ADMIN: _l("Administrator"),
    Role.MODERATOR: _l("Moderator"),
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sign-in attempts since the last success or the last lock's end (app/accounts/signin.py).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Carried by every session and remember cookie (get_id); moved on by a sign-out or a new
    # password, so every cookie issued before it stops working.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    organisations: Mapped[list["Organisation"]] = relationship(  # noqa: F821
        secondary="organisation_members", back_populates="members", lazy="selectin",
        order_by="Organisation.name")

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    def has_role(self, *roles) -> bool:
        return bool(self.roles & {Role(r) for r in roles})

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}"

    def member_of(self, organisation) -> bool:
        return any(o.id == organisation.id for o in self.organisations)

    def __repr__(self):
        return f"<User {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored: the token is
    random (256 bits), so a fast hash is safe and keeps every API call cheap."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Throttle(db.Model):
    """A counter of attempts per key ("sign-in:address:…", "reset:email:…") within a fixed window:
    one row per key, bumped by one atomic upsert (app/accounts/throttles.py)."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    window_ends: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PasswordReset(db.Model):
    """A password-reset link: a random nonce, of which only the SHA-256 is kept (a copy of the
    database opens no account), good once and until `expires_at` (app/accounts/resets.py)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
