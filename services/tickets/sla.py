"""SLA rules without database or broker: policies (targets per priority and a business-hours calendar),
and a ticket's SLA clock - started at create, paused while the ticket waits (pending, resolved,
closed), rescheduled when its priority changes, and its due, warning and outcome values.

The clock: `sla_consumed_seconds` is the business time used before the current running stretch,
`sla_clock_started_at` the start of that stretch (None while paused). A target of T seconds is due at
add_business_time(started, T - consumed): pausing folds the stretch into `consumed`, resuming starts
a new stretch, so waiting on the customer never counts. Warning and due instants are computed here,
when something changes, so that the scheduler's tick only compares stored instants with now.
"""
from dataclasses import dataclass

from shared.contracts.sla_schemas import MAX_TARGET_MINUTES

from .business_hours import (
    ALWAYS_OPEN,
    CalendarError,
    add_business_time,
    business_seconds_between,
    dump_calendar,
    parse_calendar,
)

TARGETS = ("first_response", "resolution")
PRIORITIES = ("low", "medium", "high", "urgent")
RUNNING_STATUSES = ("open", "in_progress")
RESOLVED_STATUSES = ("resolved", "closed")
WARNING_SHARE = 0.8  # the warning goes out when 80 % of a target is used

HOUR = 3600
# Business time, per priority: (first response, resolution).
DEFAULT_TARGETS = {
    "urgent": (1 * HOUR, 8 * HOUR),
    "high": (4 * HOUR, 24 * HOUR),
    "medium": (8 * HOUR, 48 * HOUR),
    "low": (24 * HOUR, 120 * HOUR),
}

# Bits of `sla_fired`: which events went out, so each goes out once per ticket and target.
FIRED = {("first_response", "warning"): 1, ("first_response", "breached"): 2,
         ("resolution", "warning"): 4, ("resolution", "breached"): 8}


@dataclass(frozen=True)
class Policy:
    """A client's SLA policy: {priority: (first response seconds, resolution seconds)} and its calendar."""

    targets: dict
    calendar: object = ALWAYS_OPEN

    def seconds(self, priority, target):
        return self.targets[priority][TARGETS.index(target)]


DEFAULT_POLICY = Policy(DEFAULT_TARGETS)


class PolicyError(ValueError):
    def __init__(self, field_name, reason):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


def parse_policy(data):
    """A Policy from the API/stored form {"calendar": {...} | null, "targets": {priority: {"first_response_minutes",
    "resolution_minutes"}}}; missing priorities keep the defaults. Raises PolicyError(field, reason)."""
    if not isinstance(data, dict):
        raise PolicyError("_schema", "must be an object")
    unknown = set(data) - {"calendar", "targets"}
    if unknown:
        raise PolicyError(sorted(unknown)[0], "unknown field")
    try:
        calendar = parse_calendar(data.get("calendar"))
    except CalendarError as exc:
        raise PolicyError(exc.field, exc.reason) from None
    targets = dict(DEFAULT_TARGETS)
    given = data.get("targets")
    given = {} if given is None else given  # null: the defaults; false, 0, "" or [] are no object
    if not isinstance(given, dict):
        raise PolicyError("targets", "must be an object of priorities")
    for priority, values in given.items():
        if priority not in PRIORITIES:
            raise PolicyError(f"targets.{priority}", f"unknown priority (one of {', '.join(PRIORITIES)})")
        if not isinstance(values, dict) or set(values) - {f"{t}_minutes" for t in TARGETS}:
            raise PolicyError(f"targets.{priority}", "must hold first_response_minutes and resolution_minutes")
        seconds = list(targets[priority])
        for index, target in enumerate(TARGETS):
            key = f"{target}_minutes"
            if key not in values:
                continue
            minutes = values[key]
            if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_TARGET_MINUTES:
                raise PolicyError(f"targets.{priority}.{key}", f"must be a whole number of minutes, 1 to {MAX_TARGET_MINUTES}")
            seconds[index] = minutes * 60
        if seconds[0] > seconds[1]:
            raise PolicyError(f"targets.{priority}.first_response_minutes", "must not exceed the resolution target")
        targets[priority] = tuple(seconds)
    return Policy(targets, calendar)


