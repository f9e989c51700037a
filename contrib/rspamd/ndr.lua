--[[
ndr-filter for rspamd: send each message with its SMTP envelope to `ndr serve` (POST /classify)
and insert symbols from the report, so that rspamd's own actions decide:

  NDR_BACKSCATTER   a bounce or auto-reply about mail this site did not send (forged sender)
  NDR_SPAM          a fake bounce whose point is its payload
  NDR_LEGIT_BOUNCE  a bounce about mail this site sent (BATV tag, our Message-ID, our relay)
  NDR_BOUNCE        any delivery report, auto-reply or feedback report (the kind as option)

The signals behind the verdict are the options (`name=value(weight)`). Fail-open: an error,
a timeout or a 503 from the service inserts nothing and logs why.

Install: README, "rspamd". Options (rspamd.conf.local):

  ndr {
    url = "http://127.0.0.1:8025/classify";
    timeout = 5.0;
    # scores of the symbols, e.g. backscatter_score = 8.0;
  }
]]

local rspamd_http = require "rspamd_http"
local rspamd_logger = require "rspamd_logger"
local lua_util = require "lua_util"
local ucl = require "ucl"

local N = 'ndr'

local settings = {
  url = 'http://127.0.0.1:8025/classify',
  timeout = 5.0,
  backscatter_score = 8.0,
  spam_score = 10.0,
  legit_bounce_score = -2.0,
  bounce_score = 0.0,
}

local opts = rspamd_config:get_all_opt(N)
if opts then
  settings = lua_util.override_defaults(settings, opts)
end

-- Percent-encode a query parameter value (RFC 3986 unreserved characters and '@' kept).
local function encode(s)
  return (tostring(s):gsub('[^%w%-%._~@]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end

-- The envelope as /classify's query parameters: MAIL FROM ('' for the null sender), every
-- RCPT TO, the client's address and HELO.
local function query(task)
  local params = {}
  local from = task:get_from('smtp')
  if from and from[1] then
    table.insert(params, 'mail_from=' .. encode(from[1].addr or ''))
  end
  for _, r in ipairs(task:get_recipients('smtp') or {}) do
    if r.addr then
      table.insert(params, 'rcpt=' .. encode(r.addr))
    end
  end
  local ip = task:get_from_ip()
  if ip and ip:is_valid() then
    table.insert(params, 'client_ip=' .. encode(ip:to_string()))
  end
  local helo = task:get_helo()
  if helo then
    table.insert(params, 'helo=' .. encode(helo))
  end
  if #params == 0 then
    return ''
  end
  return '?' .. table.concat(params, '&')
end

-- The report's signals as symbol options.
local function signals(report)
  local out = {}
  for _, s in ipairs(report.signals or {}) do
    table.insert(out, string.format('%s=%s(%s)', tostring(s.name), tostring(s.value or ''), tostring(s.weight)))
  end
  return out
end

local verdict_symbols = {
  backscatter = 'NDR_BACKSCATTER',
  ndr_spam = 'NDR_SPAM',
  legitimate = 'NDR_LEGIT_BOUNCE',
}

local function ndr_check(task)
  local function callback(err, code, body)
    if err or code ~= 200 then
      rspamd_logger.infox(task, '%s: not classified (fail-open): %s', N, err or string.format('HTTP %s %s', code, body))
      return
    end
    local parser = ucl.parser()
    local ok, perr = parser:parse_string(tostring(body))
    if not ok then
      rspamd_logger.errx(task, '%s: bad answer from ndr serve: %s', N, perr)
      return
    end
    local report = parser:get_object()
    if report.kind and report.kind ~= 'normal' then
      local kind = { tostring(report.kind) }
      if report.format then
        table.insert(kind, tostring(report.format))
      end
      task:insert_result('NDR_BOUNCE', 1.0, kind)
    end
    local symbol = verdict_symbols[report.verdict or '']
    if symbol then
      task:insert_result(symbol, 1.0, signals(report))
    end
  end

  rspamd_http.request({
    task = task,
    url = settings.url .. query(task),
    method = 'post',
    body = task:get_content(),
    mime_type = 'message/rfc822',
    timeout = settings.timeout,
    callback = callback,
  })
end

local id = rspamd_config:register_symbol({
  name = 'NDR_CHECK',
  type = 'callback',
  callback = ndr_check,
  flags = 'empty',
  group = N,
})

local descriptions = {
  NDR_BACKSCATTER = { 'Bounce about mail this site did not send (backscatter)', settings.backscatter_score },
  NDR_SPAM = { 'Fake bounce carrying spam', settings.spam_score },
  NDR_LEGIT_BOUNCE = { 'Bounce about mail this site sent', settings.legit_bounce_score },
  NDR_BOUNCE = { 'Delivery report, auto-reply or feedback report', settings.bounce_score },
}

for name, d in pairs(descriptions) do
  rspamd_config:register_symbol({
    name = name,
    type = 'virtual',
    parent = id,
    score = d[2],
    group = N,
    description = d[1],
  })
end
