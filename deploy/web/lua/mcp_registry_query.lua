-- mcp-catalog: the MCP Registry list query, answered from the compact index `build` writes.
--
-- GET {base}/v0.1/servers takes search, version, updated_since, limit, cursor and
-- include_deleted; this module answers it with the official registry's semantics (default
-- page 30, maximum 100, `name:version` cursors, huma-style 422/400 problem bodies) from
-- {base}v0.1/servers/query.idx (format: generator/render/registry/query_index.py). It is plain
-- Lua, run by nginx (lua-nginx-module, LuaJIT) and by Apache (mod_lua, Lua 5.3): the web
-- server adapters only turn a request into (index path, arguments) and write the answer.
--
-- Per worker it keeps the index lines of each base in memory, keyed by the header line
-- (which carries a digest of the file), and reads the responses of a page from the file
-- it opened for this request: a new build is answered at once, a half-read file never.

local M = {}

local DEFAULT_LIMIT, MAX_LIMIT = 30, 100
local MAGIC = "mcp-catalog-query-index 1 "
local PROBLEM = "application/problem+json"
-- With its charset, as both web servers name the type of a JSON file: nginx's charset filter
-- added it to the layer's answers and Apache's did not, so the same list came with two types.
local JSON = "application/json; charset=utf-8"

local indexes = {}

