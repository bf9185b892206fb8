"""gateway-bff: idempotency keys in flight are leases

Revision ID: 0007

A key's first request holds it until `lease_until`; `holder` names that request, so only
its holder can finish it. A key whose holder crashed is taken over after the lease
(docs/adr/0021). `if_not_exists`: a database built whole from the current tables by an
earlier revision already has the columns.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        if_not_exists=True,
    )
    op.add_column("idempotency_keys", sa.Column("holder", UUID(as_uuid=True)), if_not_exists=True)


def downgrade() -> None:
    op.drop_column("idempotency_keys", "holder")
    op.drop_column("idempotency_keys", "lease_until")
