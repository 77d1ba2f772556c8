-- mcp-catalog: the Apache side of the MCP Registry query layer (mod_lua, LuaMapHandler).
--
-- Turns an Apache request into what mcp_registry_query.lua takes (the base's index path,
-- found beside the list folder Alias maps the URL to, and the raw query string, which the core
-- reads as the official registry does: r:parseargs() would take "+" for itself and the last of
-- repeated parameters) and writes its answer. The configuration maps the list folder to its index.json: same base.

local query = require("mcp_registry_query")
-- One Lua state per worker thread (LuaScope thread): each keeps only the header of an index, not
-- its lines, so that memory does not grow with the threads (mcp_registry_query.lua, keep_index).
query.keep_header_only()

local function send(r, status, content_type, body)
    r.status = status
    r.content_type = content_type
    if r.method ~= "HEAD" then
        r:puts(type(body) == "table" and table.concat(body) or body)
    end
    return apache2.OK
end

function handle(r)
    if r.filename:sub(1, 9) == "redirect:" then
        -- mod_rewrite mapped the folder to its index.json: let it redirect, then answer that request.
        return apache2.DECLINED
    end
    local folder = r.filename:gsub("/index%.json$", ""):gsub("/+$", "")
    if not folder:match("/v0%.1/servers$") then
        return send(r, query.not_found())
    elseif r.method ~= "GET" and r.method ~= "HEAD" then
        return send(r, query.method_not_allowed())
    end
    -- Apache dates a file in microseconds.
    local index = r:stat(folder .. "/query.idx")
    local since = r.headers_in["If-Modified-Since"]
    local status, content_type, body, validators = query.list(folder .. "/query.idx", query.arguments(r.args), {
        md5 = function(text) return r:md5(text) end, modified = index and index.mtime // 1000000,
        if_none_match = r.headers_in["If-None-Match"], if_modified_since = since and r.date_parse_rfc(since) or nil})
    if validators then
        r.headers_out["ETag"] = validators.etag
        if validators.modified then
            r.headers_out["Last-Modified"] = os.date("!%a, %d %b %Y %H:%M:%S GMT", validators.modified)
        end
    end
    if status == 304 then
        r.status = 304
        return apache2.OK
    end
    return send(r, status, content_type, body)
end

-- Whether a client holding the answer dated `modified` (microseconds) with tag `etag` may keep it.
local function not_modified(r, etag, modified)
    local since = r.headers_in["If-Modified-Since"]
    return query.not_modified(etag, modified // 1000000, r.headers_in["If-None-Match"],
                              since and r.date_parse_rfc(since) or nil)
end

-- The one-server versions list the core composed, with the headers Apache gives a file (type,
-- length, Last-Modified, ETag, hence 304s), dated by the version document it wraps.
local function send_versions(r, site, body, document)
    if not body then
        return 404
    end
    local file = r:stat(site .. document)
    if not file then
        return 404  -- a new release replaced the site since the index was read
    end
    -- In microseconds, as Apache dates a file: its tag is "<length>-<mtime>" in hexadecimal.
    local modified = file.mtime
    local etag = string.format('"%x-%x"', #body, modified)
    r.content_type = "application/json; charset=utf-8"
    r.headers_out["Last-Modified"] = os.date("!%a, %d %b %Y %H:%M:%S GMT", modified // 1000000)
    r.headers_out["ETag"] = etag
    if not_modified(r, etag, modified) then
        r.status = 304
        return apache2.OK
    end
    r.headers_out["Content-Length"] = tostring(#body)
    if r.method ~= "HEAD" then
        r:puts(body)
    end
    return apache2.OK
end

-- A lookup whose own file `build` did not write (the one-server versions list; a copy of another:
-- `versions/latest`, a profile's copy of the root's document), {base}v0.1/servers/<ns>/<name>/versions[/<version>].
-- Its site path is where Alias mapped the URL: <site>/<base>v0.1/servers/<ns>/<name>/versions...;
-- the configuration says which kind of base matched, so the site folder is found without
-- guessing from the URL's prefix. The query core names the file that answers.
local function lookup(r, profile)
    -- Checked before a file is served: Apache's own handler would answer a POST with the file.
    -- (An OPTIONS preflight never gets here: mod_rewrite answers it first.)
    if r.method ~= "GET" and r.method ~= "HEAD" then
        return send(r, query.method_not_allowed())
    end
    local refused, content_type, body = query.check_lookup(query.arguments(r.args))
    if refused then
        return send(r, refused, content_type, body)
    end
    if r.filename:sub(1, 9) == "redirect:" or query.is_file(r.filename) then
        -- The lookup's own file exists: mod_rewrite maps the folder to its index.json, then
        -- Apache serves that file (whose URL this pattern also takes).
        return apache2.DECLINED
    end
    -- Apache keeps what follows the first missing folder in path_info.
    local requested = r.filename .. (r.path_info or "")
    -- A version document asked for by its file's name: the lookup of that version.
    local version_folder = requested:match("^(.*/versions/[^/]+)/index%.json$")
    local servers, ns, name, version = (version_folder or requested):match("^(.*)/([^/]+)/([^/]+)/versions/?([^/]*)/?$")
    if not query.is_lookup(version, version_folder and "/index.json" or r.uri:match("/?$")) then
        return 404
    end
    local site, base = servers and servers:match("^(.*/)v0%.1/servers$"), ""
    if site and profile then
        site, base = site:match("^(.*/)(registry/[a-z0-9-]+/)$")
    end
    local relative = site and requested:sub(#site + 1)
    if not site or r.uri:sub(-#relative - 1) ~= "/" .. relative then
        return 404
    end
    if query.is_versions_list(version) then
        return send_versions(r, site, query.versions(site, base, ns .. "/" .. name))
    end
    local path = query.lookup(site, base, ns .. "/" .. name, version)
    if not path then
        return 404
    end
    -- Served as Apache serves any file (type, ETag, ranges, compression) by an internal redirect
    -- to the file's own URL, through mod_rewrite's redirect handler as its [L] rules are.
    r.filename = "redirect:" .. r.uri:sub(1, #r.uri - #relative) .. path
    r.handler = "redirect-handler"
    return apache2.DECLINED
end

function lookup_at_root(r)
    return lookup(r, false)
end

function lookup_at_profile(r)
    return lookup(r, true)
end