-- The inside of a JSON string by the one rule the generator also applies (registry/query_index.py,
-- _json_string): `"`, `\` and control bytes as \u00XX, every other byte as is.
local function json_escaped(text)
    return (text:gsub('[%c"\\]', function(c)
        local byte = c:byte()
        if byte < 32 or c == '"' or c == "\\" then
            return string.format("\\u%04x", byte)
        end
        return c
    end))
end

local function json_string(text)
    return '"' .. json_escaped(text) .. '"'
end
M.json_string = json_string

-- The length of the UTF-8 sequence starting at byte `at` of `text`, or nil when none starts there:
-- a lead byte, then continuation bytes in the ranges Go's utf8.DecodeRune accepts (no overlong
-- form, no surrogate, nothing above U+10FFFF).
local UTF8_LEADS = {}
for byte = 0xC2, 0xDF do UTF8_LEADS[byte] = {2, 0x80, 0xBF} end
UTF8_LEADS[0xE0] = {3, 0xA0, 0xBF}
for byte = 0xE1, 0xEF do UTF8_LEADS[byte] = {3, 0x80, 0xBF} end
UTF8_LEADS[0xED] = {3, 0x80, 0x9F}
UTF8_LEADS[0xF0] = {4, 0x90, 0xBF}
for byte = 0xF1, 0xF3 do UTF8_LEADS[byte] = {4, 0x80, 0xBF} end
UTF8_LEADS[0xF4] = {4, 0x80, 0x8F}

local function utf8_length(text, at)
    local lead = UTF8_LEADS[text:byte(at)]
    if not lead then
        return nil
    end
    local second = text:byte(at + 1)
    if not second or second < lead[2] or second > lead[3] then
        return nil
    end
    for k = at + 2, at + lead[1] - 1 do
        local byte = text:byte(k)
        if not byte or byte < 0x80 or byte > 0xBF then
            return nil
        end
    end
    return lead[1]
end

-- A value of the request, echoed in an error, as a JSON string the way Go's encoding/json writes
-- it: each byte that starts no valid UTF-8 sequence as \ufffd. Sent as is, a byte such as %ff
-- made the answer invalid JSON (JSON is UTF-8), which a strict client cannot read at all.
local function echoed(value)
    if not value:find("[\128-\255]") then
        return json_string(value)
    end
    local parts, at, run = {}, 1, 1
    while at <= #value do
        local length = value:byte(at) < 0x80 and 1 or utf8_length(value, at)
        if length then
            at = at + length
        else
            parts[#parts + 1] = json_escaped(value:sub(run, at - 1)) .. "\\ufffd"
            at = at + 1
            run = at
        end
    end
    parts[#parts + 1] = json_escaped(value:sub(run))
    return '"' .. table.concat(parts) .. '"'
end

-- One component of a query string as Go's url.QueryUnescape reads it ("+" is a space), or nil
-- when a "%" is not followed by two hexadecimal digits.
local function query_unescape(text)
    for at in text:gmatch("()%%") do
        if not text:sub(at + 1, at + 2):match("^%x%x$") then
            return nil
        end
    end
    local spaced = text:gsub("%+", " ")
    return (spaced:gsub("%%(%x%x)", function(hex)
        return string.char(tonumber(hex, 16))
    end))
end

-- A raw query string (nil when the request has none) read as the official registry reads it:
-- Go's url.ParseQuery (pairs split at "&", a pair holding ";" or a bad escape dropped, "name"
-- alone giving "") and the first value of a repeated name (url.Values.Get). Both web servers'
-- adapters use it, so that they read every request alike.
function M.arguments(raw)
    local args = {}
    for pair in (raw or ""):gmatch("[^&]+") do
        if not pair:find(";", 1, true) then
            local name, value = pair:match("^([^=]*)=?(.*)$")
            name, value = query_unescape(name), query_unescape(value)
            if name and value and args[name] == nil then
                args[name] = value
            end
        end
    end
    return args
end

local function problem(status, title, detail, errors)
    local body = '{"title":' .. json_string(title) .. ',"status":' .. status .. ',"detail":' .. json_string(detail)
    if errors then
        local items = {}
        for i, e in ipairs(errors) do
            items[i] = '{"message":' .. json_string(e.message) .. ',"location":' .. json_string(e.location)
                .. ',"value":' .. e.value .. "}"
        end
        body = body .. ',"errors":[' .. table.concat(items, ",") .. "]"
    end
    return status, PROBLEM, body .. "}\n"
end

local function not_found()
    return 404, JSON, '{"error":"Not found"}\n'
end

-- Whether the digits (no leading zeros) with their sign fit in 64 bits, as strconv.ParseInt
-- reads them; compared as text, since Lua's numbers are doubles, exact to 15 digits only.
local function fits_int64(sign, significant)
    if #significant ~= 19 then
        return #significant < 19
    end
    return significant <= (sign == "-" and "9223372036854775808" or "9223372036854775807")
end

-- huma reads an integer with strconv.ParseInt: an optional sign, decimal digits, 64 bits; a
-- value that fits is then checked against the bounds (and echoed as written, every digit kept).
-- An empty value is refused too (the official registry takes it for "absent"): it is no integer.
local function check_limit(raw, errors)
    if raw == nil then
        return DEFAULT_LIMIT
    end
    local sign, digits = raw:match("^([+-]?)(%d+)$")
    local significant = digits and digits:gsub("^0+", "") or nil
    if not digits or not fits_int64(sign, significant) then
        errors[#errors + 1] = {message = "invalid integer", location = "query.limit", value = echoed(raw)}
        return nil
    end
    local value = tonumber(significant ~= "" and significant or "0")
    if sign == "-" then
        value = -value
    end
    local literal = (sign == "-" and significant ~= "" and "-" or "") .. (significant ~= "" and significant or "0")
    if value < 1 then
        errors[#errors + 1] = {message = "expected number >= 1", location = "query.limit", value = literal}
    elseif value > MAX_LIMIT then
        errors[#errors + 1] = {message = "expected number <= 100", location = "query.limit", value = literal}
    end
    return value
end

-- strconv.ParseBool's spellings, and the value each gives.
local BOOLEANS = {["1"] = true, t = true, T = true, TRUE = true, ["true"] = true, True = true,
                  ["0"] = false, f = false, F = false, FALSE = false, ["false"] = false, False = false}

local function check_boolean(raw, name, errors)
    if raw ~= nil and BOOLEANS[raw] == nil then
        errors[#errors + 1] = {message = "invalid boolean", location = "query." .. name, value = echoed(raw)}
    end
end

local function days_from_civil(y, m, d)
    -- Days since 1970-01-01 in the proleptic Gregorian calendar (no os.time: it reads the local zone).
    if m <= 2 then
        y = y - 1
    end
    local era = math.floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = math.floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

local function days_in_month(y, m)
    if m == 2 then
        local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
        return leap and 29 or 28
    end
    return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- An RFC 3339 date-time as Unix seconds, or nil. As Go's time.Parse(time.RFC3339) reads it: "T"
-- and "Z" in capitals only (RFC 3339 allows lower case; Go does not).
local function rfc3339_seconds(text)
    local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
    if not y then
        return nil
    end
    y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
    local fraction, zone = rest:match("^(%.%d+)(.*)$")
    if not fraction then
        fraction, zone = "", rest
    end
    local offset
    if zone == "Z" then
        offset = 0
    else
        local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
        if not sign or tonumber(zh) > 23 or tonumber(zm) > 59 then
            return nil
        end
        offset = (tonumber(zh) * 60 + tonumber(zm)) * 60 * (sign == "-" and -1 or 1)
    end
    if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) or h > 23 or mi > 59 or s > 59 then
        return nil
    end
    local seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
    return seconds + (fraction ~= "" and tonumber("0" .. fraction) or 0)
end

local UPDATED_SINCE = "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)"
local SYNC_WITHOUT_DELETED = "Cannot set include_deleted=false when using updated_since (incremental sync requires deleted servers)"

-- The parameters as the official registry reads them, or nil and the error answer.
local function parse_query(args)
    local errors = {}
    local limit = check_limit(args.limit, errors)
    check_boolean(args.include_deleted, "include_deleted", errors)
    if #errors > 0 then
        return nil, problem(422, "Unprocessable Entity", "validation failed", errors)
    end
    local query = {limit = limit}
    if args.updated_since ~= nil then
        query.since = rfc3339_seconds(args.updated_since)
        if not query.since then
            return nil, problem(400, "Bad Request", UPDATED_SINCE)
        end
        if BOOLEANS[args.include_deleted] == false then
            return nil, problem(400, "Bad Request", SYNC_WITHOUT_DELETED)
        end
    end
    if args.search ~= nil and args.search ~= "" then
        query.search = args.search:lower()
    end
    if args.version ~= nil and args.version ~= "" and args.version ~= "latest" then
        -- Every listed version is the latest one (the catalog holds one version a server).
        query.version = args.version
    end
    if args.cursor ~= nil and args.cursor ~= "" then
        -- Without a colon the cursor is a name alone, and the page starts after every version of it.
        local name, version = args.cursor:match("^([^:]*):(.*)$")
        query.cursor_name, query.cursor_version = name or args.cursor, version
    end
    return query
end

-- One line of the index: the server's name and version, its date (Unix seconds), and where its
-- response lies after the lines (offset, length); nil when the line is not one.
local function line_fields(line)
    local name, version, stamp, offset, length = (line or ""):match("^([^\t]*)\t([^\t]*)\t(%d+)\t(%d+)\t(%d+)$")
    if not name then
        return nil
    end
    return name, version, tonumber(stamp), tonumber(offset), tonumber(length)
end

-- Whether the line of `name` and `version` comes before the page that follows the cursor
-- (`cursor_version` nil: after every version of the name): names are sorted, one version each.
local function not_after(name, version, cursor_name, cursor_version)
    return name < cursor_name or (name == cursor_name and (cursor_version == nil or version <= cursor_version))
end

local function matches(query, lowered, version, updated)
    return (not query.search or lowered:find(query.search, 1, true) ~= nil)
        and (not query.version or version == query.version)
        and (not query.since or updated > query.since)
end

-- A server a request picked: `number` orders the lines (neighbours' responses are neighbours too).
local function entry(number, name, version, offset, length)
    return {number = number, name = name, version = version, offset = offset, length = length}
end

-- An index kept whole: its lines, parsed, in arrays.

-- The first position after the cursor.
local function first_after(index, name, version)
    local low, high = 1, index.count + 1
    while low < high do
        local middle = math.floor((low + high) / 2)
        if not_after(index.names[middle], index.versions[middle], name, version) then
            low = middle + 1
        else
            high = middle
        end
    end
    return low
end

-- The position of `name` in the index, or nil: names are sorted and unique.
local function position(index, name)
    local low, high = 1, index.count
    while low <= high do
        local middle = math.floor((low + high) / 2)
        local here = index.names[middle]
        if here == name then
            return middle
        elseif here < name then
            low = middle + 1
        else
            high = middle - 1
        end
    end
    return nil
end

local function kept_entry(index, i)
    return entry(i, index.names[i], index.versions[i], index.offsets[i], index.lengths[i])
end

-- The servers of the query's page, at most `limit` of them.
local function kept_page(index, _, query)
    local first = query.cursor_name and first_after(index, query.cursor_name, query.cursor_version) or 1
    local picked = {}
    for i = first, index.count do
        if #picked == query.limit then
            break
        end
        if matches(query, index.lowered[i], index.versions[i], index.updated[i]) then
            picked[#picked + 1] = kept_entry(index, i)
        end
    end
    return picked
end

local function kept_find(index, _, name)
    local i = position(index, name)
    return i and kept_entry(index, i) or nil
end

local function read_index(file, header, count)
    local index = {header = header, count = count, names = {}, lowered = {}, versions = {}, updated = {},
                   offsets = {}, lengths = {}, page = kept_page, find = kept_find}
    for i = 1, count do
        local name, version, updated, offset, length = line_fields(file:read("*l"))
        if not name then
            return nil
        end
        index.names[i], index.lowered[i], index.versions[i] = name, name:lower(), version
        index.updated[i], index.offsets[i], index.lengths[i] = updated, offset, length
    end
    index.blob = file:seek()
    return index
end

-- An index of which only the header is kept, and where its lines start (`lines`) and end (`blob`):
-- each request reads the lines it needs from the file it opened. The header's digest covers the
-- lines, so a file with the same header has the same lines; one that does not parse is answered
-- as unreadable (nil below).

-- Where the first line for which `before(name, version)` is false starts (index.blob when none):
-- a bisection of the file's bytes, `before` being true on the first lines and on no later one.
local function first_line_not(index, file, before)
    local low, high = index.lines, index.blob  -- each where a line starts, or where the lines end
    while low < high do
        -- The first line starting at or after the middle (the byte before `lines` is the header's
        -- newline); when that is `high`, the line at `low`.
        file:seek("set", math.floor((low + high) / 2) - 1)
        file:read("*l")
        local at = file:seek()
        if at >= high then
            at = file:seek("set", low)
        end
        local line = file:read("*l")
        local name, version = line_fields(line)
        if not name then
            return nil
        end
        if before(name, version) then
            low = at + #line + 1
        else
            high = at
        end
    end
    return low
end

-- The lines from byte `at` to where the lines end, in order, read in blocks: one read a line was
-- most of what a search of 10,000 lines cost. Small blocks: a state holds its last ones as
-- garbage until it next collects, and Apache has hundreds of states.
local BLOCK = 8192

local function lines_from(index, file, at)
    file:seek("set", at)
    local block, from = "", 1
    return function()
        local stop = block:find("\n", from, true)
        while not stop and at < index.blob do
            local piece = file:read(math.min(BLOCK, index.blob - at))
            if not piece then
                return nil
            end
            at = at + #piece
            block, from = block:sub(from) .. piece, 1
            stop = block:find("\n", from, true)
        end
        if not stop then
            return nil
        end
        local line = block:sub(from, stop - 1)
        from = stop + 1
        return line
    end
end

-- Whether the name that starts `line` may match the search: only those lines are parsed.
local function may_match(line, search)
    return not search or line:match("^[^\t]*"):lower():find(search, 1, true) ~= nil
end

local function streamed_page(index, file, query)
    local at = index.lines
    if query.cursor_name then
        at = first_line_not(index, file, function(name, version)
            return not_after(name, version, query.cursor_name, query.cursor_version)
        end)
    end
    if not at then
        return nil
    end
    local picked, number = {}, 0
    for line in lines_from(index, file, at) do
        if #picked == query.limit then
            break
        end
        number = number + 1
        if may_match(line, query.search) then
            local name, version, updated, offset, length = line_fields(line)
            if not name then
                return nil
            end
            if matches(query, query.search and name:lower(), version, updated) then
                picked[#picked + 1] = entry(number, name, version, offset, length)
            end
        end
    end
    return picked
end

local function streamed_find(index, file, name)
    local at = first_line_not(index, file, function(here)
        return here < name
    end)
    if not at or at == index.blob then
        return nil
    end
    file:seek("set", at)
    local here, version, _, offset, length = line_fields(file:read("*l"))
    return here == name and entry(1, here, version, offset, length) or nil
end

-- Reads every line once, to check it, and keeps none.
local function measure_index(file, header, count)
    local lines = file:seek()
    for _ = 1, count do
        if not line_fields(file:read("*l")) then
            return nil
        end
    end
    return {header = header, count = count, lines = lines, blob = file:seek(), page = streamed_page, find = streamed_find}
end

-- What this Lua state keeps of each base's index between requests: its lines (read_index), or
-- its header alone (measure_index). Keeping the lines spares reading them again per request, and
-- suits a web server with one state a process (nginx: a few). Apache's mod_lua has one state a
-- worker thread (LuaScope thread), up to hundreds: kept lines made its memory grow with threads
-- times catalog size (some 4 MB a base at 10,000 servers), so its adapter asks for the header alone.
local keep_index = read_index

function M.keep_header_only()
    keep_index = measure_index
end

-- The page's responses, read from the open file in one piece per run of neighbours, as
-- pieces separated by commas (written out without joining them: a page can be megabytes).
local function read_responses(file, index, picked)
    local parts, k = {}, 1
    while k <= #picked do
        if k > 1 then
            parts[#parts + 1] = ","
        end
        local first = picked[k]
        local last = first
        while picked[k + 1] and picked[k + 1].number == last.number + 1 do
            k = k + 1
            last = picked[k]
        end
        file:seek("set", index.blob + first.offset)
        parts[#parts + 1] = file:read(last.offset + last.length - first.offset)
        k = k + 1
    end
    return parts
end

local function unreadable()
    return problem(500, "Internal Server Error", "the query index of this base is unreadable: rebuild the site")
end

-- The base's index, opened: the file and what this state keeps of its index, read again only
-- when the header changed. On failure: nil and the function giving the error answer.
local function open_index(index_path)
    local file = io.open(index_path, "rb")
    if not file then
        return nil, not_found
    end
    local header = file:read("*l") or ""
    local index = indexes[index_path]
    if not index or index.header ~= header then
        local count = header:sub(1, #MAGIC) == MAGIC and tonumber(header:sub(#MAGIC + 1):match("^(%d+) %x+$") or "")
        index = count and keep_index(file, header, count) or nil
        if not index then
            file:close()
            return nil, unreadable
        end
        indexes[index_path] = index
    end
    return file, index
end

-- Whether a client holding the answer tagged `etag` and dated `modified` (Unix seconds, or nil)
-- may keep it: `if_none_match` decides when sent, else `if_modified_since` (Unix seconds, or nil),
-- as RFC 9110 orders them. The comparison is the weak one it asks for here: a compressed answer's
-- tag names the same content, whether nginx marked it weak (W/"...") or Apache's mod_deflate
-- appended "-gzip" inside the quotes.
function M.not_modified(etag, modified, if_none_match, if_modified_since)
    if if_none_match then
        if if_none_match:match("^%s*%*%s*$") then
            return true
        end
        local gzipped = etag:sub(1, -2) .. '-gzip"'
        for tag in if_none_match:gmatch('"[^"]*"') do
            if tag == etag or tag == gzipped then
                return true
            end
        end
        return false
    end
    return if_modified_since ~= nil and modified ~= nil and if_modified_since >= modified
end

-- The query as the answer depends on it, one way of writing each: `updated_since` as its whole
-- seconds (the index dates servers in whole seconds, so "after 10.5" is "after 10").
local function normalised(query)
    local function text(value)
        return value == nil and "-" or json_string(value)
    end
    local since = query.since and string.format("%d", math.floor(query.since)) or "-"
    return table.concat({string.format("%d", query.limit), text(query.search), text(query.version), since,
                         text(query.cursor_name), text(query.cursor_version)}, " ")
end

-- Answer a list request: returns status, content type, body (a string, or a list of strings
-- to write one after the other) and, for a list, its validators {etag, modified}. `request`
-- holds what the web server knows: `md5` (text to hexadecimal digest), `modified` (the index
-- file's mtime in Unix seconds, taken *before* the index is opened, so that a rebuild in between
-- dates new bytes old, never old bytes new), and the request's `if_none_match` and
-- `if_modified_since` (Unix seconds). The tag is strong: the index's header holds a digest of
-- every byte a page is read from, and the normalised query says which page, so the tag changes
-- when a rebuild changes the index and stays when it writes the same one. A client holding the
-- answer gets 304 and no body, before any response is read.
function M.list(index_path, args, request)
    local query, status, content_type, body = parse_query(args)
    if not query then
        return status, content_type, body
    end
    local file, index = open_index(index_path)
    if not file then
        return index()
    end
    local validators = {etag = '"' .. request.md5(index.header .. "\n" .. normalised(query)) .. '"',
                        modified = request.modified}
    if M.not_modified(validators.etag, validators.modified, request.if_none_match, request.if_modified_since) then
        file:close()
        return 304, JSON, "", validators
    end
    local picked = index:page(file, query)
    if not picked then
        file:close()
        return unreadable()
    end
    local servers = read_responses(file, index, picked)
    file:close()
    local cursor = ""
    -- As the official registry pages: a full page has a cursor, even when nothing follows it
    -- (the next page is then empty).
    if #picked == query.limit then
        local last = picked[#picked]
        cursor = '"nextCursor":' .. json_string(last.name .. ":" .. last.version) .. ","
    end
    table.insert(servers, 1, '{"servers":[')
    servers[#servers + 1] = '],"metadata":{' .. cursor .. '"count":' .. #picked .. "}}\n"
    return 200, JSON, servers, validators
end

-- A version that `build` gives a folder of its own (generator/paths.py, mcp_version_has_folder):
-- one path segment that can neither climb nor hide.
local function version_folder(version)
    return #version <= 128 and version:match("^[A-Za-z0-9][A-Za-z0-9._+-]*$") ~= nil
end

local function is_file(path)
    local file = io.open(path, "rb")
    if not file then
        return false
    end
    -- io.open succeeds on a folder on Linux; reading one fails (build writes no empty document).
    local readable = file:read(0) ~= nil
    file:close()
    return readable
end
M.is_file = is_file

-- The site-relative path of the file holding version `version` ("latest" included) of the
-- `server` (an entry of the base's index): the base's own, else the site root's copy of it.
local function version_document(site, base, server, version)
    local listed = server.version
    local folder = "v0.1/servers/" .. server.name .. "/versions/"
    local candidates = {}
    if version == "latest" or version == listed then
        local has_folder = version_folder(listed)
        if has_folder then
            candidates = {base .. folder .. listed .. "/index.json", folder .. listed .. "/index.json"}
        end
        -- A version without a folder of its own is answered, at its own URL too, from `latest`,
        -- the one file `build` writes it in.
        if version == "latest" or not has_folder then
            candidates[#candidates + 1] = base .. folder .. "latest/index.json"
            candidates[#candidates + 1] = folder .. "latest/index.json"
        end
    end
    for _, candidate in ipairs(candidates) do
        if is_file(site .. candidate) then
            return candidate
        end
    end
    return nil
end

-- A version lookup whose own file `build` did not write because it would be a copy of another:
-- GET {base}v0.1/servers/<name>/versions/<version> ("latest" included). `site` is the site
-- folder ending in "/", `base` "" or "registry/<profile>/". Returns the site-relative path of
-- the file whose bytes answer it, or nil (404). Only a server the base's own index lists is
-- answered, so a profile never serves a server its policy leaves out; every path is made from
-- the index, never from the request.
function M.lookup(site, base, name, version)
    local file, index = open_index(site .. base .. "v0.1/servers/query.idx")
    if not file then
        return nil
    end
    local server = index:find(file, name)
    file:close()
    return server and version_document(site, base, server, version) or nil
end

-- The one-server list, GET {base}v0.1/servers/<name>/versions, which `build` writes only for
-- plain file servers: the page of the server's one version (the catalog holds one a server),
-- its response read from the base's own index, with the bytes `build --hosting plain` writes
-- (registry/query_index.py, encoded_page). Returns the body and the site-relative path of the
-- version document, whose file dates the answer (Last-Modified, ETag), or nil (404).
function M.versions(site, base, name)
    local file, index = open_index(site .. base .. "v0.1/servers/query.idx")
    if not file then
        return nil
    end
    local server = index:find(file, name)
    local document = server and version_document(site, base, server, "latest")
    local response = document and read_responses(file, index, {server})[1]
    file:close()
    if not response then
        return nil
    end
    return '{"servers":[' .. response .. '],"metadata":{"count":1}}\n', document
end

-- The last part of a versions URL names the list when it is the list's own file name.
function M.is_versions_list(version)
    return version == nil or version == "" or version == "index.json"
end

-- Whether {base}v0.1/servers/<name>/versions[/<version>]<after> names a lookup, `after` being
-- what follows the version: "", "/" or the version document's own file name "/index.json".
-- The list has no file inside it (`versions/index.json/index.json` is no document), and its own
-- file takes no slash after it (`versions/index.json/`), as no file does.
function M.is_lookup(version, after)
    if version == "index.json" then
        return after == ""
    end
    return after ~= "/index.json" or not M.is_versions_list(version)
end

-- The lookups are files; only their one query parameter is checked. Returns nil when valid.
function M.check_lookup(args)
    local errors = {}
    check_boolean(args.include_deleted, "include_deleted", errors)
    if #errors > 0 then
        return problem(422, "Unprocessable Entity", "validation failed", errors)
    end
    return nil
end

function M.method_not_allowed()
    return problem(405, "Method Not Allowed", "this registry is read-only: only GET is served")
end

M.not_found = not_found

return M
