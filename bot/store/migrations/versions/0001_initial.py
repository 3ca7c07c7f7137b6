"""The first schema: subscribers, topics, interactions, the access_token, campaigns,
deliveries, mass-send jobs and previews.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _subscribers() -> None:
    op.create_table(
        "subscribers",
        sa.Column("openid", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("all_issues", sa.Boolean, nullable=False),
        sa.Column("subscribed_at", TIME, nullable=False),
        sa.Column("unsubscribed_at", TIME),
    )
    op.create_index("ix_subscribers_status_openid", "subscribers", ["status", "openid"])
    op.create_table(
        "interactions",
        sa.Column("openid", sa.String(64), primary_key=True),
        sa.Column("last_at", TIME, nullable=False),
    )
    op.create_table(
        "topics",
        sa.Column("openid", sa.String(64), sa.ForeignKey("subscribers.openid"), primary_key=True),
        sa.Column("topic", sa.String(20), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_index("ix_topics_topic_status", "topics", ["topic", "status"])
    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )


def _campaigns() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issue", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("planned_at", TIME),
        sa.Column("started_at", TIME),
        sa.Column("finished_at", TIME),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", TIME),
        sa.Column("stop_reason", sa.Text),
        sa.Column("mass_status", sa.String(64)),
        sa.Column("mass_total", sa.Integer),
        sa.Column("mass_filter", sa.Integer),
        sa.Column("mass_sent", sa.Integer),
        sa.Column("mass_errors", sa.Integer),
        sa.UniqueConstraint("issue", "channel", name="uq_campaigns_issue_channel"),
    )


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("openid", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("digest_key", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("errcode", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("batch_id", sa.String(64)),
        sa.Column("claimed_by", sa.String(128)),
    )
    op.create_index(
        "ix_deliveries_campaign_status_openid", "deliveries", ["campaign_id", "status", "openid"]
    )
    op.create_table(
        "mass_jobs",
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("clientmsgid", sa.String(64), nullable=False, unique=True),
        sa.Column("digest_key", sa.Text, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("msg_id", sa.String(32)),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("errcode", sa.Integer),
        sa.Column("total", sa.Integer),
        sa.Column("filter_count", sa.Integer),
        sa.Column("sent", sa.Integer),
        sa.Column("errors", sa.Integer),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
    )
    op.create_index("ix_mass_jobs_msg_id", "mass_jobs", ["msg_id"])
    op.create_table(
        "previews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("issue", sa.String(10), nullable=False),
        sa.Column("sent_at", TIME, nullable=False),
        sa.Column("errcode", sa.Integer),
        sa.Column("error", sa.Text),
    )


def upgrade() -> None:
    _subscribers()
    _campaigns()
    _deliveries()


def downgrade() -> None:
    for table in (
        "previews",
        "mass_jobs",
        "deliveries",
        "campaigns",
        "access_token",
        "topics",
        "interactions",
        "subscribers",
    ):
        op.drop_table(table)
