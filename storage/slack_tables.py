"""The tables slack-sdk's SQLAlchemy installation and OAuth state stores keep, in our database.

They are built by the stores' own classmethods into one ``MetaData`` of their own (the stores
name their tables and indexes their way, not by our naming convention). Migration 0022 creates
them; the migrations test compares the database with this metadata too, so an upgrade of
slack-sdk that changes its tables fails that test until a migration follows it.

One change of ours: the token columns are wider than slack-sdk's ``String(200)``, since they
hold Fernet ciphertext (``bot.ops.installs``), about twice as long as a rotating token.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, String, Table

INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
BOTS = SQLAlchemyInstallationStore.default_bots_table_name
OAUTH_STATES = SQLAlchemyOAuthStateStore.default_table_name
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
TOKEN_LENGTH = 1000

SLACK_METADATA = MetaData()


def _widened(table: Table) -> Table:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = String(TOKEN_LENGTH)
    return table


installations = _widened(
    SQLAlchemyInstallationStore.build_installations_table(SLACK_METADATA, INSTALLATIONS)
)
bots = _widened(SQLAlchemyInstallationStore.build_bots_table(SLACK_METADATA, BOTS))
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(SLACK_METADATA, OAUTH_STATES)
