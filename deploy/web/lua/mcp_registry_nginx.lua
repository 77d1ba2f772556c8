-- mcp-catalog: the nginx side of the MCP Registry query layer (lua-nginx-module).
--
-- Turns an nginx request into what mcp_registry_query.lua takes (the index path and the
-- query arguments as the official registry reads them: the first value of a repeated
-- parameter, "" for a bare one) and writes its answer. Loaded once per worker by require.

local query = require("mcp_registry_query")

local M = {}

local function arguments()
    local args = {}
    for name, value in pairs(ngx.req.get_uri_args(100)) do
        if type(value) == "table" then
            value = value[1]
        end
        args[name] = value == true and "" or value
    end
    return args
end

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

-- content_by_lua: GET {base}/v0.1/servers?...
function M.list(index_path)
    local method = ngx.req.get_method()
    if method == "OPTIONS" then
        return preflight()
    end
    if method ~= "GET" and method ~= "HEAD" then
        return send(query.method_not_allowed())
    end
    return send(query.list(index_path, arguments()))
end

-- content_by_lua in the named location the lookups fall back to when their own file is missing:
-- the query core names the file that answers (a copy `build` did not write), served by an
-- internal redirect with every header a file gets; a server the base does not list is a 404.
function M.lookup(prefix)
    local relative = ngx.var.uri:sub(#prefix + 2)
    local found = ngx.var.uri:sub(1, #prefix + 1) == prefix .. "/" and ngx.re.match(relative,
        [[^(registry/[a-z0-9-]+/)?v0\.1/servers/([^/]+/[^/]+)/versions(?:/([^/]+))?/?$]], "jo")
    local path = found and query.lookup(ngx.var.document_root .. prefix .. "/", found[1] or "", found[2], found[3] or nil)
    if not path then
        return ngx.exit(ngx.HTTP_NOT_FOUND)
    end
    return ngx.exec(prefix .. "/" .. path)
end

-- access_by_lua: the lookups are files; refuse an invalid parameter before nginx serves one.
function M.check_lookup()
    if ngx.req.get_method() == "OPTIONS" then
        return preflight()
    end
    local status, content_type, body = query.check_lookup(arguments())
    if status then
        return send(status, content_type, body)
    end
end

return M
