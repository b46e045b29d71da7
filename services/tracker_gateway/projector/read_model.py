"""The public tracker's read model in Redis: what a customer may see of each ticket, and its lookup.

Written by the projector from ticket.* events (and by the backfill), read by the gateway: a
tracker lookup is one Redis round trip (a Lua script) and no RPC. Each client numbers its own
tickets, so a number names one ticket per client; per ticket (client and number):

- `<prefix>trk:t:{<TKT-n>}:<client>`, a hash: `doc` (the customer-visible fields as JSON), `v` (its
  updated_at in microseconds: a snapshot never replaces a newer one), `email` (HMAC of the
  trimmed, lower-cased customer e-mail: the address itself is not stored), and `deleted` once
  the ticket is deleted (a tombstone, so that a late event cannot bring it back).
- `<prefix>trk:tl:{<TKT-n>}:<client>`, a sorted set of timeline entries scored by time. An entry's
  member is its canonical JSON, the same whether it came from an event or from the ticket's history,
  so a redelivered event or a backfill adds nothing twice: writes are idempotent by construction.
- `<prefix>trk:n:{<TKT-n>}`, a set: the clients with a live ticket of that number. The customer's
  lookup (number + e-mail, no client) reads it and matches the address in each client's ticket: the
  same number and address at two clients find both tickets.

The `{<TKT-n>}` hash tag puts every key of one number in one Redis Cluster slot, so the scripts,
which derive the per-client keys from the set, stay on one node (docs/scaling.md).
"""
import hashlib
import hmac
import json
import math
from datetime import datetime, timezone

from shared.contracts.customer_view import CUSTOMER_FIELDS, NOTIFIED_FIELDS, customer_ticket
from shared.contracts.enums import RESOLVED_STATUSES
from shared.contracts.ticket_numbers import parse_typed

# What a customer sees of a ticket (shared.contracts.customer_view, the rule the emails follow too), less
# their name and address: the read model keeps no personal data, only a digest of the address.
# The customer's own CSAT rating of the resolution (ticket.rated) is theirs to see as well.
PUBLIC_FIELDS = tuple(field for field in CUSTOMER_FIELDS if field not in ("customer_name", "customer_email")) + (
    "rating", "rated_at")
# The changes the customer is told about make their timeline.
TIMELINE_FIELDS = NOTIFIED_FIELDS

# Malformed input reads a key of this form, which never exists: the same work as an unknown number.
MALFORMED_PREFIX = "TKT-malformed-"

_APPLY = """
-- KEYS: doc hash, timeline zset, the number's client set. ARGV: mode, version, doc json, email digest,
-- client, then score/member pairs.
if redis.call('HGET', KEYS[1], 'deleted') then return 0 end
if ARGV[1] == 'delete' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'deleted', '1', 'v', ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[5])
  return 1
end
for i = 6, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[3], ARGV[5])
local current = redis.call('HGET', KEYS[1], 'v')
if current and tonumber(current) > tonumber(ARGV[2]) then return 2 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3], 'email', ARGV[4])
return 1
"""

# The matches of one number and e-mail digest: {client, doc, timeline} per client whose ticket has
# that address (a signed link names its client: only that one is read).
_MATCHES = """
local function matches(set_key, prefix, number, digest, only)
  local clients = only ~= '' and {only} or redis.call('SMEMBERS', set_key)
  table.sort(clients)
  local found = {}
  for _, client in ipairs(clients) do
    local doc_key = prefix .. 'trk:t:{' .. number .. '}:' .. client
    local got = redis.call('HMGET', doc_key, 'email', 'doc')
    if got[1] and got[1] == digest then
      table.insert(found, {client, got[2], redis.call('ZRANGE', prefix .. 'trk:tl:{' .. number .. '}:' .. client, 0, -1)})
    end
  end
  return found
end
"""

_LOOKUP = _MATCHES + """
-- KEYS: the number's client set, failures per IP, failures per number.
-- ARGV: email digest, IP limit, IP window (s), number limit, number window (s), prefix, number.
for i, limit in ipairs({ARGV[2], ARGV[4]}) do
  local used = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if used >= tonumber(limit) then return {'limited', redis.call('PTTL', KEYS[i + 1])} end
end
local found = matches(KEYS[1], ARGV[6], ARGV[7], ARGV[1], '')
if #found > 0 then return {'hit', found} end
for i, window in ipairs({ARGV[3], ARGV[5]}) do
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], window, 'NX')
end
return {'miss'}
"""

