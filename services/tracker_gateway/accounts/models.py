"""The gateway's own tables: clients (tenants), their agents, and agents' refresh tokens."""
import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("admin", "agent")
# A client's slug, as tenants.slugify makes them: lower-case letters and digits in dash-separated runs.
SLUG_MAX = 64
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def is_slug(text):
    return isinstance(text, str) and len(text) <= SLUG_MAX and SLUG_PATTERN.fullmatch(text) is not None


class Base(DeclarativeBase):
    pass


class Client(Base):
    """A tenant: every ticket belongs to one, and its id is the tickets service's client_id."""

    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Stored lower-cased: one login per address whatever the capitals typed.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="ck_agents_role"),)


class RefreshToken(Base):
    """One refresh token, stored as its SHA-256 (the token itself is 256 random bits, shown once).

    Tokens rotated from one login share a `family_id`: presenting a token that was already
    rotated means it was copied, and the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # "rotated", "logout", "reuse" or "deactivated": why it stopped working (for audits).
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(20))
