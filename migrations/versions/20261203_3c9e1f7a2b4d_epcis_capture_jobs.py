"""epcis capture jobs

Revision ID: 3c9e1f7a2b4d
Revises: 75fdb468dd10
Create Date: 2026-12-03 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e1f7a2b4d'
down_revision = '75fdb468dd10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'epcis_capture_jobs',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('organization_id', sa.String(length=26), nullable=True),
        sa.Column('credential_id', sa.String(length=64), nullable=False),
        sa.Column('error_behaviour', sa.String(length=8), nullable=False),
        sa.Column('running', sa.Boolean(), nullable=False),
        sa.Column('success', sa.Boolean(), nullable=False),
        sa.Column('event_count', sa.Integer(), nullable=False),
        sa.Column('captured', sa.JSON(), nullable=False),
        sa.Column('errors', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('epcis_capture_jobs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_epcis_capture_jobs_organization', ['organization_id', 'id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('epcis_capture_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_epcis_capture_jobs_organization')
    op.drop_table('epcis_capture_jobs')
