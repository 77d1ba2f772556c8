"""The ToolHive registry server's config file as its v1.5.1 source declares it, and how it treats a request.

Written from the source at tag v1.5.1 (github.com/stacklok/toolhive-registry-server), in our own
words, no code copied:
- `internal/config/config.go`: the structs `Config`, `SourceConfig`, `RegistryConfig`, `FileConfig`,
  `KubernetesConfig`, `SyncPolicyConfig`, `FilterConfig`, `NameFilterConfig`, `TagFilterConfig`,
  `DatabaseConfig`, `AuthConfig`, `OAuthConfig`, `OAuthProviderConfig`, `AuthzConfig`, `RolesConfig`
  (below: each field's `yaml` tag and Go type), and `validateAuth` / `validateProvider` (the rules
  `load_problems` repeats). Viper decodes the file without refusing unknown keys, so a misspelt key
  is silently dropped: a dropped `authz` gives every authenticated caller every role, a dropped
  `publicPaths` makes readers need a token. Hence this exact check.
- `internal/app/builder.go` (`defaultPublicPaths`: `/openapi.json`, `/.well-known`) and
  `internal/auth/config.go` (`IsPublicPath`: the request path cleaned like Go's `path.Clean`,
  encoded `/` or `.` never public, a public path matches itself and what lies below it).
- `internal/auth/authz_middleware.go` (`RequireRole` skips its check when the request carries no
  token, so a public path under `/v1/` would be an open write) and `internal/auth/roles.go` (a rule
  is a map of claims, all of which the token must hold; a list value matches any of its items;
  `superAdmin` passes every role check).
The MCPRegistry path runs the registry API v1.3.0, whose structs have the same fields for what the
bundles set (only `OAuthConfig.scopesSupported`, which they do not set, was dropped in v1.5.1).
"""

from __future__ import annotations

import posixpath
import urllib.parse
from typing import Any

# A Go type as the YAML decoder sees it: "string", "int", "bool", "[]string", "map" (map[string]any),
# "[]map" ([]map[string]any), a struct's name, or "[]" + a struct's name.
STRUCTS: dict[str, dict[str, str]] = {
    "Config": {"sources": "[]SourceConfig", "registries": "[]RegistryConfig", "database": "DatabaseConfig",
               "auth": "AuthConfig", "telemetry": "map", "audit": "map"},
    "SourceConfig": {"name": "string", "git": "map", "api": "map", "file": "FileConfig", "managed": "map",
                     "kubernetes": "KubernetesConfig", "syncPolicy": "SyncPolicyConfig", "filter": "FilterConfig",
                     "claims": "map"},
    "RegistryConfig": {"name": "string", "claims": "map", "sources": "[]string"},
    "FileConfig": {"path": "string", "url": "string", "data": "string", "timeout": "string"},
    "KubernetesConfig": {"namespaces": "[]string"},
    "SyncPolicyConfig": {"interval": "string"},
    "FilterConfig": {"names": "NameFilterConfig", "tags": "TagFilterConfig"},
    "NameFilterConfig": {"include": "[]string", "exclude": "[]string"},
    "TagFilterConfig": {"include": "[]string", "exclude": "[]string"},
    "DatabaseConfig": {"host": "string", "port": "int", "user": "string", "migrationUser": "string", "password": "string",
                       "migrationPassword": "string", "dynamicAuth": "map", "database": "string", "sslMode": "string",
                       "maxOpenConns": "int", "maxIdleConns": "int", "connMaxLifetime": "string", "maxMetaSize": "int"},
    "AuthConfig": {"mode": "string", "publicPaths": "[]string", "oauth": "OAuthConfig", "authz": "AuthzConfig"},
    "OAuthConfig": {"resourceUrl": "string", "providers": "[]OAuthProviderConfig", "realm": "string"},
    "OAuthProviderConfig": {"name": "string", "issuerUrl": "string", "jwksUrl": "string", "audience": "string",
                            "clientId": "string", "clientSecretFile": "string", "caCertPath": "string",
                            "authTokenFile": "string", "introspectionUrl": "string", "allowPrivateIP": "bool"},
    "AuthzConfig": {"roles": "RolesConfig"},
    "RolesConfig": {"superAdmin": "[]map", "manageSources": "[]map", "manageRegistries": "[]map", "manageEntries": "[]map"},
}
DEFAULT_PUBLIC_PATHS = ["/openapi.json", "/.well-known"]
ROLES = ("superAdmin", "manageSources", "manageRegistries", "manageEntries")


