"""The gateway's own tables: clients (tenants), their agents, and agents' refresh tokens."""
import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.enums import AGENT_ROLES

ROLES = AGENT_ROLES
ADMIN = "admin"
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
    # Per-client settings other services read from the directory (accounts/directory.py adds defaults).
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=sa.text("'{}'::jsonb"))


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
    # The name the agent chose on their profile (shown instead of `name` when set).
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    # E-mail preferences, read by the notifier through the directory (both on by default).
    notify_customer_messages: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    notify_assignments: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    # When the agent last signed in or had a console page give them a token (at most once a minute).
    last_seen_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Until the invitation is accepted the agent has no password of their own: they cannot sign in.
    invited_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    password_set: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="ck_agents_role"),)

    @property
    def shown_name(self):
        return self.display_name or self.name


class AgentLink(Base):
    """A single-use link sent by e-mail: an invitation (set your password) or a password reset.

    Stored as the SHA-256 of its token (256 random bits, only ever in the e-mail); it works until
    `expires_at`, once (`used_at`), and a newer link of the same purpose for the agent voids it.
    """

    __tablename__ = "agent_links"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    # "invite" or "reset"
    purpose: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


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
