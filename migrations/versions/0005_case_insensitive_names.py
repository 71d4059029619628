"""Names unique whatever their case; master detail rows carry their label and sign-off

Revision ID: 0005_case_insensitive_names
Revises: 0004_auth
Create Date: 2026-12-01 23:00:00

- A unique index on lower(...) for skill, asset type and location names, make/model pairs,
  asset tags and user emails. Existing names that differ only by case stop the upgrade with
  a message listing them: they are different records that other rows point at, and which
  one should stay is a person's decision (rename or merge them, then upgrade again).
  Dispatches' required skill and asset types' default skill take the skill's own spelling.
- ``all_dispatch_details`` gets ``label``, ``signed_off_at`` and ``signed_off_by_id``,
  filled from the concrete detail tables that exist, so a checklist whose plugin is not
  loaded is still known, shown and counted by the completion rule.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_case_insensitive_names'
down_revision = '0004_auth'
branch_labels = None
depends_on = None

#: (index name, table, columns) — each index is unique on lower() of the columns.
CASE_INSENSITIVE = (
    ("uq_skills_lower_name", "skills", ("name",)),
    ("uq_asset_types_lower_name", "asset_types", ("name",)),
    ("uq_major_locations_lower_name", "major_locations", ("name",)),
    ("uq_make_models_lower_make_model", "make_models", ("make", "model")),
    ("uq_assets_lower_asset_tag", "assets", ("asset_tag",)),
    ("uq_users_lower_email", "users", ("email",)),
)

#: Sign-off columns of the detail tables Motorpool ships and of the example plugin. Another
#: plugin's table is read through its model when the plugin is loaded, else by the
#: default column names (``completed_date`` / ``completed_by_id``) when it has them.
KNOWN_DETAIL_TABLES = {
    "vehicle_dispatches": ("Vehicle dispatch", "safety_check_date", "safety_check_by_id"),
    "truck_dispatch_checklists": ("Truck dispatch checklist", "completed_date", "completed_by_id"),
    "trailer_inspections": ("Trailer inspection", "completed_date", "completed_by_id"),
}


def _refuse_duplicates(connection) -> None:
    found = []
    for _name, table, columns in CASE_INSENSITIVE:
        lowered = ", ".join(f"lower({c})" for c in columns)
        shown = " || ' ' || ".join(columns)
        rows = connection.execute(sa.text(
            f"SELECT {shown} FROM {table} WHERE ({lowered}) IN "
            f"(SELECT {lowered} FROM {table} GROUP BY {lowered} HAVING count(*) > 1) ORDER BY {lowered}, id"
        )).scalars().all()
        if rows:
            found.append(f"{table}: {', '.join(repr(r) for r in rows)}")
    if found:
        raise RuntimeError(
            "These names differ only by case and must become one before upgrading (rename or merge each "
            "group, then run `flask db upgrade` again): " + "; ".join(found)
        )


def _canonical_skill_spelling(connection) -> None:
    for table, column in (("dispatches", "required_skill"), ("asset_types", "default_skill")):
        connection.execute(sa.text(
            f"UPDATE {table} SET {column} = (SELECT s.name FROM skills s WHERE lower(s.name) = lower({table}.{column})) "
            f"WHERE {column} IS NOT NULL AND EXISTS (SELECT 1 FROM skills s WHERE lower(s.name) = lower({table}.{column}) "
            f"AND s.name <> {table}.{column})"
        ))


def _registered_detail_tables() -> dict[str, tuple[str, str, str]]:
    """Label and sign-off columns of the types the running application has loaded, if any."""
    try:
        from app.models.dispatching.build import detail_types

        return {t.table_name: (t.label, t.model.signed_off_at_column, t.model.signed_off_by_column)
                for t in detail_types()}
    except Exception:  # not run inside the application: the known tables suffice
        return {}


def _backfill_master_rows(connection) -> None:
    inspector = sa.inspect(connection)
    existing = set(inspector.get_table_names())
    described = {**KNOWN_DETAIL_TABLES, **_registered_detail_tables()}
    used = connection.execute(sa.text("SELECT DISTINCT table_name FROM all_dispatch_details")).scalars().all()
    for table in used:
        label, at_column, by_column = described.get(table, (None, "completed_date", "completed_by_id"))
        if label is not None:
            connection.execute(sa.text("UPDATE all_dispatch_details SET label = :label WHERE table_name = :table"),
                               {"label": label, "table": table})
        if table not in existing:
            continue  # dropped with its plugin: its sign-offs are unknown, the rows stay unsigned
        columns = {c["name"] for c in inspector.get_columns(table)}
        if not {at_column, by_column, "detail_id"} <= columns:
            continue
        connection.execute(sa.text(
            f"UPDATE all_dispatch_details SET "
            f"signed_off_at = (SELECT d.{at_column} FROM {table} d WHERE d.detail_id = all_dispatch_details.id), "
            f"signed_off_by_id = (SELECT d.{by_column} FROM {table} d WHERE d.detail_id = all_dispatch_details.id) "
            f"WHERE table_name = :table"
        ), {"table": table})


def upgrade():
    connection = op.get_bind()
    _refuse_duplicates(connection)
    _canonical_skill_spelling(connection)
    for name, table, columns in CASE_INSENSITIVE:
        op.create_index(name, table, [sa.text(f"lower({c})") for c in columns], unique=True)

    # Plain ADD COLUMN (no table rebuild): the detail tables' foreign keys point at this table.
    op.add_column('all_dispatch_details', sa.Column('label', sa.String(length=200), nullable=True))
    op.add_column('all_dispatch_details', sa.Column('signed_off_at', sa.DateTime(), nullable=True))
    op.add_column('all_dispatch_details', sa.Column('signed_off_by_id', sa.Integer(), nullable=True))
    _backfill_master_rows(connection)


def downgrade():
    for column in ('signed_off_by_id', 'signed_off_at', 'label'):
        if op.get_bind().dialect.name == 'sqlite':
            # SQLite's own DROP COLUMN: a batch rebuild would drop a table others point at.
            op.execute(f'ALTER TABLE all_dispatch_details DROP COLUMN {column}')
        else:
            op.drop_column('all_dispatch_details', column)
    for name, table, _columns in reversed(CASE_INSENSITIVE):
        op.drop_index(name, table_name=table)
