"""watchdog: part restarts, and articles by source and arrival

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('part_restarts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('part', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('at', store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('part_restarts', schema=None) as batch_op:
        batch_op.create_index('ix_part_restarts_part_at', ['part', 'at'], unique=False)
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_source_stored_at', ['source', 'stored_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_source_stored_at')
    with op.batch_alter_table('part_restarts', schema=None) as batch_op:
        batch_op.drop_index('ix_part_restarts_part_at')
    op.drop_table('part_restarts')
