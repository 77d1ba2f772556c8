"""The registry database's setup, as the runbook gives it, on a real PostgreSQL.

A cluster of our own (Debian's postgresql package: initdb, pg_ctl, postgres, psql) in a temporary
folder, on a free loopback port, run as an unprivileged user when the tests run as root (PostgreSQL
refuses root), with TLS set up by the runbook's settings and a self-signed certificate made here.
The runbook's SQL runs as the superuser; then, over TLS, the migration user does what the registry
server's migrations do (statements of ours, of the same kinds: types, tables, a sequence and a
function in `public`, a temporary table, the grants to the registry role and the default privileges)
and the application user does what a sync and the API do (a temporary table filled by COPY, inserts,
selects, updates, deletes) and is refused what it must never do. Each grant of the SQL is then
taken out in turn, and the work must fail without it.
"""

from __future__ import annotations

import datetime
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from generator.render.kubernetes.database import (
    APP_PASSWORD_VARIABLE,
    APP_USER,
    DATABASE,
    MIGRATION_PASSWORD_VARIABLE,
    MIGRATION_USER,
    REGISTRY_ROLE,
    TLS_DIR,
    database_commands,
    database_sql,
    tls_settings,
)
from generator.render.kubernetes.profile import POSTGRES_SSL_MODE
from webservers import free_port

PASSWORDS = {APP_USER: "app-secret 'quoted' $HOME", MIGRATION_USER: "migration-secret", "outsider": "outsider-secret"}
SUPERUSER = "postgres"

# What a migration of the registry server does, in kind: golang-migrate's version table and lock, then
# a first migration making types, tables and a sequence, checking the role exists (creating it only
# when missing, which the migration user may not do), granting the tables to it and setting the
# default privileges; a later one adds a table (reached through those defaults), stages rows in a
# temporary table and uses a helper function.
MIGRATION = f"""\
SELECT pg_advisory_lock(4242);
CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
BEGIN;
CREATE TYPE source_kind AS ENUM ('FILE', 'KUBERNETES');
CREATE TABLE source (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    kind source_kind NOT NULL DEFAULT 'FILE'
);
CREATE TABLE sync_run (
    id bigserial PRIMARY KEY,
    source_id uuid NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    started timestamptz NOT NULL DEFAULT now()
);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{REGISTRY_ROLE}') THEN
        CREATE ROLE {REGISTRY_ROLE};
    END IF;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {REGISTRY_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {REGISTRY_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {REGISTRY_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {REGISTRY_ROLE};
INSERT INTO schema_migrations VALUES (1, false);
COMMIT;
BEGIN;
CREATE TABLE entry (
    source_id uuid NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    name text NOT NULL,
    version text NOT NULL,
    PRIMARY KEY (source_id, name, version)
);
CREATE TEMP TABLE seen_names ON COMMIT DROP AS SELECT name FROM source;
CREATE FUNCTION entry_key(text, text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1 || '@' || $2 $$;
SELECT entry_key(name, 'latest') FROM seen_names;
DROP FUNCTION entry_key(text, text);
UPDATE schema_migrations SET version = 2;
COMMIT;
SELECT pg_advisory_unlock(4242);
"""

# What the registry server does as the application user: a sync staged in a temporary table
# filled by COPY and merged in one serializable transaction, then the API's reads and writes.
APP_WORK = """\
BEGIN ISOLATION LEVEL SERIALIZABLE;
CREATE TEMP TABLE staged_source ON COMMIT DROP AS SELECT name, kind FROM source WITH NO DATA;
COPY staged_source (name, kind) FROM STDIN;
catalog\tFILE
running\tKUBERNETES
\\.
INSERT INTO source (name, kind) SELECT name, kind FROM staged_source;
INSERT INTO sync_run (source_id) SELECT id FROM source;
INSERT INTO entry SELECT id, 'io.example/time', '1.0.0' FROM source WHERE name = 'catalog';
COMMIT;
UPDATE entry SET version = '1.0.1';
DELETE FROM sync_run WHERE id = (SELECT min(id) FROM sync_run);
SELECT s.name || ' ' || s.kind || ' ' || coalesce(e.name || '@' || e.version, '-')
  FROM source s LEFT JOIN entry e ON e.source_id = s.id ORDER BY s.name;
SELECT count(*) || ' runs' FROM sync_run;
DELETE FROM entry;
"""
APP_RESULT = "catalog FILE io.example/time@1.0.1\nrunning KUBERNETES -\n1 runs\n"

