"""Matching: technician profiles and skills, dispatch metrics, dispatch matching fields.

Existing dispatches get an estimated duration of 2 hours.

Revision ID: 0002_matching
Revises: 0001_initial
Create Date: 2026-11-22 20:43:21.913200

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_matching'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('skills',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_skills_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_skills_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skills')),
    sa.UniqueConstraint('name', name=op.f('uq_skills_name'))
    )
    with op.batch_alter_table('skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skills_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_skills_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skills_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('technician_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('home_latitude', sa.Double(), nullable=True),
    sa.Column('home_longitude', sa.Double(), nullable=True),
    sa.Column('current_latitude', sa.Double(), nullable=True),
    sa.Column('current_longitude', sa.Double(), nullable=True),
    sa.Column('hourly_rate', sa.Double(), nullable=False),
    sa.Column('overtime_multiplier', sa.Double(), nullable=False),
    sa.Column('shift_days', sa.String(length=7), nullable=False),
    sa.Column('shift_start', sa.Time(), nullable=False),
    sa.Column('shift_end', sa.Time(), nullable=False),
    sa.Column('max_concurrent_dispatches', sa.Integer(), nullable=False),
    sa.Column('max_hours_per_week', sa.Double(), nullable=False),
    sa.Column('availability', sa.String(length=20), nullable=False),
    sa.Column('unavailable_reason', sa.Text(), nullable=True),
    sa.Column('unavailable_until', sa.DateTime(), nullable=True),
    sa.Column('active_dispatch_count', sa.Integer(), nullable=False),
    sa.Column('completed_count', sa.Integer(), nullable=False),
    sa.Column('on_time_count', sa.Integer(), nullable=False),
    sa.Column('first_time_fix_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("availability IN ('Available', 'Unavailable')", name=op.f('ck_technician_profiles_availability_known')),
    sa.CheckConstraint('active_dispatch_count <= max_concurrent_dispatches', name=op.f('ck_technician_profiles_within_capacity')),
    sa.CheckConstraint('active_dispatch_count >= 0', name=op.f('ck_technician_profiles_active_count_not_negative')),
    sa.CheckConstraint('hourly_rate >= 0', name=op.f('ck_technician_profiles_hourly_rate_not_negative')),
    sa.CheckConstraint('max_concurrent_dispatches >= 1', name=op.f('ck_technician_profiles_max_concurrent_positive')),
    sa.CheckConstraint('max_hours_per_week > 0', name=op.f('ck_technician_profiles_max_hours_positive')),
    sa.CheckConstraint('overtime_multiplier >= 1', name=op.f('ck_technician_profiles_overtime_multiplier_at_least_one')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_technician_profiles_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_technician_profiles_updated_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_technician_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_technician_profiles_user_id'))
    )
    with op.batch_alter_table('technician_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_technician_profiles_availability'), ['availability'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_profiles_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_profiles_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('technician_skills',
    sa.Column('technician_profile_id', sa.Integer(), nullable=False),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('level >= 1 AND level <= 5', name=op.f('ck_technician_skills_level_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_technician_skills_created_by_id_users')),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_technician_skills_skill_id_skills')),
    sa.ForeignKeyConstraint(['technician_profile_id'], ['technician_profiles.id'], name=op.f('fk_technician_skills_technician_profile_id_technician_profiles')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_technician_skills_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_skills')),
    sa.UniqueConstraint('technician_profile_id', 'skill_id', name=op.f('uq_technician_skills_technician_profile_id_skill_id'))
    )
    with op.batch_alter_table('technician_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_technician_skills_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_skills_skill_id'), ['skill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_skills_technician_profile_id'), ['technician_profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_skills_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('dispatch_metrics',
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('matcher', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('score_breakdown', sa.JSON(), nullable=False),
    sa.Column('routing_speed_seconds', sa.Double(), nullable=True),
    sa.Column('estimated_completion_hours', sa.Double(), nullable=True),
    sa.Column('operational_cost', sa.Double(), nullable=True),
    sa.Column('sla_met', sa.Boolean(), nullable=True),
    sa.Column('burnout_risk', sa.Double(), nullable=True),
    sa.Column('burnout_alert', sa.Boolean(), nullable=False),
    sa.Column('fallback_technicians', sa.JSON(), nullable=False),
    sa.Column('fallback_used', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_dispatch_metrics_created_by_id_users')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_dispatch_metrics_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_dispatch_metrics_technician_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_dispatch_metrics_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_metrics'))
    )
    with op.batch_alter_table('dispatch_metrics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_metrics_burnout_alert'), ['burnout_alert'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_metrics_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_metrics_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_metrics_technician_id'), ['technician_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_metrics_updated_by_id'), ['updated_by_id'], unique=False)

    with op.batch_alter_table('asset_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_skill', sa.String(length=100), nullable=True))

    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_skill', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('estimated_duration_hours', sa.Double(), nullable=False, server_default='2.0'))
        batch_op.create_check_constraint(batch_op.f('ck_dispatches_duration_positive'), 'estimated_duration_hours > 0')
        batch_op.add_column(sa.Column('sla_due_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_dispatches_required_skill'), ['required_skill'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_sla_due_at'), ['sla_due_at'], unique=False)



def downgrade():
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatches_sla_due_at'))
        batch_op.drop_index(batch_op.f('ix_dispatches_required_skill'))
        batch_op.drop_column('sla_due_at')
        batch_op.drop_constraint(batch_op.f('ck_dispatches_duration_positive'), type_='check')
        batch_op.drop_column('estimated_duration_hours')
        batch_op.drop_column('required_skill')

    with op.batch_alter_table('asset_types', schema=None) as batch_op:
        batch_op.drop_column('default_skill')

    with op.batch_alter_table('dispatch_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_metrics_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_metrics_technician_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_metrics_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_metrics_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_metrics_burnout_alert'))

    op.drop_table('dispatch_metrics')
    with op.batch_alter_table('technician_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_technician_skills_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_technician_skills_technician_profile_id'))
        batch_op.drop_index(batch_op.f('ix_technician_skills_skill_id'))
        batch_op.drop_index(batch_op.f('ix_technician_skills_created_by_id'))

    op.drop_table('technician_skills')
    with op.batch_alter_table('technician_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_technician_profiles_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_technician_profiles_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_technician_profiles_availability'))

    op.drop_table('technician_profiles')
    with op.batch_alter_table('skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skills_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_skills_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_skills_category'))

    op.drop_table('skills')