def dump_policy(policy):
    return {
        "calendar": dump_calendar(policy.calendar),
        "targets": {
            priority: {f"{target}_minutes": policy.seconds(priority, target) // 60 for target in TARGETS}
            for priority in PRIORITIES
        },
    }


# -- a ticket's clock (`ticket` is the ORM row, or any object with the sla_* attributes) --

def _prefix(target):
    return f"sla_{target}"


def active_targets(ticket):
    """Targets still running: no outcome recorded yet."""
    return [target for target in TARGETS if getattr(ticket, f"{_prefix(target)}_outcome") is None]


def consumed_at(ticket, calendar, now):
    """Business seconds used by `now`, the running stretch included."""
    used = ticket.sla_consumed_seconds or 0
    if ticket.sla_clock_started_at is not None:
        used += business_seconds_between(ticket.sla_clock_started_at, now, calendar)
    return used


def start(ticket, policy, now):
    """A new ticket: targets from its priority, the clock running unless it starts paused."""
    ticket.sla_consumed_seconds = 0
    ticket.sla_clock_started_at = now if ticket.status in RUNNING_STATUSES else None
    ticket.sla_fired = 0
    for target in TARGETS:
        setattr(ticket, f"{_prefix(target)}_outcome", None)
    set_targets(ticket, policy)
    if ticket.status in RESOLVED_STATUSES:  # answered while it was being written down (a chat): on time
        _record_outcome(ticket, "resolution", policy.calendar, now)
    schedule(ticket, policy.calendar, now)


def set_targets(ticket, policy):
    for target in TARGETS:
        setattr(ticket, f"{_prefix(target)}_seconds", policy.seconds(ticket.priority, target))


def schedule(ticket, calendar, now):
    """Work out each running target's warning and due instants, the next due time (list sort, chips)
    and the next instant the scheduler must look at the ticket."""
    running = ticket.sla_clock_started_at is not None
    dues = []
    for target in TARGETS:
        prefix = _prefix(target)
        due = warn = None
        if getattr(ticket, f"{prefix}_outcome") is None:
            seconds = getattr(ticket, f"{prefix}_seconds")
            if running:
                consumed = ticket.sla_consumed_seconds or 0
                due = add_business_time(ticket.sla_clock_started_at, seconds - consumed, calendar)
                warn = add_business_time(ticket.sla_clock_started_at, seconds * WARNING_SHARE - consumed, calendar)
            elif (ticket.sla_consumed_seconds or 0) >= seconds:
                due = getattr(ticket, f"{prefix}_due_at") or now  # paused after the breach: it stays breached
            if due is not None:
                dues.append(due)
        setattr(ticket, f"{prefix}_due_at", due)
        setattr(ticket, f"{prefix}_warn_at", warn)
    ticket.sla_due_at = min(dues) if dues else None
    ticket.sla_next_check_at = next_check(ticket)


def _record_outcome(ticket, target, calendar, now):
    prefix = _prefix(target)
    if getattr(ticket, f"{prefix}_outcome") is not None:
        return
    breached = (ticket.sla_fired & FIRED[(target, "breached")]
                or consumed_at(ticket, calendar, now) > getattr(ticket, f"{prefix}_seconds"))
    setattr(ticket, f"{prefix}_outcome", "breached" if breached else "achieved")


def status_changed(ticket, old_status, calendar, now):
    """Pause or resume the clock, record the resolution's outcome (cleared on reopening), reschedule."""
    was_running, running = old_status in RUNNING_STATUSES, ticket.status in RUNNING_STATUSES
    if ticket.status in RESOLVED_STATUSES:
        _record_outcome(ticket, "resolution", calendar, now)
    elif old_status in RESOLVED_STATUSES:
        ticket.sla_resolution_outcome = None
    if was_running and not running and ticket.sla_clock_started_at is not None:
        ticket.sla_consumed_seconds = consumed_at(ticket, calendar, now)
        ticket.sla_clock_started_at = None
    elif running and not was_running:
        ticket.sla_clock_started_at = now
    schedule(ticket, calendar, now)


def priority_changed(ticket, policy, now):
    """New targets for the new priority; time already used still counts."""
    set_targets(ticket, policy)
    schedule(ticket, policy.calendar, now)


def first_response(ticket, calendar, now):
    """The first public agent reply: the first-response target is achieved or breached, and stops."""
    _record_outcome(ticket, "first_response", calendar, now)
    schedule(ticket, calendar, now)


def due_events(ticket, now):
    """The (target, kind) events due at `now` and not yet sent, marking them sent. A warning whose
    target is already breached is skipped (marked, not sent): the breach says more."""
    events = []
    for target in active_targets(ticket):
        prefix = _prefix(target)
        due, warn = getattr(ticket, f"{prefix}_due_at"), getattr(ticket, f"{prefix}_warn_at")
        if ticket.sla_clock_started_at is None or due is None:
            continue
        breached = due <= now and not ticket.sla_fired & FIRED[(target, "breached")]
        warned = warn is not None and warn <= now and not ticket.sla_fired & FIRED[(target, "warning")]
        if warned:
            ticket.sla_fired |= FIRED[(target, "warning")]
            if not breached:
                events.append((target, "warning", due))
        if breached:
            ticket.sla_fired |= FIRED[(target, "breached")]
            events.append((target, "breached", due))
    return events


def next_check(ticket):
    """The next instant the scheduler must look at the ticket, after `due_events` marked what went out."""
    checks = []
    if ticket.sla_clock_started_at is not None:
        for target in active_targets(ticket):
            prefix = _prefix(target)
            for kind, at in (("warning", getattr(ticket, f"{prefix}_warn_at")),
                             ("breached", getattr(ticket, f"{prefix}_due_at"))):
                if at is not None and not ticket.sla_fired & FIRED[(target, kind)]:
                    checks.append(at)
    return min(checks) if checks else None


def state(ticket, now=None):
    """The ticket's SLA as shown to agents: {due_at, paused, first_response: {...}, resolution: {...}}."""
    if getattr(ticket, "sla_first_response_seconds", None) is None:
        return None
    result = {"due_at": ticket.sla_due_at, "paused": ticket.sla_clock_started_at is None}
    for target in TARGETS:
        prefix = _prefix(target)
        fired = ticket.sla_fired or 0
        result[target] = {
            "target_minutes": getattr(ticket, f"{prefix}_seconds") // 60,
            "due_at": getattr(ticket, f"{prefix}_due_at"),
            "outcome": getattr(ticket, f"{prefix}_outcome"),
            "warned": bool(fired & FIRED[(target, "warning")]),
            "breached": bool(fired & FIRED[(target, "breached")]) or getattr(ticket, f"{prefix}_outcome") == "breached",
        }
    return result