_READ = _MATCHES + """
-- KEYS: the number's client set. ARGV: email digest, prefix, number, client ('' for every client).
-- A signed link's lookup: no failure counters.
local found = matches(KEYS[1], ARGV[2], ARGV[3], ARGV[1], ARGV[4])
if #found > 0 then return {'hit', found} end
return {'miss'}
"""

_FAIL = """
-- KEYS: failures per IP. ARGV: limit, window (s). A failed lookup that had no number (a bad link).
local used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
if used > tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return 0
"""


def normalize_number(text):
    """TKT-00042 from 'tkt-42', ' TKT-00042 ', '42'...; for anything else a key of its own that no
    ticket has, so that each malformed input is counted apart, as each unknown number is (one shared
    counter would make malformed input answer 429 once it filled, while unknown numbers answer 404)."""
    typed = parse_typed(text)
    if typed:
        return typed
    raw = text if isinstance(text, str) else repr(text)
    return MALFORMED_PREFIX + hashlib.sha256(raw.strip().lower().encode("utf-8", "replace")).hexdigest()[:24]


def normalize_email(email):
    return (email or "").strip().lower()


def parse_time(value):
    """An ISO timestamp as an aware UTC datetime (the database's session time zone may differ)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def canonical_time(value):
    return parse_time(value).isoformat() if value else None


def micros(value):
    moment = parse_time(value)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def public_doc(ticket):
    doc = customer_ticket(ticket, PUBLIC_FIELDS)
    for field in ("created_at", "updated_at", "resolved_at", "closed_at", "rated_at"):
        doc[field] = canonical_time(doc[field])
    return doc


def timeline_entry(kind, at, old=None, new=None):
    return {"at": canonical_time(at), "kind": kind, "from": old, "to": new}


def entries_from_changes(at, changes):
    """Timeline entries for one update's {field: {from, to}}: status and priority only."""
    return [
        timeline_entry(field, at, change.get("from"), change.get("to"))
        for field, change in sorted(changes.items()) if field in TIMELINE_FIELDS
    ]


def entries_from_history(history):
    """Timeline entries from the tickets service's get_history (the backfill's source)."""
    entries = []
    for item in history:
        if item["action"] == "created":
            entries.append(timeline_entry("created", item["at"]))
        elif item["action"] == "updated" and item.get("field") in TIMELINE_FIELDS:
            entries.append(timeline_entry(item["field"], item["at"], item.get("old_value"), item.get("new_value")))
        elif item["action"] == "rated":
            entries.append(timeline_entry("rating", item["at"], item.get("old_value"), item.get("new_value")))
    return entries


def describe(entry):
    """The sentence a customer reads for one timeline entry."""
    kind, new = entry["kind"], entry.get("to")
    if kind == "created":
        return "Ticket created"
    if kind == "status" and new in RESOLVED_STATUSES:
        return "Ticket resolved" if new == "resolved" else "Ticket closed"
    if kind == "title":
        return f"Title changed to “{new}”"
    if kind == "rating":
        return f"You rated the resolution: {str(new).capitalize()}"
    return f"{kind.capitalize()} changed to {str(new).replace('_', ' ')}"


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _outcome(result):
    """A lookup script's reply as ('hit', [(client_id, doc, timeline), ...]) | ('miss',) | ('limited', seconds)."""
    outcome = _text(result[0])
    if outcome == "hit":
        found = []
        for client, doc, members in result[1]:
            timeline = [json.loads(member) for member in members]
            for entry in timeline:
                entry["text"] = describe(entry)
            found.append((_text(client), json.loads(doc), timeline))
        return "hit", found
    if outcome == "limited":
        return "limited", max(1, math.ceil(int(result[1]) / 1000))
    return ("miss",)


