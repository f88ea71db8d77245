"""The registry-desk console: staff roles, browser sessions, the staff audit trail, one-time
password codes, and consent confirmed by an SMS code.

- ``staff_account.role``: ``worker`` helps patients; ``admin`` also manages the clinic's staff.
  ``password_hash`` may be empty: an account made by an administrator has no password until
  its holder sets one with the one-time code the administrator hands over.
- ``desk_session``: a signed-in browser (the cookie holds a random token; only its HMAC is
  stored), with an idle and an absolute end.
- ``staff_audit``: every change an administrator (or the CLI) makes to a clinic's staff.
- ``staff_setup_code``: a one-time code (hashed) to set or reset a password.
- ``login_challenge.session_id``: the session that an onboarding's confirmation started (the
  desk follows the patient's steps: code shown, scanned, signed in, notifications on).
- ``notify.device`` by person, retired devices included (the desk's check lists every phone of
  a person and why it gets no pushes; the partial index held only live ones).
- ``consent_challenge``: a code sent by SMS to a patient's phone on record, read out to the
  worker who asked for it (5 attempts, 5 minutes): consent for a patient without the app.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.drop_index("ix_device_person", table_name="device", schema="notify")
    op.create_index("ix_device_person", "device", ["person_id"], schema="notify")
    op.add_column("login_challenge", sa.Column("session_id", sa.Uuid(), nullable=True),
                  schema="auth")
    op.create_index("ix_login_challenge_window_id", "login_challenge", ["window_id"],
                    schema="auth", postgresql_where=sa.text("window_id IS NOT NULL"))
    op.add_column("staff_account", sa.Column("role", sa.Text(), server_default="worker",
                                             nullable=False), schema="auth")
    op.create_check_constraint(op.f("ck_staff_account_role"), "staff_account", "role IN ('worker', 'admin')",
                               schema="auth")
    op.alter_column("staff_account", "password_hash", nullable=True, schema="auth")
    op.create_index("ix_staff_account_provider_id", "staff_account", ["provider_id"],
                    schema="auth")

    op.create_table(
        "desk_session",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey(
            "auth.staff_account.id", name="fk_desk_session_staff_id_staff_account"),
            nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW,
                  nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_desk_session_token_hash"),
        schema="auth")
    op.create_index("ix_desk_session_staff_id", "desk_session", ["staff_id"], schema="auth",
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_desk_session_expires_at", "desk_session", ["expires_at"],
                    schema="auth")

    op.create_table(
        "staff_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("target_username", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint("action IN ('created', 'deactivated', 'reactivated', "
                           "'password_code_issued', 'password_set')",
                           name="ck_staff_audit_action"),
        schema="auth")
    op.create_index("ix_staff_audit_provider_id_id", "staff_audit", ["provider_id", "id"],
                    schema="auth")

    op.create_table(
        "staff_setup_code",
        sa.Column("code_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey(
            "auth.staff_account.id", name="fk_staff_setup_code_staff_id_staff_account"),
            nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW,
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        schema="auth")
    op.create_index("ix_staff_setup_code_staff_id", "staff_setup_code", ["staff_id"],
                    schema="auth")

    op.create_table(
        "consent_challenge",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey(
            "auth.staff_account.id", name="fk_consent_challenge_staff_id_staff_account"),
            nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW,
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        schema="auth")
    op.create_index("ix_consent_challenge_staff_id", "consent_challenge", ["staff_id"],
                    schema="auth")


def downgrade() -> None:
    op.drop_index("ix_device_person", table_name="device", schema="notify")
    op.create_index("ix_device_person", "device", ["person_id"], schema="notify",
                    postgresql_where=sa.text("retired_at IS NULL"))
    op.drop_table("consent_challenge", schema="auth")
    op.drop_index("ix_login_challenge_window_id", table_name="login_challenge", schema="auth")
    op.drop_column("login_challenge", "session_id", schema="auth")
    op.drop_table("staff_setup_code", schema="auth")
    op.drop_table("staff_audit", schema="auth")
    op.drop_table("desk_session", schema="auth")
    op.drop_index("ix_staff_account_provider_id", table_name="staff_account", schema="auth")
    op.execute("UPDATE auth.staff_account SET password_hash = '' WHERE password_hash IS NULL")
    op.alter_column("staff_account", "password_hash", nullable=False, schema="auth")
    op.drop_constraint(op.f("ck_staff_account_role"), "staff_account", schema="auth")
    op.drop_column("staff_account", "role", schema="auth")
