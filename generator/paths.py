"""Where each output lives in the site: one function per document kind.

Renderers write to these paths and link to each other's documents through
them, so that a link can only point to a file some renderer writes. Paths are
relative to the site root, POSIX, and built only from validated names (DNS-1123
labels, tags, reverse-DNS namespaces), so none can climb out of the site.
"""

from __future__ import annotations

import re

# HTML site
SITE_INDEX = "index.html"
TOOLS_PAGE = "tools/index.html"
ABOUT_PAGE = "about/index.html"
NOT_FOUND_PAGE = "404.html"
CHANGES_PAGE = "changes/index.html"
INSTALL_PAGE = "install/index.html"
PROFILES_PAGE = "registries/index.html"
CHANGES_FEED = "reviews/changes.atom"
REVIEWS_PAGE = "reviews/index.html"
REVIEWS_CSV = "reviews/reviews.csv"
REVIEWS_JSON = "reviews/reviews.json"

# Every file of the output, one path a line: what `wget --input-file` copies the site from
FILE_LIST = "files.txt"


def paged(first: str, number: int) -> str:
    """Page `number` (from 1) of a paginated list whose first page is `first` (an `index.html`)."""
    return first if number == 1 else f"{first.removesuffix('index.html')}page/{number}/index.html"


def index_page(number: int) -> str:
    """Page `number` (from 1) of the paginated server list; page 1 is the site index."""
    return paged(SITE_INDEX, number)


def tools_page(number: int) -> str:
    """Page `number` (from 1) of the table of every tool; page 1 is `TOOLS_PAGE`."""
    return paged(TOOLS_PAGE, number)


def site_asset(name: str) -> str:
    """A stylesheet, script or search-data file of the site."""
    return f"assets/{name}"


def reviews_page(number: int) -> str:
    """Page `number` (from 1) of the reviewer's table; page 1 is `REVIEWS_PAGE`."""
    return paged(REVIEWS_PAGE, number)


def server_page(name: str) -> str:
    """The server's HTML page."""
    return f"servers/{name}/index.html"


def category_page(slug: str) -> str:
    """The HTML list of one category."""
    return f"categories/{slug}/index.html"


def tag_page(tag: str) -> str:
    """The HTML list of one tag."""
    return f"tags/{tag}/index.html"


def tier_page(tier: str) -> str:
    """The HTML list of one tier."""
    return f"tiers/{tier}/index.html"


def profile_page(profile: str) -> str:
    """The HTML page of one registry profile."""
    return f"registries/{profile}/index.html"


def profile_withheld_page(profile: str, number: int = 1) -> str:
    """Page `number` (from 1) of the table of every tool a registry profile withholds."""
    return paged(f"registries/{profile}/withheld/index.html", number)


def profile_left_out_page(profile: str, number: int = 1) -> str:
    """Page `number` (from 1) of the table of the servers a registry profile leaves out by its image rule."""
    return paged(f"registries/{profile}/left-out/index.html", number)


# Our catalog API (api/v1)
CATALOG_JSON = "api/v1/catalog.json"
API_INDEX = "api/v1/index.json"
API_SERVERS = "api/v1/servers.json"
API_CATEGORIES = "api/v1/categories.json"
API_TAGS = "api/v1/tags.json"
API_TOOLS = "api/v1/tools.json"
API_OPENAPI = "api/v1/openapi.json"


API_BROWSE = "api/v1/index.html"
API_NOT_FOUND = "api/not-found.json"


def api_server(name: str) -> str:
    """The complete JSON export of one server."""
    return f"api/v1/servers/{name}.json"


def api_profile(profile: str) -> str:
    """The JSON list of one registry profile."""
    return f"api/v1/registries/{profile}.json"


def api_schema(document: str) -> str:
    """The JSON Schema of one of our API's document kinds."""
    return f"api/v1/schemas/{document}.schema.json"


# Source-format schemas
def source_schema(kind: str) -> str:
    """The JSON Schema of a source file kind (server, catalog)."""
    return f"schemas/{kind}.schema.json"


