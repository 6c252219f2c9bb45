"""articles keep their date's precision; source status counts pages refused as non-articles

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns are added with ALTER TABLE (a batch on SQLite does not rebuild a table to add one).
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_precision', sa.String(length=8), nullable=False,
                                      server_default='second'))
    with op.batch_alter_table('source_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_article', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_not_article', sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later have it), not a batch operation:
    # on SQLite a batch rebuilds the table, and dropping the old articles table deletes every
    # prediction and ticker row through their ON DELETE CASCADE.
    for table, column in (('source_status', 'last_not_article'), ('source_status', 'not_article'),
                          ('articles', 'published_precision')):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
