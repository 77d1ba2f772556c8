"""The names of the Kubernetes objects and Secret keys the bundles make, in one light module:
the renderers use them, and so do the source checks that refuse names which would collide
(which must not import the renderers at start-up)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from generator.models import RegistryProfile, Server

NAME_LIMIT = 63
# The `app` label ToolHive gives every MCPServer proxy pod and every MCPRemoteProxy pod (server.py says where).
MCPSERVER_PROXY_APP = "mcpserver"
REMOTE_PROXY_APP = "mcpremoteproxy"


def resource_name(base: str, suffix: str = "", limit: int = NAME_LIMIT) -> str:
    """`base` + `suffix` as a DNS-1123 label of at most `limit` characters.

    A name that would be too long keeps a readable prefix and gains a short hash
    of the full base, so two long names that share a prefix still differ.
    """
    name = f"{base}{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(base.encode("utf-8")).hexdigest()[:8]
    keep = limit - len(suffix) - len(digest) - 1
    return f"{base[:keep].rstrip('-')}-{digest}{suffix}"


@dataclass(frozen=True)
class ServerNames:
    """The names of one server's objects, each a DNS-1123 label within the length limit."""

    workload: str
    tools: str
    egress: str
    ingress: str
    permissions: str
    secret: str

    @classmethod
    def of(cls, server: Server) -> ServerNames:
        """Names derived from the server's (already DNS-1123) name."""
        return cls(
            workload=resource_name(server.name),
            tools=resource_name(server.name, "-tools"),
            egress=resource_name(server.name, "-egress"),
            ingress=resource_name(server.name, "-ingress"),
            permissions=resource_name(server.name, "-permissions"),
            secret=resource_name(server.name, "-secrets"),
        )


def registry_resource_name(profile: RegistryProfile) -> str:
    """The MCPRegistry's name; the operator adds `-api` for its Service, so leave room for it."""
    return resource_name(profile.name, limit=63 - len("-api"))


def registry_service_name(profile: RegistryProfile) -> str:
    """The registry API's Service: `<registry>-api`, the name MCPRegistry's operator gives it and the
    registry server chart's release (`fullnameOverride`) takes, so clients find it either way."""
    return resource_name(registry_resource_name(profile), "-api")


# The profile's service account whose tokens may write to its registry server (docs/bundles.md,
# "Who may write to the registry"): a fixed name, since one profile owns its namespace.
REGISTRY_ADMIN_ACCOUNT = "registry-admin"


def pgpass_secret_name(profile: RegistryProfile) -> str:
    """The Secret the user creates with the registry's PostgreSQL pgpass file."""
    return resource_name(registry_resource_name(profile), "-pgpass")


def database_secret_name(profile: RegistryProfile) -> str:
    """The Secret holding the registry database users' passwords."""
    return resource_name(registry_resource_name(profile), "-db")


def header_secret_key(header: str) -> str:
    """A Secret key for an HTTP header name (Secret keys allow only [-._a-zA-Z0-9])."""
    return re.sub(r"[^-._a-zA-Z0-9]", "_", header)


@dataclass(frozen=True)
class SecretKey:
    """One key of a server's Secret: a secret env var or a secret remote header."""

    key: str
    description: str
    required: bool


def secret_entries(server: Server) -> list[SecretKey]:
    """Every key a server's Secret may hold, sorted.

    Only required keys are wired into the MCPServer or MCPRemoteProxy: the operator reads
    each referenced key without `optional`, so a pod would not start without it. Optional
    ones are shown (commented out) so a user who needs one adds it in an overlay.
    """
    entries = {var.name: SecretKey(var.name, var.description, var.required) for var in server.env if var.secret}
    if server.remote is not None:
        for header in server.remote.headers:
            if header.secret:
                key = header_secret_key(header.name)
                entries[key] = SecretKey(key, header.description or f"value of the {header.name} header", header.required)
    return [entries[key] for key in sorted(entries)]
