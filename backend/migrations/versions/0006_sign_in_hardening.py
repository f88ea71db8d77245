"""Sign-in hardening: what a login challenge needs so that throttles protect the person
rather than the attacker, and so that desk onboarding is confirmed by an SMS code.

``subject_key`` is the HMAC digest of the IIN with the phone typed (never either one): wrong
codes are counted per subject across challenges, and a challenge made once the phone's daily
SMS ceiling is reached accepts the code already sent for the same subject (``code_of``).
``window_id`` marks a challenge that confirms a registry-desk onboarding code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("login_challenge", sa.Column("subject_key", sa.LargeBinary(), nullable=True),
                  schema="auth")
    op.add_column("login_challenge", sa.Column("code_of", sa.Uuid(), nullable=True),
                  schema="auth")
    op.add_column("login_challenge", sa.Column("window_id", sa.Uuid(), nullable=True),
                  schema="auth")
    op.create_index(op.f("ix_login_challenge_subject_key_created_at"), "login_challenge",
                    ["subject_key", "created_at"], unique=False, schema="auth",
                    postgresql_where=sa.text("subject_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index(op.f("ix_login_challenge_subject_key_created_at"),
                  table_name="login_challenge", schema="auth",
                  postgresql_where=sa.text("subject_key IS NOT NULL"))
    op.drop_column("login_challenge", "window_id", schema="auth")
    op.drop_column("login_challenge", "code_of", schema="auth")
    op.drop_column("login_challenge", "subject_key", schema="auth")
