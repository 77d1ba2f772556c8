"""Every profile's registry server takes writes from the platform team's identity alone; reading stays open.

The configs checked are the ones the bundles ship (the chart's `config:` in
`registry-server/values.yaml`, the MCPRegistry's `configYAML`), held against the registry server's
v1.5.1 config structs and its treatment of a request, both described in `registry_server_config.py`
from its source; the routes are the server's own OpenAPI document (shared/reference/toolhive/swagger.yaml,
v1.5.1). `tests/test_toolhive_charts.py` renders the chart with these values through Helm's library.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CATALOG_YAML, DEFAULT_SOURCE, SHARED
from generator.render.context import RenderContext
from generator.render.kubernetes import bundles
from generator.source.validate import read_catalog
from registry_server_config import accepts, is_public, load_problems, roles_of, struct_problems

ISSUER = "https://kubernetes.default.svc.cluster.local"


def registry_configs(source: Path) -> dict[str, dict[str, Any]]:
    """`<profile> chart` / `<profile> mcpregistry` -> the registry server config the bundles ship
    (with the profile's namespace under the key `namespace`, which no config struct has)."""
    files = {item.path: item.content for item in bundles.render(RenderContext(read_catalog(source).catalog))}
    configs = {}
    for path, content in files.items():
        profile = path.split("/")[2] if path.startswith("bundles/registries/") else ""
        if path.endswith("/registry-server/values.yaml"):
            configs[f"{profile} chart"] = yaml.safe_load(content)["config"]
        elif path.endswith("/base/mcpregistry.yaml"):
            configs[f"{profile} mcpregistry"] = yaml.safe_load(yaml.safe_load(content)["spec"]["configYAML"])
    for name, config in configs.items():
        namespace = yaml.safe_load(files[f"bundles/registries/{name.split()[0]}/base/namespace.yaml"])["metadata"]["name"]
        configs[name] = {"namespace": namespace, **config}
    return configs


@pytest.fixture(scope="module")
def default_configs() -> dict[str, dict[str, Any]]:
    configs = registry_configs(DEFAULT_SOURCE)
    assert sorted(configs) == ["production chart", "production mcpregistry", "sandbox chart", "sandbox mcpregistry"]
    return configs


def test_every_registry_config_loads_under_the_v1_5_1_structs_in_oauth_mode(default_configs: dict[str, dict[str, Any]]) -> None:
    for name, config in default_configs.items():
        config = {key: value for key, value in config.items() if key != "namespace"}
        assert struct_problems(config) == [], name
        assert load_problems(config) == [], name
        auth = config["auth"]
        assert auth["mode"] == "oauth" and set(auth) == {"mode", "publicPaths", "oauth", "authz"}, name


def auth_keys(node: Any, where: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every mapping key under `node` (list items share their key paths)."""
    if isinstance(node, dict):
        return [path for key, value in node.items() for path in [(*where, key), *auth_keys(value, (*where, key))]]
    if isinstance(node, list):
        return [path for item in node for path in auth_keys(item, where)]
    return []


def renamed(node: Any, path: tuple[str, ...], new: str) -> Any:
    """A copy of `node` with the key at `path` (through every list item) renamed to `new`."""
    node = copy.deepcopy(node)
    parents = [node]
    for key in path[:-1]:
        parents = [p[key] for p in parents]
        parents = [item for p in parents for item in (p if isinstance(p, list) else [p])]
    for parent in parents:
        parent[new] = parent.pop(path[-1])
    return node


def test_a_misspelt_key_of_the_generated_auth_fails(default_configs: dict[str, dict[str, Any]]) -> None:
    """Viper drops unknown keys without a word: a misspelt `authz` would give every caller every role,
    a misspelt `publicPaths` would lock the readers out. The struct check names each."""
    config = {key: value for key, value in default_configs["production chart"].items() if key != "namespace"}
    keys = auth_keys(config["auth"])
    assert {("authz",), ("publicPaths",), ("oauth", "providers", "issuerUrl"), ("oauth", "providers", "audience"),
            ("oauth", "providers", "caCertPath"), ("authz", "roles", "superAdmin")} <= set(keys)
    claims = {("authz", "roles", "superAdmin", "sub")}  # a claim's name, not a field: any string is valid
    for path in set(keys) - claims:
        for typo in (path[-1].lower() if path[-1] != path[-1].lower() else path[-1].upper(), path[-1] + "s"):
            broken = {**config, "auth": renamed(config["auth"], path, typo)}
            assert any(f".{typo}: " in problem for problem in struct_problems(broken)), (path, typo)
    assert struct_problems({**config, "auth": {**config["auth"], "publicPaths": "/registry"}}) == [
        "config.auth.publicPaths: str, not a list"]


def request_path(template: str, profile: str) -> str:
    """A concrete path of an OpenAPI path template (server names as MCP clients send them)."""
    return (template.replace("{registryName}", profile).replace("{serverName}", "com.example.mcp/fetch")
            .replace("{version}", "latest").replace("{namespace}", "com.example").replace("{name}", "thing")
            .replace("{type}", "server"))


def test_mcp_clients_read_without_a_token_and_every_write_needs_one(default_configs: dict[str, dict[str, Any]]) -> None:
    operations = yaml.safe_load((SHARED / "toolhive" / "swagger.yaml").read_text())["paths"]
    methods = [(method, template) for template, item in operations.items() for method in item
               if method in ("get", "put", "post", "delete", "patch")]
    assert {m for m, t in methods if not t.startswith("/registry/")} >= {"put", "post", "delete"}
    for name, config in default_configs.items():
        profile = name.split()[0]
        for method, template in methods:
            public = is_public(request_path(template, profile), config["auth"])
            read = method == "get" and (template.startswith("/registry/") or template == "/openapi.json")
            assert public == read, (name, method, template)
        for path in (f"/registry/{profile}/v0.1/servers", f"/registry/{profile}/v0.1/servers?search=fetch&limit=10",
                     f"/registry/{profile}/v0.1/servers/com.example.mcp/fetch/versions",
                     f"/registry/{profile}/v0.1/servers/com.example.mcp/fetch/versions/latest"):
            assert is_public(path.partition("?")[0], config["auth"]), (name, path)
        for path in ("/v1/entries", f"/registry/{profile}/../../v1/entries", "/registry/../v1/sources/x",
                     "/registryx/v1/entries", "//v1/entries", "/v1/me", f"/registry%2f..%2fv1/entries"):
            assert not is_public(path, config["auth"]), (name, path)


def token(namespace: str, account: str, audience: str, issuer: str = ISSUER) -> dict[str, Any]:
    """The claims of a Kubernetes service-account token (the `kubernetes.io` claim as the API server nests it)."""
    return {"iss": issuer, "aud": [audience], "sub": f"system:serviceaccount:{namespace}:{account}",
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": account, "uid": "0"}}}


def test_only_the_profiles_registry_admin_may_write(default_configs: dict[str, dict[str, Any]]) -> None:
    """Every pod may obtain a token for its own account with any audience (a projected volume), so the
    authorization rule, not authentication, keeps the writes to the platform team's account."""
    for name, config in default_configs.items():
        auth, namespace = config["auth"], config["namespace"]
        audience = auth["oauth"]["providers"][0]["audience"]
        admin = token(namespace, "registry-admin", audience)
        assert accepts(admin, auth) and roles_of(admin, auth) >= {"manageSources", "manageRegistries", "manageEntries"}, name
        others = [token(namespace, account, audience) for account in
                  ("default", "fetch-sa", "fetch-proxy-runner", f"{name.split()[0]}-api", "registry-admin-x")]
        others += [token("mcp-elsewhere", "registry-admin", audience), token(namespace, "registry-admin", audience) | {"sub": "registry-admin"}]
        for other in others:
            assert accepts(other, auth) and roles_of(other, auth) == set(), (name, other["sub"])
        # not accepted at all: every pod's own token (for the API server), another cluster's, another profile's registry
        assert not accepts(token(namespace, "registry-admin", ISSUER), auth), name
        assert not accepts(token(namespace, "registry-admin", "https://kubernetes.default.svc"), auth), name
        assert not accepts(token(namespace, "registry-admin", audience, issuer="https://other.example"), auth), name
        assert all(audience != other["auth"]["oauth"]["providers"][0]["audience"]
                   for key, other in default_configs.items() if key.split()[0] != name.split()[0]), name


def test_the_admin_account_is_shipped_to_mint_tokens_and_nothing_else(default_configs: dict[str, dict[str, Any]]) -> None:
    files = {item.path: item.content for item in bundles.render(RenderContext(read_catalog(DEFAULT_SOURCE).catalog))}
    for profile, namespace in (("production", "mcp-production"), ("sandbox", "mcp-sandbox")):
        base = f"bundles/registries/{profile}/base/"
        assert "serviceaccount-registry-admin.yaml" in yaml.safe_load(files[f"{base}kustomization.yaml"])["resources"]
        text = files[f"{base}serviceaccount-registry-admin.yaml"].decode()
        account = yaml.safe_load(text)
        assert account["metadata"] | {"labels": None} == {"name": "registry-admin", "namespace": namespace, "labels": None}
        assert account["automountServiceAccountToken"] is False
        audience = default_configs[f"{profile} chart"]["auth"]["oauth"]["providers"][0]["audience"]
        assert f"# kubectl -n {namespace} create token registry-admin --audience {audience} --duration 10m\n" in text
        # no RBAC right: the account exists to be named in the registry's rule
        for path, content in files.items():
            if path.startswith(base) and "rolebinding" in path:
                assert "registry-admin" not in content.decode(), path
    # legacy/ is anonymous (docs/bundles.md says why): no account for a rule it cannot name
    assert not [path for path in files if path.startswith("bundles/registries/sandbox/legacy/") and "registry-admin" in path]


def test_anonymous_is_an_opt_in_that_ships_no_admin(write_tree: Any) -> None:
    source = write_tree(catalog=CATALOG_YAML.replace("categories:", "toolhive:\n  registry_auth:\n    mode: anonymous\ncategories:"))
    configs = registry_configs(source)
    assert configs and all(config["auth"] == {"mode": "anonymous"} for config in configs.values())
    files = [item.path for item in bundles.render(RenderContext(read_catalog(source).catalog))]
    assert not [path for path in files if "registry-admin" in path]


def test_the_issuer_setting_reaches_every_registry_config(write_tree: Any) -> None:
    issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    source = write_tree(catalog=CATALOG_YAML.replace("categories:", f"toolhive:\n  registry_auth:\n    issuer: {issuer}\ncategories:"))
    configs = registry_configs(source)
    assert sorted(configs) == ["production chart", "production mcpregistry", "sandbox chart", "sandbox mcpregistry"]
    for name, config in configs.items():
        (provider,) = config["auth"]["oauth"]["providers"]
        assert provider["issuerUrl"] == issuer, name
        # the keys come from the API server in-cluster, never from the issuer's host (outside an air gap)
        assert provider["jwksUrl"] == "https://kubernetes.default.svc/openid/v1/jwks", name
        assert accepts(token(config["namespace"], "registry-admin", provider["audience"], issuer), config["auth"]), name