class TrackerView:
    """The read model: written by the projector, looked up by the gateway."""

    def __init__(self, redis_client, prefix, digest_key):
        self.redis = redis_client
        self.prefix = prefix
        self.digest_key = digest_key.encode() if isinstance(digest_key, str) else digest_key
        self._apply = redis_client.register_script(_APPLY)
        self._lookup = redis_client.register_script(_LOOKUP)
        self._fail = redis_client.register_script(_FAIL)
        self._read = redis_client.register_script(_READ)

    def _keys(self, client_id, number):
        return (f"{self.prefix}trk:t:{{{number}}}:{client_id}", f"{self.prefix}trk:tl:{{{number}}}:{client_id}",
                self.clients_key(number))

    def clients_key(self, number):
        """The set of the clients with a live ticket of this number (the tracker reads it first)."""
        return f"{self.prefix}trk:n:{{{number}}}"

    def email_digest(self, email):
        return hmac.new(self.digest_key, normalize_email(email).encode(), hashlib.sha256).hexdigest()

    # -- writing (the projector and the backfill) --

    def apply_snapshot(self, ticket, entries=()):
        """Store the ticket unless a newer snapshot is there; add timeline entries either way."""
        email = ticket.get("customer_email")
        pairs = []
        for entry in entries:
            pairs += [micros(entry["at"]), json.dumps(entry, sort_keys=True, separators=(",", ":"))]
        return self._apply(
            keys=self._keys(ticket["client_id"], ticket["ticket_number"]),
            args=[
                "upsert", micros(ticket["updated_at"]), json.dumps(public_doc(ticket)),
                # A ticket without an e-mail cannot be looked up: '-' never equals a digest.
                self.email_digest(email) if email else "-", ticket["client_id"], *pairs,
            ],
        )

    def apply_deleted(self, ticket):
        return self._apply(keys=self._keys(ticket["client_id"], ticket["ticket_number"]),
                           args=["delete", micros(ticket["updated_at"]), "", "", ticket["client_id"]])

    def apply_event(self, envelope):
        """One ticket.* event; safe to repeat and to receive out of order."""
        data, event_type = envelope["data"], envelope["event_type"]
        ticket = data["ticket"]
        if event_type == "ticket.deleted":
            return self.apply_deleted(ticket)
        if event_type == "ticket.created":
            entries = [timeline_entry("created", ticket["created_at"])]
        elif event_type == "ticket.rated":
            entries = [timeline_entry("rating", ticket["rated_at"], None, data.get("rating"))]
        else:
            entries = entries_from_changes(ticket["updated_at"], data.get("changes") or {})
        return self.apply_snapshot(ticket, entries)

    # -- reading (the gateway) --

    def lookup(self, number, email, ip, limits):
        """('hit', [(client_id, doc, timeline), ...]) | ('miss',) | ('limited', retry_after_seconds):
        every client's ticket with this number and address.

        Every path runs the same script: hits and misses cost the same and look the same.
        """
        result = self._lookup(
            keys=[self.clients_key(number), f"{self.prefix}trk:fail:ip:{ip}", f"{self.prefix}trk:fail:n:{number}"],
            args=[
                self.email_digest(email),
                limits["per_ip"], limits["ip_window"], limits["per_ticket"], limits["ticket_window"],
                self.prefix, number,
            ],
        )
        return _outcome(result)

    def read(self, number, email, client_id=None):
        """('hit', [(client_id, doc, timeline), ...]) | ('miss',), reading and counting no failures: for
        a signed link, whose valid HMAC already shows the caller was sent this number and address (and
        client, in links that name it: then only that client's ticket)."""
        return _outcome(self._read(keys=[self.clients_key(number)],
                                   args=[self.email_digest(email), self.prefix, number, client_id or ""]))

    def record_failure(self, ip, limits):
        """Count a failure that had no ticket number (a bad link); seconds to wait if over the limit."""
        pttl = int(self._fail(keys=[f"{self.prefix}trk:fail:ip:{ip}"], args=[limits["per_ip"], limits["ip_window"]]))
        return max(1, math.ceil(pttl / 1000)) if pttl else 0

    # -- backfill bookkeeping --

    # v2: keys by client and number (issue 16). A read model filled before has only the older keys,
    # so a projector of this version fills it again once; the older `trk:t:<TKT-n>` keys are unread.
    BACKFILLED_KEY = "trk:meta:backfilled:v2"

    def mark_backfilled(self, when):
        self.redis.set(f"{self.prefix}{self.BACKFILLED_KEY}", when)

    def backfilled(self):
        return self.redis.get(f"{self.prefix}{self.BACKFILLED_KEY}")