def struct_problems(value: Any, go_type: str = "Config", where: str = "config") -> list[str]:
    """Every key the structs do not declare (case and spelling exact) and every value of another type."""
    if go_type.startswith("[]"):
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        return [problem for index, item in enumerate(value) for problem in struct_problems(item, go_type[2:], f"{where}[{index}]")]
    scalar = {"string": str, "bool": bool, "map": dict}
    if go_type in scalar:
        return [] if isinstance(value, scalar[go_type]) else [f"{where}: {type(value).__name__}, not {go_type}"]
    if go_type == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: {type(value).__name__}, not int"]
    if not isinstance(value, dict):
        return [f"{where}: {type(value).__name__}, not {go_type}"]
    fields = STRUCTS[go_type]
    problems = [f"{where}.{key}: {go_type} has no such field" for key in value if key not in fields]
    for key, item in value.items():
        if key in fields:
            problems += struct_problems(item, fields[key], f"{where}.{key}")
    return problems


def load_problems(config: dict[str, Any]) -> list[str]:
    """What the server's own validation of `auth` (config.go, `validateAuth`) would refuse at start-up."""
    auth = config.get("auth")
    if not isinstance(auth, dict):
        return ["auth configuration is required"]
    if auth.get("mode") == "anonymous":
        return []
    if auth.get("mode") not in (None, "oauth"):
        return [f"invalid auth.mode: {auth.get('mode')}"]
    providers = (auth.get("oauth") or {}).get("providers") or []
    if not providers:
        return ["auth.oauth.providers is required when mode is oauth"]
    problems = []
    for index, provider in enumerate(providers):
        issuer = urllib.parse.urlsplit(provider.get("issuerUrl") or "")
        if not provider.get("name") or not provider.get("audience"):
            problems.append(f"providers[{index}]: name and audience are required")
        if issuer.scheme != "https" or not issuer.hostname:
            problems.append(f"providers[{index}]: issuerUrl must be an absolute https URL")
    for role, rules in ((auth.get("authz") or {}).get("roles") or {}).items():
        for rule in rules:
            for claim, wanted in rule.items():
                if not isinstance(wanted, str) and not (isinstance(wanted, list) and all(isinstance(w, str) for w in wanted)):
                    problems.append(f"authz.roles.{role}: claim {claim} must be a string or a list of strings")
    return problems


def is_public(request_path: str, auth: dict[str, Any]) -> bool:
    """Whether the server lets a request for `request_path` (decoded, as Go's URL.Path) through without a token."""
    if auth.get("mode") == "anonymous":
        return True
    lowered = request_path.lower()
    if "%2f" in lowered or "%2e" in lowered:
        return False
    cleaned = posixpath.normpath("/" + request_path.lstrip("/"))
    for public in DEFAULT_PUBLIC_PATHS + list(auth.get("publicPaths") or []):
        public = posixpath.normpath("/" + public.lstrip("/"))
        if public == "/" or cleaned == public or cleaned.startswith(public + "/"):
            return True
    return False


def roles_of(claims: dict[str, Any], auth: dict[str, Any]) -> set[str]:
    """The roles a token with `claims` (already accepted by a provider) holds."""
    authz = auth.get("authz")
    if authz is None:
        return set(ROLES)  # no authz: every authenticated caller holds every role
    held = set()
    for role in ROLES:
        for rule in (authz.get("roles") or {}).get(role) or []:
            if rule and all(_claim_matches(claims.get(key), wanted) for key, wanted in rule.items()):
                held.add(role)
    return set(ROLES) if "superAdmin" in held else held


def _claim_matches(have: Any, wanted: Any) -> bool:
    have_values = [have] if isinstance(have, str) else [h for h in have or [] if isinstance(h, str)] if isinstance(have, list) else []
    wanted_values = [wanted] if isinstance(wanted, str) else [w for w in wanted if isinstance(w, str)]
    return bool(set(have_values) & set(wanted_values))


def accepts(claims: dict[str, Any], auth: dict[str, Any]) -> bool:
    """Whether some provider takes a token with these claims (issuer and audience; the signature and
    expiry are the API server's and the clock's, the same for every token here)."""
    for provider in (auth.get("oauth") or {}).get("providers") or []:
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        if claims.get("iss") == provider["issuerUrl"] and provider["audience"] in audiences:
            return True
    return False