# What the application user must never do, each with the refusal PostgreSQL gives.
APP_REFUSED = {
    "CREATE TABLE planted (id int)": "permission denied for schema public",
    "DROP TABLE source": "must be owner of table source",
    "ALTER TABLE entry ADD COLUMN planted text": "must be owner of table entry",
    "CREATE SCHEMA planted": f"permission denied for database {DATABASE}",
    "CREATE ROLE planted": "permission denied to create role",
}


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.skip("PostgreSQL server binaries not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
    return found[-1].parent


@dataclass
class Cluster:
    """A PostgreSQL cluster of this test's own, run as `uid` from `root` (data, socket, certificate)."""

    bin: Path
    root: Path
    port: int
    uid: int
    gid: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_owner(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = {"user": self.uid, "group": self.gid, "extra_groups": []} if os.geteuid() == 0 else {}
        return subprocess.run(args, capture_output=True, text=True, timeout=120, env=_client_env(self.root), **user)

    def try_start(self, *, ssl: bool) -> subprocess.CompletedProcess[str]:
        """Start with the configuration's TLS settings (the runbook's), or with ssl turned off."""
        (self.root / "server.log").unlink(missing_ok=True)
        return self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                              "-o", "" if ssl else "-c ssl=off", "-w", "-t", "60", "start")

    def start(self, *, ssl: bool) -> None:
        done = self.try_start(ssl=ssl)
        assert done.returncode == 0, done.stdout + done.stderr + self.log()

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, user: str, sql: str, *, sslmode: str = POSTGRES_SSL_MODE, database: str = DATABASE,
             variables: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`sql` through psql as `user`: the superuser over the Unix socket, the others over TCP as the registry server connects."""
        if user == SUPERUSER:
            conninfo = f"host={self.root} port={self.port} dbname={database} user={user}"
        else:
            conninfo = f"host=127.0.0.1 port={self.port} dbname={database} user={user} sslmode={sslmode}"
        command = [str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
        for name, value in (variables or {}).items():
            command += ["-v", f"{name}={value}"]
        env = {**_client_env(self.root), "PGPASSWORD": PASSWORDS.get(user, "")}
        return subprocess.run(command, input=sql, capture_output=True, text=True, timeout=60, env=env)

    def reset(self) -> None:
        """Back to a cluster without the registry's database and users."""
        users = ", ".join((APP_USER, MIGRATION_USER, REGISTRY_ROLE, "outsider"))
        done = self.psql(SUPERUSER, f"DROP DATABASE IF EXISTS {DATABASE};\nDROP ROLE IF EXISTS {users};\n", database="postgres")
        assert done.returncode == 0, done.stderr


def _client_env(root: Path) -> dict[str, str]:
    # No ~/.pgpass, ~/.postgresql/root.crt or PG* settings of the machine's: a root.crt there would
    # turn sslmode=require into a certificate check.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "LC_ALL": "C.UTF-8"}


def _self_signed(cert: Path, key: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "postgres")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("postgres")]), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)  # PostgreSQL refuses a key others may read


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A cluster set up with the runbook's TLS settings, running with ssl on; stopped and removed after."""
    bin_dir = _bin_dir()
    account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    root = Path(tempfile.mkdtemp(prefix="registry-db-"))
    cluster = Cluster(bin_dir, root, free_port(), account.pw_uid, account.pw_gid)
    try:
        tls = root / "tls"
        tls.mkdir()
        _self_signed(tls / "tls.crt", tls / "tls.key")
        for path in (root, tls, tls / "tls.crt", tls / "tls.key"):
            os.chown(path, cluster.uid, cluster.gid)
        done = cluster._as_owner(str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER,
                                 "--auth-local=trust", "--auth-host=reject", "--no-sync")
        assert done.returncode == 0, done.stdout + done.stderr
        settings = tls_settings()
        conf = settings["postgresql.conf"].replace(TLS_DIR, str(tls))
        assert conf != settings["postgresql.conf"], f"the settings no longer name {TLS_DIR}"
        with (cluster.data / "postgresql.conf").open("a", encoding="utf-8") as out:
            out.write(f"listen_addresses = '127.0.0.1'\nport = {cluster.port}\nunix_socket_directories = '{root}'\n{conf}")
        # The runbook's lines first, then what the stock postgres image ends its pg_hba.conf with.
        (cluster.data / "pg_hba.conf").write_text(
            f"local all {SUPERUSER} trust\n{settings['pg_hba.conf']}host all all all scram-sha-256\n", encoding="utf-8")
        cluster.start(ssl=True)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _set_up(cluster: Cluster, sql: str) -> None:
    cluster.reset()
    variables = {APP_PASSWORD_VARIABLE: PASSWORDS[APP_USER], MIGRATION_PASSWORD_VARIABLE: PASSWORDS[MIGRATION_USER]}
    done = cluster.psql(SUPERUSER, sql, database="postgres", variables=variables)
    assert done.returncode == 0, done.stderr