# MCP Registry API v0.1 static mirror; `base` is "" for the site root or "registry/<profile>/"
def mcp_servers_list(base: str = "") -> str:
    """`GET {base}/v0.1/servers` answered from this file."""
    return f"{base}v0.1/servers/index.json"


def mcp_query_index(base: str = "") -> str:
    """The compact index the query layer answers `GET {base}/v0.1/servers?...` from."""
    return f"{base}v0.1/servers/query.idx"


def mcp_versions(registry_name: str, base: str = "") -> str:
    """`GET {base}/v0.1/servers/<ns>/<name>/versions`: `registry_name` is `<ns>/<name>`."""
    return f"{base}v0.1/servers/{registry_name}/versions/index.json"


def mcp_version(registry_name: str, version: str, base: str = "") -> str:
    """`GET .../versions/<version>` (also used with version "latest")."""
    return f"{base}v0.1/servers/{registry_name}/versions/{version}/index.json"


# A version gets a folder of its own only when it is one path segment that can neither climb nor hide
# (deploy/web/lua/mcp_registry_query.lua applies the same rule).
_VERSION_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def mcp_version_has_folder(version: str) -> bool:
    """Whether `GET .../versions/<version>` is a file (`latest` is the name of the newest, never a folder of its own)."""
    return _VERSION_FOLDER.fullmatch(version) is not None and version != "latest"


def mcp_server_document(registry_name: str, version: str, base: str = "") -> str:
    """The file holding a server's ServerResponse at `base` in every hosting mode: its version's, or
    `latest` for a version that has no folder (what links point to; `latest` may be a copy left out)."""
    return mcp_version(registry_name, version if mcp_version_has_folder(version) else "latest", base)


def mcp_openapi(base: str = "") -> str:
    """The OpenAPI description each MCP API base serves."""
    return f"{base}openapi.yaml"


def profile_api_base(profile: str) -> str:
    """The base of a profile's registry API, as the ToolHive registry server lays it out."""
    return f"registry/{profile}/"


# ToolHive registry files
TOOLHIVE_REGISTRY = "registry.json"
TOOLHIVE_LEGACY_REGISTRY = "registry-legacy.json"


def profile_toolhive_registry(profile: str, legacy: bool = False) -> str:
    """A profile's ToolHive registry file (current or legacy format)."""
    return f"registries/{profile}/{'registry-legacy' if legacy else 'registry'}.json"


# Kubernetes bundles
def server_bundle_dir(name: str) -> str:
    """The folder of a server's manifest bundle (holds kustomization.yaml)."""
    return f"bundles/servers/{name}/"


def server_bundle_kustomization(name: str) -> str:
    """What `kubectl apply -k` reads in a server's bundle (the bundle has no all.yaml: `kubectl kustomize` makes one)."""
    return f"bundles/servers/{name}/kustomization.yaml"


def profile_bundle_dir(profile: str) -> str:
    """The folder of a profile's manifest bundle (holds kustomization.yaml)."""
    return f"bundles/registries/{profile}/"


def profile_bundle_all(profile: str) -> str:
    """A profile's bundle as one multi-document YAML file."""
    return f"bundles/registries/{profile}/all.yaml"


def release_name(title: str) -> str:
    """The catalog's name in its release files: `<name>-<version>.tar.gz` holds the folder `<name>-<version>`."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "catalog"



def operator_values() -> str:
    """Helm values for the official ToolHive operator chart (one operator per cluster)."""
    return "bundles/toolhive/operator-values.yaml"


def registry_server_dir(profile: str) -> str:
    """A profile's registry server installed from its Helm chart: values and kustomization."""
    return f"{profile_bundle_dir(profile)}registry-server/"


# Image mirroring lists
def mirror_list(file_name: str, profile: str | None = None) -> str:
    """A mirroring list for the whole catalog, or for one profile's servers."""
    return f"mirror/{file_name}" if profile is None else f"mirror/profiles/{profile}/{file_name}"


# A release's own lists, beside the site's files (`mcp-catalog package` writes them, `verify` and
# `diff` read them): the checksums, the sizes every member has, and their signatures.
CHECKSUMS = "SHA256SUMS"
SIZES = "SIZES"
SIGNATURE_SUFFIX = ".minisig"
