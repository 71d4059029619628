"""Initial schema: users, the asset register and the Phase 3 dispatching data model.

The FK dispatches.event_id -> events.id closes a cycle with events.dispatch_id, so it is
added after both tables exist.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-22 20:31:49.813304

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_initial'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade():
    op.create_table('dispatch_number_sequences',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_dispatch_number_sequences'))
    )
    op.create_table('users',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_system', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'manager', 'technician')", name=op.f('ck_users_role_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_users_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_users_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_role'), ['role'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('asset_types',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_asset_types_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_asset_types_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_types')),
    sa.UniqueConstraint('name', name=op.f('uq_asset_types_name'))
    )
    with op.batch_alter_table('asset_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_types_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_types_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('major_locations',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_major_locations_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_major_locations_longitude_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_major_locations_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_major_locations_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_major_locations')),
    sa.UniqueConstraint('name', name=op.f('uq_major_locations_name'))
    )
    with op.batch_alter_table('major_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_major_locations_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_major_locations_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('plugin_settings',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_plugin_settings_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_plugin_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_settings')),
    sa.UniqueConstraint('name', name=op.f('uq_plugin_settings_name'))
    )
    with op.batch_alter_table('plugin_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plugin_settings_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plugin_settings_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('asset_type_dispatch_detail_table_sets',
    sa.Column('asset_type_id', sa.Integer(), nullable=False),
    sa.Column('dispatch_detail_table_type', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_type_id'], ['asset_types.id'], name=op.f('fk_asset_type_dispatch_detail_table_sets_asset_type_id_asset_types')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_asset_type_dispatch_detail_table_sets_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_asset_type_dispatch_detail_table_sets_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_type_dispatch_detail_table_sets')),
    sa.UniqueConstraint('asset_type_id', 'dispatch_detail_table_type', name=op.f('uq_asset_type_dispatch_detail_table_sets_asset_type_id_dispatch_detail_table_type'))
    )
    with op.batch_alter_table('asset_type_dispatch_detail_table_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_asset_type_id'), ['asset_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('make_models',
    sa.Column('make', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('asset_type_id', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_type_id'], ['asset_types.id'], name=op.f('fk_make_models_asset_type_id_asset_types')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_make_models_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_make_models_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_make_models')),
    sa.UniqueConstraint('make', 'model', name=op.f('uq_make_models_make_model'))
    )
    with op.batch_alter_table('make_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_make_models_asset_type_id'), ['asset_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_make_models_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_make_models_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('assets',
    sa.Column('asset_tag', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('asset_type_id', sa.Integer(), nullable=False),
    sa.Column('make_model_id', sa.Integer(), nullable=True),
    sa.Column('major_location_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('odometer', sa.Double(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('In Service', 'Out of Service')", name=op.f('ck_assets_status_known')),
    sa.CheckConstraint('odometer IS NULL OR odometer >= 0', name=op.f('ck_assets_odometer_not_negative')),
    sa.ForeignKeyConstraint(['asset_type_id'], ['asset_types.id'], name=op.f('fk_assets_asset_type_id_asset_types')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_assets_created_by_id_users')),
    sa.ForeignKeyConstraint(['major_location_id'], ['major_locations.id'], name=op.f('fk_assets_major_location_id_major_locations')),
    sa.ForeignKeyConstraint(['make_model_id'], ['make_models.id'], name=op.f('fk_assets_make_model_id_make_models')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_assets_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('asset_tag', name=op.f('uq_assets_asset_tag'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_asset_type_id'), ['asset_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_major_location_id'), ['major_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_make_model_id'), ['make_model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('model_additional_dispatch_detail_table_sets',
    sa.Column('make_model_id', sa.Integer(), nullable=False),
    sa.Column('dispatch_detail_table_type', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_model_additional_dispatch_detail_table_sets_created_by_id_users')),
    sa.ForeignKeyConstraint(['make_model_id'], ['make_models.id'], name=op.f('fk_model_additional_dispatch_detail_table_sets_make_model_id_make_models')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_model_additional_dispatch_detail_table_sets_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_additional_dispatch_detail_table_sets')),
    sa.UniqueConstraint('make_model_id', 'dispatch_detail_table_type', name=op.f('uq_model_additional_dispatch_detail_table_sets_make_model_id_dispatch_detail_table_type'))
    )
    with op.batch_alter_table('model_additional_dispatch_detail_table_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_make_model_id'), ['make_model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('dispatches',
    sa.Column('dispatch_number', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('created_date', sa.DateTime(), nullable=False),
    sa.Column('assigned_date', sa.DateTime(), nullable=True),
    sa.Column('started_date', sa.DateTime(), nullable=True),
    sa.Column('completed_date', sa.DateTime(), nullable=True),
    sa.Column('due_date', sa.DateTime(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('assigned_user_id', sa.Integer(), nullable=True),
    sa.Column('major_location_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('dispatch_location_id', sa.Integer(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("priority IN ('Low', 'Normal', 'High', 'Critical')", name=op.f('ck_dispatches_priority_known')),
    sa.CheckConstraint("status IN ('Created', 'Assigned', 'En Route', 'In Progress', 'Completed', 'Cancelled')", name=op.f('ck_dispatches_status_known')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_dispatches_asset_id_assets')),
    sa.ForeignKeyConstraint(['assigned_user_id'], ['users.id'], name=op.f('fk_dispatches_assigned_user_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_dispatches_created_by_id_users')),
    sa.ForeignKeyConstraint(['dispatch_location_id'], ['major_locations.id'], name=op.f('fk_dispatches_dispatch_location_id_major_locations')),
    sa.ForeignKeyConstraint(['major_location_id'], ['major_locations.id'], name=op.f('fk_dispatches_major_location_id_major_locations')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_dispatches_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatches')),
    sa.UniqueConstraint('dispatch_number', name=op.f('uq_dispatches_dispatch_number'))
    )
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatches_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_assigned_date'), ['assigned_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_assigned_user_id'), ['assigned_user_id'], unique=False)
        batch_op.create_index('ix_dispatches_assigned_user_id_status', ['assigned_user_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_completed_date'), ['completed_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_created_date'), ['created_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_dispatch_location_id'), ['dispatch_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_major_location_id'), ['major_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_started_date'), ['started_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_status'), ['status'], unique=False)
        batch_op.create_index('ix_dispatches_status_priority', ['status', 'priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('all_dispatch_details',
    sa.Column('table_name', sa.String(length=100), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_all_dispatch_details_created_by_id_users')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_all_dispatch_details_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_all_dispatch_details_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_all_dispatch_details'))
    )
    with op.batch_alter_table('all_dispatch_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_all_dispatch_details_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_all_dispatch_details_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_all_dispatch_details_table_name'), ['table_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_all_dispatch_details_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('dispatch_status_history',
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('status_from', sa.String(length=50), nullable=True),
    sa.Column('status_to', sa.String(length=50), nullable=False),
    sa.Column('change_reason', sa.Text(), nullable=True),
    sa.Column('changed_by_id', sa.Integer(), nullable=False),
    sa.Column('changed_date', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_dispatch_status_history_changed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_dispatch_status_history_created_by_id_users')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_dispatch_status_history_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_dispatch_status_history_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_status_history'))
    )
    with op.batch_alter_table('dispatch_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_status_history_changed_by_id'), ['changed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_status_history_changed_date'), ['changed_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_status_history_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_status_history_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_status_history_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('events',
    sa.Column('event_type', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('dispatch_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_events_asset_id_assets')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_events_created_by_id_users')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_events_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_events_updated_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_updated_by_id'), ['updated_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_dispatches_event_id_events'), 'events', ['event_id'], ['id'])

    op.create_table('truck_dispatch_checklists',
    sa.Column('tires_checked', sa.Boolean(), nullable=False),
    sa.Column('lights_checked', sa.Boolean(), nullable=False),
    sa.Column('brakes_checked', sa.Boolean(), nullable=False),
    sa.Column('fluids_checked', sa.Boolean(), nullable=False),
    sa.Column('safety_equipment_checked', sa.Boolean(), nullable=False),
    sa.Column('cargo_secured', sa.Boolean(), nullable=False),
    sa.Column('weight_distribution_verified', sa.Boolean(), nullable=False),
    sa.Column('load_manifest_verified', sa.Boolean(), nullable=False),
    sa.Column('registration_current', sa.Boolean(), nullable=False),
    sa.Column('insurance_current', sa.Boolean(), nullable=False),
    sa.Column('permits_obtained', sa.Boolean(), nullable=False),
    sa.Column('checklist_notes', sa.Text(), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.Column('completed_date', sa.DateTime(), nullable=True),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('detail_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['completed_by_id'], ['users.id'], name=op.f('fk_truck_dispatch_checklists_completed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_truck_dispatch_checklists_created_by_id_users')),
    sa.ForeignKeyConstraint(['detail_id'], ['all_dispatch_details.id'], name=op.f('fk_truck_dispatch_checklists_detail_id_all_dispatch_details')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_truck_dispatch_checklists_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_truck_dispatch_checklists_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_truck_dispatch_checklists')),
    sa.UniqueConstraint('detail_id', name=op.f('uq_truck_dispatch_checklists_detail_id'))
    )
    with op.batch_alter_table('truck_dispatch_checklists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_truck_dispatch_checklists_completed_by_id'), ['completed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_truck_dispatch_checklists_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_truck_dispatch_checklists_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_truck_dispatch_checklists_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('vehicle_dispatches',
    sa.Column('destination_address', sa.String(length=500), nullable=True),
    sa.Column('route_notes', sa.Text(), nullable=True),
    sa.Column('fuel_level_start', sa.Double(), nullable=True),
    sa.Column('fuel_level_end', sa.Double(), nullable=True),
    sa.Column('mileage_start', sa.Double(), nullable=True),
    sa.Column('mileage_end', sa.Double(), nullable=True),
    sa.Column('driver_notes', sa.Text(), nullable=True),
    sa.Column('passenger_count', sa.Integer(), nullable=True),
    sa.Column('safety_check_completed', sa.Boolean(), nullable=False),
    sa.Column('safety_check_date', sa.DateTime(), nullable=True),
    sa.Column('safety_check_by_id', sa.Integer(), nullable=True),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('detail_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('fuel_level_end IS NULL OR (fuel_level_end >= 0 AND fuel_level_end <= 100)', name=op.f('ck_vehicle_dispatches_fuel_level_end_percent')),
    sa.CheckConstraint('fuel_level_start IS NULL OR (fuel_level_start >= 0 AND fuel_level_start <= 100)', name=op.f('ck_vehicle_dispatches_fuel_level_start_percent')),
    sa.CheckConstraint('mileage_start IS NULL OR mileage_end IS NULL OR mileage_end >= mileage_start', name=op.f('ck_vehicle_dispatches_mileage_end_not_before_start')),
    sa.CheckConstraint('passenger_count IS NULL OR passenger_count >= 0', name=op.f('ck_vehicle_dispatches_passenger_count_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_vehicle_dispatches_created_by_id_users')),
    sa.ForeignKeyConstraint(['detail_id'], ['all_dispatch_details.id'], name=op.f('fk_vehicle_dispatches_detail_id_all_dispatch_details')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_vehicle_dispatches_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['safety_check_by_id'], ['users.id'], name=op.f('fk_vehicle_dispatches_safety_check_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_vehicle_dispatches_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_dispatches')),
    sa.UniqueConstraint('detail_id', name=op.f('uq_vehicle_dispatches_detail_id'))
    )
    with op.batch_alter_table('vehicle_dispatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_dispatches_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_dispatches_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_dispatches_safety_check_by_id'), ['safety_check_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_dispatches_updated_by_id'), ['updated_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('vehicle_dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_dispatches_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_vehicle_dispatches_safety_check_by_id'))
        batch_op.drop_index(batch_op.f('ix_vehicle_dispatches_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_vehicle_dispatches_created_by_id'))

    op.drop_table('vehicle_dispatches')
    with op.batch_alter_table('truck_dispatch_checklists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_truck_dispatch_checklists_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_truck_dispatch_checklists_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_truck_dispatch_checklists_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_truck_dispatch_checklists_completed_by_id'))

    op.drop_table('truck_dispatch_checklists')
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dispatches_event_id_events'), type_='foreignkey')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_events_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_events_event_type'))
        batch_op.drop_index(batch_op.f('ix_events_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_events_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_events_asset_id'))

    op.drop_table('events')
    with op.batch_alter_table('dispatch_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_status_history_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_status_history_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_status_history_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_status_history_changed_date'))
        batch_op.drop_index(batch_op.f('ix_dispatch_status_history_changed_by_id'))

    op.drop_table('dispatch_status_history')
    with op.batch_alter_table('all_dispatch_details', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_all_dispatch_details_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_all_dispatch_details_table_name'))
        batch_op.drop_index(batch_op.f('ix_all_dispatch_details_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_all_dispatch_details_created_by_id'))

    op.drop_table('all_dispatch_details')
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatches_updated_by_id'))
        batch_op.drop_index('ix_dispatches_status_priority')
        batch_op.drop_index(batch_op.f('ix_dispatches_status'))
        batch_op.drop_index(batch_op.f('ix_dispatches_started_date'))
        batch_op.drop_index(batch_op.f('ix_dispatches_priority'))
        batch_op.drop_index(batch_op.f('ix_dispatches_major_location_id'))
        batch_op.drop_index(batch_op.f('ix_dispatches_event_id'))
        batch_op.drop_index(batch_op.f('ix_dispatches_due_date'))
        batch_op.drop_index(batch_op.f('ix_dispatches_dispatch_location_id'))
        batch_op.drop_index(batch_op.f('ix_dispatches_created_date'))
        batch_op.drop_index(batch_op.f('ix_dispatches_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_dispatches_completed_date'))
        batch_op.drop_index('ix_dispatches_assigned_user_id_status')
        batch_op.drop_index(batch_op.f('ix_dispatches_assigned_user_id'))
        batch_op.drop_index(batch_op.f('ix_dispatches_assigned_date'))
        batch_op.drop_index(batch_op.f('ix_dispatches_asset_id'))

    op.drop_table('dispatches')
    with op.batch_alter_table('model_additional_dispatch_detail_table_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_make_model_id'))
        batch_op.drop_index(batch_op.f('ix_model_additional_dispatch_detail_table_sets_created_by_id'))

    op.drop_table('model_additional_dispatch_detail_table_sets')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_assets_status'))
        batch_op.drop_index(batch_op.f('ix_assets_make_model_id'))
        batch_op.drop_index(batch_op.f('ix_assets_major_location_id'))
        batch_op.drop_index(batch_op.f('ix_assets_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_assets_asset_type_id'))

    op.drop_table('assets')
    with op.batch_alter_table('make_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_make_models_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_make_models_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_make_models_asset_type_id'))

    op.drop_table('make_models')
    with op.batch_alter_table('asset_type_dispatch_detail_table_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_asset_type_dispatch_detail_table_sets_asset_type_id'))

    op.drop_table('asset_type_dispatch_detail_table_sets')
    with op.batch_alter_table('plugin_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plugin_settings_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_plugin_settings_created_by_id'))

    op.drop_table('plugin_settings')
    with op.batch_alter_table('major_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_major_locations_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_major_locations_created_by_id'))

    op.drop_table('major_locations')
    with op.batch_alter_table('asset_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_types_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_asset_types_created_by_id'))

    op.drop_table('asset_types')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_users_role'))
        batch_op.drop_index(batch_op.f('ix_users_created_by_id'))

    op.drop_table('users')
    op.drop_table('dispatch_number_sequences')
