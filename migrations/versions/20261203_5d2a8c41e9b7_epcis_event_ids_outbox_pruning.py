"""epcis event ids, idempotent replays' Location, outbox pruning index

Revision ID: 5d2a8c41e9b7
Revises: 5e2a7c4d9b13
Create Date: 2026-12-03 09:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2a8c41e9b7'
down_revision = '5e2a7c4d9b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'epcis_event_ids',
        sa.Column('base', sa.String(length=16), nullable=False),
        sa.Column('event_hash', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=26), nullable=False),
        sa.Column('ledger_index', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
        sa.PrimaryKeyConstraint('base', 'event_hash'),
    )
    with op.batch_alter_table('epcis_event_ids', schema=None) as batch_op:
        batch_op.create_index('ix_epcis_event_ids_ledger', ['base', 'ledger_index'], unique=False)
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=500), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_delivered', ['delivered_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_delivered')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('location')
    with op.batch_alter_table('epcis_event_ids', schema=None) as batch_op:
        batch_op.drop_index('ix_epcis_event_ids_ledger')
    op.drop_table('epcis_event_ids')
