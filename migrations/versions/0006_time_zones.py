"""Each user may choose the time zone they see and type times in

Revision ID: 0006_time_zones
Revises: 0005_case_insensitive_names
Create Date: 2026-12-02 01:00:00

- ``users.time_zone``: an IANA zone name, or NULL for the organisation's zone
  (``MOTORPOOL_TIMEZONE``). Existing users get NULL, so they keep seeing what the
  organisation's setting says (UTC unless it is set).
- Technicians' shift days and times are now read in their zone; with the default UTC
  organisation zone nothing changes for existing profiles.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_time_zones'
down_revision = '0005_case_insensitive_names'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild): many tables' foreign keys point at users.
    op.add_column('users', sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite's own DROP COLUMN: a batch rebuild would drop a table others point at.
        op.execute('ALTER TABLE users DROP COLUMN time_zone')
    else:
        op.drop_column('users', 'time_zone')
