"""A programme's eligibility list and what comes of it: the people on it (as keyed hashes), the
accounts proven to be theirs, the vouchers granted from it and the letters posted to those without
an email (vouchers/eligibility.py, vouchers/letters.py)."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db

from .models import Voucher


class EligibilityEntry(db.Model):
    """One person on a programme's eligibility list, as the city's office sent it: the identifier
    only as its keyed hash (vouchers/eligibility.py), never as typed."""

    __tablename__ = "voucher_eligibility"
    __table_args__ = (UniqueConstraint("programme_id", "identity_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"))
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    income_cents: Mapped[int] = mapped_column(BigInteger)
    # What the programme's scale gave this income when the list was loaded.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(254))
    postal_address: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(5))
    line: Mapped[int] = mapped_column(Integer)


class ResidentVerification(db.Model):
    """An account proven to be a resident on a list: the match (the identifier's keyed hash), one
    account per person and one person per account."""

    __tablename__ = "voucher_resident_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    identity_hash: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EligibilityGrant(db.Model):
    """A programme's voucher given to a person from its list: once per person per programme (the
    unique constraint is what guarantees it, under concurrency too)."""

    __tablename__ = "voucher_eligibility_grants"
    __table_args__ = (UniqueConstraint("programme_id", "identity_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"))
    identity_hash: Mapped[str] = mapped_column(String(64))
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Letter(db.Model):
    """A voucher sent by post to someone on a programme's list without an email (vouchers/letters.py):
    where it goes, in which language, and the keyed hash of the activation code printed on it (a
    fresh code each time it is printed; None once activated). Its voucher has no holder until then."""

    __tablename__ = "voucher_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"), index=True)
    postal_address: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(5))
    activation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    voucher: Mapped[Voucher] = relationship(lazy="joined")
