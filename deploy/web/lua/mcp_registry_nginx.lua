-- mcp-catalog: the nginx side of the MCP Registry query layer (lua-nginx-module).
--
-- Turns an nginx request into what mcp_registry_query.lua takes (the index path and the raw
-- query string, which the core reads as the official registry does) and writes its answer. Loaded once per worker by require.

local query = require("mcp_registry_query")

local M = {}

local function send(status, content_type, body)
    ngx.status = status
    ngx.header["Content-Type"] = content_type
    ngx.print(body)
    return ngx.exit(status)
end

local function preflight()
    ngx.header["Access-Control-Max-Age"] = "86400"
    return ngx.exit(204)
end

-- The index's mtime in Unix seconds, from the Last-Modified nginx gives its file, or nil.
local function index_modified(index_uri)
    local file = ngx.location.capture(index_uri, {method = ngx.HTTP_HEAD})
    local modified = file.status == ngx.HTTP_OK and file.header["Last-Modified"]
    return modified and ngx.parse_http_time(modified) or nil
end

-- content_by_lua: GET {base}/v0.1/servers?... `index_path` is the base's index on disk,
-- `index_uri` its URL (a subrequest for it dates the answer).
function M.list(index_path, index_uri)
    local method = ngx.req.get_method()
    if method == "OPTIONS" then
        return preflight()
    end
    if method ~= "GET" and method ~= "HEAD" then
        return send(query.method_not_allowed())
    end
    local since = ngx.var.http_if_modified_since
    local status, content_type, body, validators = query.list(index_path, query.arguments(ngx.var.args), {
        md5 = ngx.md5, modified = index_modified(index_uri), if_none_match = ngx.var.http_if_none_match,
        if_modified_since = since and ngx.parse_http_time(since) or nil})
    if validators then
        ngx.header["ETag"] = validators.etag
        ngx.header["Last-Modified"] = validators.modified and ngx.http_time(validators.modified) or nil
    end
    if status == ngx.HTTP_NOT_MODIFIED then
        -- Sent as a header alone: ngx.exit(304) would answer nginx's own 304, without the validators.
        ngx.status = status
        ngx.send_headers()
        return ngx.exit(ngx.HTTP_OK)
    end
    return send(status, content_type, body)
end

-- The one-server versions list the core composed: the headers nginx gives a file (type,
-- length, Last-Modified, ETag, hence 304s and compression), dated by the version document it
-- wraps, whose Last-Modified a HEAD subrequest for that file gives.
local function send_versions(prefix, body, document)
    if not body then
        return ngx.exit(ngx.HTTP_NOT_FOUND)
    end
    local file = ngx.location.capture(prefix .. "/" .. document, {method = ngx.HTTP_HEAD})
    if file.status ~= ngx.HTTP_OK then
        return ngx.exit(ngx.HTTP_NOT_FOUND)  -- a new release replaced the site since the index was read
    end
    local modified = file.header["Last-Modified"]
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.header["Last-Modified"] = modified
    -- nginx's own form for a file: "<mtime>-<length>" in hexadecimal.
    ngx.header["ETag"] = string.format('"%x-%x"', ngx.parse_http_time(modified), #body)
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- content_by_lua in the named location the lookups fall back to when their own file is missing:
-- the one-server list is composed by the query core; for a version, the core names the file that
-- answers (a copy `build` did not write), served by an internal redirect with every header a file
-- gets. A server the base does not list is a 404.
function M.lookup(prefix)
    local relative = ngx.var.uri:sub(#prefix + 2)
    local found = ngx.var.uri:sub(1, #prefix + 1) == prefix .. "/" and ngx.re.match(relative,
        [[^(registry/[a-z0-9-]+/)?v0\.1/servers/([^/]+/[^/]+)/versions(?:/([^/]+))?(/index\.json|/?)$]], "jo")
    if not found then
        return ngx.exit(ngx.HTTP_NOT_FOUND)
    end
    local site, base, name, version = ngx.var.document_root .. prefix .. "/", found[1] or "", found[2], found[3] or nil
    if not query.is_lookup(version, found[4]) then
        return ngx.exit(ngx.HTTP_NOT_FOUND)
    end
    if query.is_versions_list(version) then
        return send_versions(prefix, query.versions(site, base, name))
    end
    local path = query.lookup(site, base, name, version)
    if not path then
        return ngx.exit(ngx.HTTP_NOT_FOUND)
    end
    return ngx.exec(prefix .. "/" .. path)
end

-- access_by_lua: the lookups are files; refuse another method than GET and HEAD (with the API's
-- JSON, where nginx's file handler would answer its own 405 page) and an invalid parameter before
-- nginx serves one.
function M.check_lookup()
    local method = ngx.req.get_method()
    if method == "OPTIONS" then
        return preflight()
    end
    if method ~= "GET" and method ~= "HEAD" then
        return send(query.method_not_allowed())
    end
    local status, content_type, body = query.check_lookup(query.arguments(ngx.var.args))
    if status then
        return send(status, content_type, body)
    end
end

return M
