"""The registry's PostgreSQL as the platform team prepares it: the names the bundles connect with,
the SQL that makes the database, its users and their grants, and the server's TLS settings.

The runbook shows this text (each profile page's prerequisites step; README.md and docs/bundles.md
repeat it, and a test holds them to it) and tests/test_registry_database.py runs it against a real
PostgreSQL. No file is written: the text is the same for every profile. The grants follow what the
registry server does with its database: at start-up it migrates as the migration user, creating
types, tables and functions in the `public` schema (and a temporary table), and grants the tables to
the role `toolhive_registry_server`, which the migration creates only when it is missing, something
the migration user may not do; the application user, a member of that role, reads and writes the
tables and stages each sync in temporary tables.
"""

from __future__ import annotations

# The registry server release whose migrations the SQL was checked against (the chart's appVersion):
# a test holds catalog-source/catalog.yaml's `registry_server_chart` to it, so that moving to another
# release means reading its migrations again.
CHECKED_REGISTRY_SERVER = "1.5.1"
# The registry API release operator v0.16 runs (its chart's `registryAPI.image`), for `legacy/`: its
# migrations ask the same of the database (the same first migration, temporary tables too).
LEGACY_REGISTRY_API = "0.6.6"
DATABASE = "registry"
APP_USER = "db_app"
MIGRATION_USER = "db_migrator"
REGISTRY_ROLE = "toolhive_registry_server"
# Where the TLS settings expect the server's certificate and key: a Secret mounted there, say.
TLS_DIR = "/etc/postgresql/tls"
# The psql variables the SQL takes the passwords from (`psql -v app_password=...`).
APP_PASSWORD_VARIABLE = "app_password"
MIGRATION_PASSWORD_VARIABLE = "migration_password"


def database_sql() -> str:
    """The psql script a PostgreSQL superuser runs once: the role, both users (passwords from psql
    variables), the database, and no right beyond what the registry server uses."""
    return f"""\
-- the registry server's migrations grant the table rights to {REGISTRY_ROLE} and cannot create it;
-- the app user has them as its member, the migration user as the owner of the tables
CREATE ROLE {REGISTRY_ROLE} NOLOGIN;
CREATE ROLE {APP_USER} LOGIN PASSWORD :'{APP_PASSWORD_VARIABLE}' IN ROLE {REGISTRY_ROLE};
CREATE ROLE {MIGRATION_USER} LOGIN PASSWORD :'{MIGRATION_PASSWORD_VARIABLE}';
CREATE DATABASE {DATABASE};
-- only the two users connect; both make temporary tables (a migration, and every sync)
REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE} TO {MIGRATION_USER}, {APP_USER};
\\connect {DATABASE}
-- the migration user creates the schema's objects (PostgreSQL 15+ lets no one else by default), the app uses them
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO {MIGRATION_USER};
GRANT USAGE ON SCHEMA public TO {APP_USER};
"""


def database_commands(namespace: str, secret: str) -> str:
    """`database_sql()` run through psql with the passwords read from the database Secret, so that
    the users' passwords are the ones the registry server is given."""
    def password(key: str) -> str:
        return f"\"$(kubectl -n {namespace} get secret {secret} -o jsonpath='{{.data.{key}}}' | base64 -d)\""

    return (f"psql -v ON_ERROR_STOP=1 -v {APP_PASSWORD_VARIABLE}={password('app-password')} \\\n"
            f"  -v {MIGRATION_PASSWORD_VARIABLE}={password('migration-password')} <<'SQL'\n"
            f"{database_sql()}SQL")


def tls_settings() -> dict[str, str]:
    """The server's TLS settings, by the file they go in: a certificate and key, and host-based
    authentication letting the registry's users in over TLS with a password and never without."""
    return {
        "postgresql.conf": (
            "ssl = on\n"
            f"ssl_cert_file = '{TLS_DIR}/tls.crt'\n"
            f"ssl_key_file = '{TLS_DIR}/tls.key'\n"
        ),
        "pg_hba.conf": (
            f"hostnossl {DATABASE} all all reject\n"
            f"hostssl {DATABASE} {APP_USER},{MIGRATION_USER} all scram-sha-256\n"
        ),
    }
