"""red flags as they arise: outbox alerts, overdue transfers, movements per organisation

Revision ID: 5e2a7c4d9b13
Revises: 3b6b65ba2fd9
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2a7c4d9b13'
down_revision = '3b6b65ba2fd9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=8), nullable=False, server_default='event')
        )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.drop_constraint('uq_outbox_messages_subscription_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_outbox_messages_subscription_id', ['subscription_id', 'event_id', 'kind']
        )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_alerted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            'ix_transfers_overdue', ['status', 'overdue_alerted_at', 'shipped_at'], unique=False
        )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_events_organization_type_substance',
            ['organization_id', 'type', 'cas_rn', 'ledger_index'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_organization_type_substance')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_overdue')
        batch_op.drop_column('overdue_alerted_at')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_messages_subscription_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_outbox_messages_subscription_id', ['subscription_id', 'event_id']
        )
        batch_op.drop_column('kind')
