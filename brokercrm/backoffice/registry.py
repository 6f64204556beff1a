"""What each app contributes to the back office's shared screens.

An app registers, in its `AppConfig.ready()`:

- `Queue`: a kind of work staff act on (KYC files in review, withdrawals awaiting approval...).
  Its `fetch(scope, limit)` returns the count and the first `limit` items, most urgent first, of
  the rows `scope` covers; `item(scope, object_id)` finds one (None when not visible).
- `ClientPanel`: one tab of the client 360. `render(request, subject)` returns HTML, or None
  when the user may see nothing of it.
- `TimelineSource`: entries about a person, newest first, before a point in time.
- `Figure`: one chart of the dashboard, computed from rows `scope` covers.

Every callable receives the scope (or the user) and reads through the app's own scoped
selectors: the registry decides nothing about access itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from brokercrm.scoping import Scope

# Priorities of work items: a higher number is more urgent.
PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_CRITICAL = 0, 1, 2, 3
PRIORITY_LABELS = {0: "low", 1: "normal", 2: "high", 3: "critical"}


@dataclass(frozen=True)
class WorkItem:
    queue: str
    object_id: str
    title: str
    entity_id: int
    opened_at: datetime
    url: str
    detail: str = ""
    due_at: datetime | None = None
    priority: int = PRIORITY_NORMAL
    person_id: int | None = None
    # Informational items ask for attention, not a decision (another entity's new profile).
    informational: bool = False


@dataclass(frozen=True)
class QueueFetch:
    count: int
    items: list[WorkItem]


@dataclass(frozen=True)
class Queue:
    key: str  # "kyc.review": app label, then the kind of work
    label: str
    # The permission whose scope says in which entities the user works this queue.
    perm: str
    fetch: Callable[[Scope, int], QueueFetch]
    item: Callable[[Scope, str], WorkItem | None]
    order: int = 100
    description: str = ""


@dataclass(frozen=True)
class ProfileRef:
    """One of a person's client profiles as the viewing user may know it: in full where they
    may view that entity's clients, as existence and status elsewhere (oversight rules)."""

    id: int
    entity_id: int
    entity_code: str
    entity_name: str
    status: str
    created_at: datetime
    visible: bool
    brand: str = ""
    desk: str = ""
    email: str = ""


@dataclass(frozen=True)
class ClientSubject:
    person_id: int
    display_name: str
    profiles: list[ProfileRef]
    # Group-wide flags every entity's compliance may see (AML block, sanctions, PEP, risk).
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def visible_profiles(self) -> list[ProfileRef]:
        return [profile for profile in self.profiles if profile.visible]

    @property
    def visible_profile_ids(self) -> list[int]:
        return [profile.id for profile in self.profiles if profile.visible]

    @property
    def visible_entity_ids(self) -> list[int]:
        return sorted({profile.entity_id for profile in self.profiles if profile.visible})


@dataclass(frozen=True)
class ClientPanel:
    key: str
    label: str
    render: Callable[[Any, ClientSubject], str | None]
    order: int = 100


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # the source's key: "event", "audit", "kyc"...
    title: str
    detail: str = ""
    entity_code: str = ""
    actor: str = ""
    url: str = ""


@dataclass(frozen=True)
class TimelineSource:
    key: str
    label: str
    # (user, subject, before, limit) -> entries newest first, all strictly before `before`.
    entries: Callable[[Any, ClientSubject, datetime | None, int], list[TimelineEntry]]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


@dataclass(frozen=True)
class FigureData:
    labels: list[str]
    series: list[Series]
    # A short reading of the figure ("median 4 min, p90 12 min"), shown beside the chart.
    summary: str = ""


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    perm: str
    chart: str  # "bar", "line", "doughnut", "stacked"
    compute: Callable[[Scope, date, date], FigureData]
    order: int = 100
    description: str = ""


SubjectLoader = Callable[[Any, int], ClientSubject | None]
# (user, text, limit) -> ids of persons with a profile the user may see that the text matches.
PersonFinder = Callable[[Any, str, int], list[int]]

_queues: dict[str, Queue] = {}
_panels: dict[str, ClientPanel] = {}
_timeline_sources: dict[str, TimelineSource] = {}
_figures: dict[str, Figure] = {}
_subject: dict[str, Any] = {}
_finders: dict[str, PersonFinder] = {}


def _put(registry: dict[str, Any], key: str, value: Any) -> None:
    # ready() may run twice (tests, reloads): the latest registration of a key stands.
    registry[key] = value


def queue_register(queue: Queue) -> None:
    _put(_queues, queue.key, queue)


def panel_register(panel: ClientPanel) -> None:
    _put(_panels, panel.key, panel)


def timeline_source_register(source: TimelineSource) -> None:
    _put(_timeline_sources, source.key, source)


def figure_register(figure: Figure) -> None:
    _put(_figures, figure.key, figure)


def subject_loader_register(load: SubjectLoader) -> None:
    """The identity app tells the kernel how to load a person as a user may see them."""
    _subject["load"] = load


def person_finder_register(key: str, find: PersonFinder) -> None:
    """A way to find clients: identity by name, e-mail, phone and document number, platforms
    by trading account login."""
    _put(_finders, key, find)


def queues() -> list[Queue]:
    return sorted(_queues.values(), key=lambda queue: (queue.order, queue.key))


def queue(key: str) -> Queue | None:
    return _queues.get(key)


def panels() -> list[ClientPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


def timeline_sources() -> list[TimelineSource]:
    return sorted(_timeline_sources.values(), key=lambda source: source.key)


def figures() -> list[Figure]:
    return sorted(_figures.values(), key=lambda figure: (figure.order, figure.key))


def subject_load(user: Any, person_id: int) -> ClientSubject | None:
    load = _subject.get("load")
    return load(user, person_id) if load else None


def subject_find(user: Any, text: str, limit: int = 20) -> list[ClientSubject]:
    person_ids: list[int] = []
    for key in sorted(_finders):
        for person_id in _finders[key](user, text, limit):
            if person_id not in person_ids:
                person_ids.append(person_id)
    found = (subject_load(user, person_id) for person_id in person_ids[:limit])
    return [subject for subject in found if subject is not None and subject.visible_profiles]


CONTRIBUTION_MODULES = ("subjects", "queues", "panels", "timeline", "figures")


def contributions_register(app_name: str) -> None:
    """Called from an app's `AppConfig.ready()`: each of `<app>.backoffice.queues`, `.panels`,
    `.timeline` and `.figures` that exists registers what it contributes (its `register()`)."""
    import importlib
    import importlib.util

    for module_name in CONTRIBUTION_MODULES:
        dotted = f"{app_name}.backoffice.{module_name}"
        try:
            found = importlib.util.find_spec(dotted)
        except ModuleNotFoundError:
            return  # the app has no back-office package
        if found is not None:
            importlib.import_module(dotted).register()
