"""Who may write to a profile's registry server: its `auth:` config, and the service account that may.

The registry server (ToolHive registry server v1.5.1, and v1.3.0 behind an MCPRegistry) serves
the MCP Registry API under `/registry/` (GET only) and its administration API under `/v1/`
(publishing entries, changing sources and registries). In `anonymous` mode both take any request.
Here it runs in `oauth` mode with one provider, the cluster's own service-account token issuer:
the API server signs the tokens, the registry server checks them against the JWKS the API server
serves in-cluster (reached with the pod's service-account CA and token), `/registry` stays a
public path so ToolHive and MCP registry clients read without a token, and one authorization
rule gives every role to the profile's `registry-admin` service account alone: a token of any
other identity (every pod can get one for its own account) is authenticated but holds no role.

The audience is the registry's own address, so tokens meant for the API server (every pod's
mounted one) are refused, and a token minted for the registry is useless against the API server.
Builders return plain dicts and read no files.
"""

from __future__ import annotations

from typing import Any

from generator.models import RegistryAuth, RegistryProfile
from generator.render.kubernetes.names import REGISTRY_ADMIN_ACCOUNT, registry_service_name
from generator.render.kubernetes.server import metadata

REGISTRY_API_PORT = 8080
# The read API: every route the server mounts under it is a GET of registry data (v1.5.1
# internal/api/registry/v01/routes.go and the skills and plugins routers it mounts). Nothing of
# `/v1/` may be public: the server skips its role checks for a request that carries no token.
PUBLIC_PATHS = ["/registry"]
# Where every pod finds the API server and its own service-account credentials (Kubernetes mounts
# them there unless the pod opts out; the chart's and the operator's registry pods do not).
API_SERVER = "https://kubernetes.default.svc"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def registry_url(profile: RegistryProfile) -> str:
    """The registry API's in-cluster address; also the audience its tokens must carry."""
    return f"http://{registry_service_name(profile)}.{profile.namespace}.svc.cluster.local:{REGISTRY_API_PORT}"


def admin_subject(profile: RegistryProfile) -> str:
    """The `sub` claim of the admin service account's tokens."""
    return f"system:serviceaccount:{profile.namespace}:{REGISTRY_ADMIN_ACCOUNT}"


def auth_config(setting: RegistryAuth, profile: RegistryProfile) -> dict[str, Any]:
    """The registry server config's `auth:` block for the profile."""
    if setting.mode == "anonymous":
        return {"mode": "anonymous"}
    audience = registry_url(profile)
    provider = {
        "name": "kubernetes",
        "issuerUrl": setting.issuer,
        # The API server serves its signing keys here whatever its issuer URL is (which may be a
        # host outside an air-gapped cluster): no discovery at the issuer is needed.
        "jwksUrl": f"{API_SERVER}/openid/v1/jwks",
        "audience": audience,
        "caCertPath": f"{SERVICE_ACCOUNT_DIR}/ca.crt",
        # Kubernetes lets service accounts, not anonymous callers, read the JWKS
        # (ClusterRoleBinding system:service-account-issuer-discovery).
        "authTokenFile": f"{SERVICE_ACCOUNT_DIR}/token",
        # kubernetes.default.svc is a ClusterIP: a private address the client refuses by default.
        "allowPrivateIP": True,
    }
    return {
        "mode": "oauth",
        "publicPaths": list(PUBLIC_PATHS),
        "oauth": {"resourceUrl": audience, "providers": [provider]},
        "authz": {"roles": {"superAdmin": [{"sub": admin_subject(profile)}]}},
    }


def admin_service_account(profile: RegistryProfile) -> dict[str, Any]:
    """The identity the platform team writes to the registry as: no RBAC rights, no pod runs as it;
    `kubectl create token` mints its short-lived tokens for the registry's audience."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(REGISTRY_ADMIN_ACCOUNT, profile.namespace),
        "automountServiceAccountToken": False,
    }


def token_command(profile: RegistryProfile) -> str:
    """The command that mints a ten-minute token the registry accepts for writes."""
    return (f"kubectl -n {profile.namespace} create token {REGISTRY_ADMIN_ACCOUNT} "
            f"--audience {registry_url(profile)} --duration 10m")


def admin_note(profile: RegistryProfile) -> str:
    """The comment heading the service account's file: what it is for and how to write as it."""
    return "\n".join([
        "The only identity the registry server takes writes from (publishing entries, changing sources",
        "and registries); reading needs no token. A ten-minute token for a write:",
        token_command(profile),
    ])
