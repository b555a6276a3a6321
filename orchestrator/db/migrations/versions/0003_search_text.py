"""List speed: search_text on customers and carriers (one column for list searches)
and unique indexes on lower(name) (lists sort names ignoring case)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The fields each list search looks in, as the models name them (SEARCH_FIELDS) at
# the time of this migration.
FIELDS = {"customers": ("name", "email", "website", "city"),
          "carriers": ("name", "website", "portal_url", "city")}


def upgrade() -> None:
    bind = op.get_bind()
    for table, fields in FIELDS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False,
                                          server_default=""))
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(fields)} FROM {table}")).all()
        updates = [{"id": row[0],
                    "t": "\n".join(str(v or "") for v in row[1:]).lower()} for row in rows]
        if updates:
            bind.execute(sa.text(f"UPDATE {table} SET search_text = :t WHERE id = :id"),
                         updates)
        op.create_index(f"uq_{table}_name_lower", table, [sa.text("lower(name)")],
                        unique=True)


def downgrade() -> None:
    for table in FIELDS:
        op.drop_index(f"uq_{table}_name_lower", table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("search_text")