def _set_up_as_the_runbook_says(cluster: Cluster) -> None:
    """The runbook's psql command, run by bash as written, the Secret's passwords in place of its
    two kubectl look-ups (the test has no cluster): the heredoc, the quoting and psql's variables."""
    cluster.reset()
    command = database_commands("mcp-test", "test-db")
    for key, user in (("app-password", APP_USER), ("migration-password", MIGRATION_USER)):
        lookup = f"\"$(kubectl -n mcp-test get secret test-db -o jsonpath='{{.data.{key}}}' | base64 -d)\""
        assert lookup in command, f"the command no longer reads {key} from the Secret"
        command = command.replace(lookup, shlex.quote(PASSWORDS[user]))
    env = {**_client_env(cluster.root), "PATH": f"{cluster.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "PGHOST": str(cluster.root), "PGPORT": str(cluster.port), "PGUSER": SUPERUSER, "PGDATABASE": "postgres"}
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr


def _registry_server_work(cluster: Cluster) -> str:
    """The migration, then the application's work: '' when both succeed, else what went wrong."""
    for user, sql in ((MIGRATION_USER, MIGRATION), (APP_USER, APP_WORK)):
        done = cluster.psql(user, sql)
        if done.returncode != 0:
            return f"{user}: {done.stderr.strip()}"
        if user == APP_USER and done.stdout != APP_RESULT:
            return f"{user}: read back {done.stdout!r}"
    return ""


def test_the_runbook_sql_lets_the_registry_server_migrate_and_work_over_tls(cluster: Cluster) -> None:
    _set_up_as_the_runbook_says(cluster)
    assert _registry_server_work(cluster) == ""
    for user in (APP_USER, MIGRATION_USER):
        done = cluster.psql(user, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();")
        assert (done.returncode, done.stdout) == (0, "t\n"), done.stderr


def test_the_app_user_may_not_change_the_schema_or_make_roles(cluster: Cluster) -> None:
    _set_up(cluster, database_sql())
    assert _registry_server_work(cluster) == ""
    for statement, refusal in APP_REFUSED.items():
        done = cluster.psql(APP_USER, statement + ";")
        assert done.returncode != 0 and refusal in done.stderr, (statement, done.stdout, done.stderr)
    done = cluster.psql(MIGRATION_USER, "CREATE ROLE planted;")
    assert done.returncode != 0 and "permission denied to create role" in done.stderr, done.stderr


def test_no_one_else_connects_to_the_registry_database(cluster: Cluster) -> None:
    _set_up(cluster, database_sql())
    done = cluster.psql(SUPERUSER, f"CREATE ROLE outsider LOGIN PASSWORD '{PASSWORDS['outsider']}';", database="postgres")
    assert done.returncode == 0, done.stderr
    done = cluster.psql("outsider", "SELECT 1;")
    assert done.returncode != 0 and f'permission denied for database "{DATABASE}"' in done.stderr, done.stderr


def test_the_registry_users_are_refused_without_tls(cluster: Cluster) -> None:
    """pg_hba.conf's lines refuse the registry's users a connection in the clear, even where a later
    line (the stock image's `host all all all`) would take it."""
    _set_up(cluster, database_sql())
    for user in (APP_USER, MIGRATION_USER):
        done = cluster.psql(user, "SELECT 1;", sslmode="disable")
        assert done.returncode != 0 and "no encryption" in done.stderr, done.stderr


def test_a_server_without_ssl_refuses_the_registry_servers_sslmode(cluster: Cluster) -> None:
    """What the runbook warns about: the stock postgres image starts with ssl off, and the registry
    server connects with sslMode require; the connection fails before any password is sent."""
    _set_up(cluster, database_sql())
    cluster.stop()
    try:
        cluster.start(ssl=False)
        done = cluster.psql(APP_USER, "SELECT 1;")
        assert done.returncode != 0 and "server does not support SSL, but SSL was required" in done.stderr, done.stderr
    finally:
        cluster.stop()
        cluster.start(ssl=True)
    assert cluster.psql(APP_USER, "SELECT 1;").returncode == 0


def test_postgres_refuses_a_key_others_may_read(cluster: Cluster) -> None:
    """Why the runbook says the key must be readable by PostgreSQL alone (mode 0600 owned by its user)."""
    key = Path(tls_settings()["postgresql.conf"].split("ssl_key_file = '")[1].split("'")[0].replace(TLS_DIR, str(cluster.root / "tls")))
    cluster.stop()
    try:
        key.chmod(0o644)
        done = cluster.try_start(ssl=True)
        assert done.returncode != 0 and "has group or world access" in cluster.log(), cluster.log()
    finally:
        key.chmod(0o600)
        cluster.stop()
        cluster.start(ssl=True)


# Each grant of the SQL, and where the registry server's work fails without it.
WITHOUT = {
    "the registry role": (
        [(f"CREATE ROLE {REGISTRY_ROLE} NOLOGIN;\n", ""), (f" IN ROLE {REGISTRY_ROLE};", ";")],
        f"{MIGRATION_USER}: .*permission denied to create role",
    ),
    "the app user's membership of the role": (
        [(f"{APP_USER} LOGIN PASSWORD :'{APP_PASSWORD_VARIABLE}' IN ROLE {REGISTRY_ROLE}",
          f"{APP_USER} LOGIN PASSWORD :'{APP_PASSWORD_VARIABLE}'")],
        f"{APP_USER}: .*permission denied for table source",
    ),
    "CREATE on the public schema": (
        [(f"GRANT USAGE, CREATE ON SCHEMA public TO {MIGRATION_USER}", f"GRANT USAGE ON SCHEMA public TO {MIGRATION_USER}")],
        f"{MIGRATION_USER}: .*permission denied for schema public",
    ),
    "the app user's USAGE on the public schema": (
        [(f"GRANT USAGE ON SCHEMA public TO {APP_USER};\n", "")],
        f'{APP_USER}: .*relation "source" does not exist',  # a schema one may not use drops out of the search path
    ),
    "TEMPORARY on the database": (
        [(f"GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE}", f"GRANT CONNECT ON DATABASE {DATABASE}")],
        f"{MIGRATION_USER}: .*permission denied to create temporary tables",
    ),
    "CONNECT on the database": (
        [(f"GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE}", f"GRANT TEMPORARY ON DATABASE {DATABASE}")],
        f"{MIGRATION_USER}: .*permission denied for database",
    ),
}


@pytest.mark.parametrize("grant", list(WITHOUT))
def test_the_registry_server_needs_each_grant(cluster: Cluster, grant: str) -> None:
    """Without any one of the SQL's grants, the migration or the application's work fails: a test
    that passes with the SQL and fails without each part proves the SQL asks for nothing unused."""
    replacements, failure = WITHOUT[grant]
    sql = database_sql()
    for old, new in replacements:
        assert old in sql, f"the SQL no longer says {old!r}"
        sql = sql.replace(old, new)
    _set_up(cluster, sql)
    outcome = _registry_server_work(cluster)
    assert re.match(failure, outcome, re.S), outcome
