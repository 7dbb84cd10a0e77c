"""The transparency logs of the city's books (app/books): their stored Merkle nodes, which row
each leaf is, the signed checkpoints and the witnesses who countersign them. Append-only."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, SmallInteger, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class BooksNode(db.Model):
    """A complete subtree of a log: the hash of the 2**level leaves from index * 2**level
    (level 0: a leaf hash). Written once, when its last leaf enters the log."""
    __tablename__ = "books_nodes"

    log: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class BooksLeaf(db.Model):
    """Which row of its source (a transfer, an audit entry) a log's leaf is."""
    __tablename__ = "books_leaves"
    __table_args__ = (db.UniqueConstraint("log", "source_id", name="uq_books_leaves_source"),)

    log: Mapped[str] = mapped_column(String(20), primary_key=True)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    source_id: Mapped[int] = mapped_column(BigInteger)


class Checkpoint(db.Model):
    """A signed tree head of both logs at one moment; `note` is the signed note as published."""
    __tablename__ = "books_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_size: Mapped[int] = mapped_column(BigInteger)
    ledger_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    audit_size: Mapped[int] = mapped_column(BigInteger)
    audit_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)

    cosignatures: Mapped[list["Cosignature"]] = relationship(back_populates="checkpoint",
                                                             order_by="Cosignature.id")


class Witness(db.Model):
    """A key the city registered to countersign checkpoints (a council's civil-side member, an
    accredited co-op): its name and Ed25519 public key, in the signed-note verifier-key form."""
    __tablename__ = "books_witnesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    description: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cosignature(db.Model):
    """A witness's signature line on a checkpoint's note."""
    __tablename__ = "books_cosignatures"
    __table_args__ = (db.UniqueConstraint("checkpoint_id", "witness_id", name="uq_books_cosignatures"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("books_checkpoints.id"), index=True)
    witness_id: Mapped[int] = mapped_column(ForeignKey("books_witnesses.id"))
    line: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    checkpoint: Mapped[Checkpoint] = relationship(back_populates="cosignatures")
    witness: Mapped[Witness] = relationship(lazy="joined")


@event.listens_for(BooksNode, "before_update")
@event.listens_for(BooksNode, "before_delete")
@event.listens_for(BooksLeaf, "before_update")
@event.listens_for(BooksLeaf, "before_delete")
@event.listens_for(Checkpoint, "before_update")
@event.listens_for(Checkpoint, "before_delete")
@event.listens_for(Cosignature, "before_update")
@event.listens_for(Cosignature, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("the books' logs and checkpoints are append-only")
