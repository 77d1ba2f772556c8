-- mcp-catalog: the Apache side of the MCP Registry query layer (mod_lua, LuaMapHandler).
--
-- Turns an Apache request into what mcp_registry_query.lua takes (the base's index path,
-- found beside the list folder Alias maps the URL to, and the query arguments) and writes
-- its answer. The configuration maps the list folder to its index.json: same base.

local query = require("mcp_registry_query")

local function arguments(r)
    local args = {}
    for name, value in pairs((r:parseargs())) do
        args[name] = value
    end
    return args
end

function handle(r)
    if r.filename:sub(1, 9) == "redirect:" then
        -- mod_rewrite mapped the folder to its index.json: let it redirect, then answer that request.
        return apache2.DECLINED
    end
    local folder = r.filename:gsub("/index%.json$", ""):gsub("/+$", "")
    local status, content_type, body
    if not folder:match("/v0%.1/servers$") then
        status, content_type, body = query.not_found()
    elseif r.method ~= "GET" and r.method ~= "HEAD" then
        status, content_type, body = query.method_not_allowed()
    else
        status, content_type, body = query.list(folder .. "/query.idx", arguments(r))
    end
    r.status = status
    r.content_type = content_type
    if r.method ~= "HEAD" then
        r:puts(type(body) == "table" and table.concat(body) or body)
    end
    return apache2.OK
end
