"""Trailer inspections (motorpool-trailers plugin branch).

Revision ID: trailers_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "trailers_0001"
down_revision = None
branch_labels = ("trailers",)
depends_on = "0001_initial"


def upgrade():
    op.create_table(
        "trailer_inspections",
        sa.Column("coupling_checked", sa.Boolean(), nullable=False),
        sa.Column("landing_gear_checked", sa.Boolean(), nullable=False),
        sa.Column("air_lines_checked", sa.Boolean(), nullable=False),
        sa.Column("lights_checked", sa.Boolean(), nullable=False),
        sa.Column("tyres_checked", sa.Boolean(), nullable=False),
        sa.Column("inspection_notes", sa.Text(), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_date", sa.DateTime(), nullable=True),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("detail_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"], name=op.f("fk_trailer_inspections_completed_by_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_trailer_inspections_created_by_id_users")),
        sa.ForeignKeyConstraint(["detail_id"], ["all_dispatch_details.id"], name=op.f("fk_trailer_inspections_detail_id_all_dispatch_details")),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"], name=op.f("fk_trailer_inspections_dispatch_id_dispatches")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_trailer_inspections_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trailer_inspections")),
        sa.UniqueConstraint("detail_id", name=op.f("uq_trailer_inspections_detail_id")),
    )
    with op.batch_alter_table("trailer_inspections") as batch_op:
        for column in ("completed_by_id", "created_by_id", "dispatch_id", "updated_by_id"):
            batch_op.create_index(batch_op.f(f"ix_trailer_inspections_{column}"), [column], unique=False)


def downgrade():
    op.drop_table("trailer_inspections")
