"""`/whisk.system/alarms`: `alarm` (cron), `interval` (minutes) and `once` (date) feeds, run by a
scheduler inside the controller, their schedules kept in the store.

Each fire commits with the schedule's next step in one transaction, so a fire happens at most
once whatever moment the controller is killed at. Fires that fell due while Squall was down are
not made up: a cron or interval alarm goes on at its next time after the start (the skipped ones
are logged), and a `once` alarm whose date passed meanwhile fires once, late, at the start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import zoneinfo
from typing import TYPE_CHECKING, Any

from croniter import croniter

from ..errors import EntityError
from ..store import Identity
from .documents import Trigger
from .feeds import FeedError

if TYPE_CHECKING:
    from ..controller import Controller

log = logging.getLogger("squall.alarms")

INTERVAL_START_S = 30  # an interval without a startDate starts this long after its creation, as in OpenWhisk
FIRE_RETRIES = 10  # a throttled fire is tried again this often, a second apart (OpenWhisk's provider's way)
ENDED = {"maxTriggers": "Automatically disabled after reaching max triggers",
         "once": "Automatically disabled after firing once",
         "stopDate": "Automatically disabled after firing last scheduled trigger"}


def _ms_now() -> int:
    return int(time.time() * 1000)


def _date(params: dict[str, Any], name: str) -> int | None:
    """An ISO 8601 date or epoch milliseconds, as JavaScript's `new Date(...)` takes them."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return int(parsed.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise FeedError(f"{name} parameter '{value}' is not a valid Date") from None


def _iso(ms: int | None) -> str | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _payload(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        return {"payload": value}
    return value if isinstance(value, dict) else {"payload": value}


def next_fire(doc: dict[str, Any], after_ms: int) -> int | None:
    """The first fire of a schedule strictly after `after_ms` (None: there is none)."""
    start = doc.get("startDate")
    if doc["kind"] == "once":
        return doc["date"] if doc["date"] > after_ms and not doc.get("fired") else None
    if doc["kind"] == "interval":
        first = start if start is not None else doc["created"] + INTERVAL_START_S * 1000
        if after_ms < first:
            return first
        step = doc["minutes"] * 60_000
        return first + ((after_ms - first) // step + 1) * step
    base = max(after_ms, (start - 1) if start is not None else after_ms)
    zone = zoneinfo.ZoneInfo(doc["timezone"]) if doc.get("timezone") else dt.timezone.utc
    fields = doc["cron"].split()
    cron = croniter(doc["cron"], dt.datetime.fromtimestamp(base / 1000, zone), second_at_beginning=len(fields) == 6)
    return int(round(cron.get_next(float) * 1000))


class Alarms:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.schedules: dict[str, dict[str, Any]] = {}  # "ns/trigger" -> its schedule
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the feed actions ---------------------------------------------------------------------

    async def handle(self, event: str, feed: str, owner: Identity, trigger: Trigger,
                     params: dict[str, Any]) -> dict[str, Any]:
        key = f"{trigger.namespace}/{trigger.name}"
        if event == "CREATE":
            doc = self._validate(feed, trigger, params, _ms_now())
            await self._save(key, doc)
            return {"status": "success"}
        doc = self.schedules.get(key)
        if event == "DELETE":
            if doc is not None:
                await self._drop(key)
            return {"status": "success"}
        if doc is None:
            raise FeedError(f"could not find trigger {key} in the database")
        if event == "READ":
            return self.describe(doc)
        if event == "UPDATE":
            updatable = {"cron", "timezone", "startDate", "stopDate", "minutes", "date", "trigger_payload",
                         "deleteAfterFire"}
            if not updatable & set(params):
                raise FeedError("no updatable parameters were specified")
            merged = {**doc["params"], **{k: v for k, v in params.items() if k in updatable}}
            new = self._validate(doc["kind"], trigger, merged, doc["created"], updating=True)
            new["fired"] = doc["fired"]
            new["next"] = next_fire(new, _ms_now())
            await self._save(key, new)
            return {"status": "success"}
        active = event == "UNPAUSE"
        doc["status"] = {"active": active, "dateChanged": _ms_now(),
                         **({} if active else {"reason": {"kind": "USER", "message": "Paused by its owner"}})}
        if active:
            doc["next"] = next_fire(doc, _ms_now())
        await self._save(key, doc)
        return {"status": "success"}

    def _validate(self, feed: str, trigger: Trigger, params: dict[str, Any], created: int,
                  updating: bool = False) -> dict[str, Any]:
        kind = {"alarm": "alarm", "interval": "interval", "once": "once"}.get(feed)
        if kind is None:
            raise FeedError("unsupported alarm feed")
        now = _ms_now()
        doc: dict[str, Any] = {"provider": "alarms", "kind": kind, "namespace": trigger.namespace,
                               "name": trigger.name, "payload": _payload(params.get("trigger_payload")),
                               "maxTriggers": -1, "created": created, "fired": 0,
                               "status": {"active": True, "dateChanged": now},
                               "params": {k: v for k, v in params.items() if v is not None}}
        start, stop = _date(params, "startDate"), _date(params, "stopDate")
        if kind == "once":
            date = _date(params, "date")
            if date is None:
                raise FeedError("alarms once trigger feed is missing the date parameter")
            if date <= now:
                raise FeedError(f"date parameter '{params['date']}' must be in the future")
            after = str(params.get("deleteAfterFire", "false")).strip().lower()
            if after not in ("false", "true", "rules"):
                raise FeedError("deleteAfterFire parameter must be one of [false, true, rules].")
            doc.update(date=date, deleteAfterFire=after)
        else:
            if start is not None and start <= now and not updating:
                raise FeedError(f"startDate parameter '{params['startDate']}' must be in the future")
            if stop is not None:
                if stop <= now:
                    raise FeedError(f"stopDate parameter '{params['stopDate']}' must be in the future")
                if start is not None and stop <= start:
                    raise FeedError(f"stopDate parameter '{params['stopDate']}' must be greater than the "
                                    f"startDate parameter '{params['startDate']}'")
            doc.update(startDate=start, stopDate=stop)
        if kind == "interval":
            minutes = params.get("minutes")
            if minutes is None:
                raise FeedError("interval trigger feed is missing the minutes parameter")
            if isinstance(minutes, bool) or not str(minutes).strip().lstrip("-").isdigit():
                raise FeedError("the minutes parameter must be an integer")
            if int(str(minutes).strip()) <= 0:
                raise FeedError("the minutes parameter must be an integer greater than zero")
            doc["minutes"] = int(str(minutes).strip())
            if params.get("maxTriggers") not in (None, -1, "-1"):
                raise FeedError("maxTriggers is not supported for the interval trigger feed")
        if kind == "alarm":
            cron = params.get("cron")
            if not cron:
                raise FeedError("alarms trigger feed is missing the cron parameter")
            fields = str(cron).split()
            if len(fields) not in (5, 6) or not croniter.is_valid(str(cron), second_at_beginning=len(fields) == 6):
                raise FeedError(f"cron pattern '{cron}' is not valid")
            timezone = params.get("timezone")
            if timezone:
                try:
                    zoneinfo.ZoneInfo(str(timezone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    raise FeedError("Invalid timezone.") from None
            doc.update(cron=" ".join(fields), timezone=timezone or None)
            max_triggers = params.get("maxTriggers")
            if max_triggers not in (None, ""):
                if stop is not None:
                    raise FeedError("maxTriggers is not allowed when the stopDate parameter is specified")
                try:
                    doc["maxTriggers"] = int(max_triggers)
                except (TypeError, ValueError):
                    raise FeedError("the maxTriggers parameter must be an integer") from None
        doc["next"] = next_fire(doc, now)
        if doc["next"] is None or (doc.get("stopDate") is not None and doc["next"] > doc["stopDate"]):
            raise FeedError("the first scheduled trigger fire is not until after the stop date")
        return doc

    @staticmethod
    def describe(doc: dict[str, Any]) -> dict[str, Any]:
        """READ: the feed's configuration and status, in the alarms package's shape."""
        config: dict[str, Any] = {"name": doc["name"], "namespace": doc["namespace"], "payload": doc["payload"]}
        if doc["kind"] == "once":
            config.update(date=_iso(doc["date"]), deleteAfterFire=doc["deleteAfterFire"])
        else:
            config.update(startDate=_iso(doc.get("startDate")), stopDate=_iso(doc.get("stopDate")))
            if doc["kind"] == "interval":
                config["minutes"] = doc["minutes"]
            else:
                config.update(cron=doc["cron"], timezone=doc.get("timezone"))
        if doc.get("maxTriggers", -1) != -1:
            config["maxTriggers"] = doc["maxTriggers"]
        status = dict(doc["status"])
        status["dateChangedISO"] = _iso(status["dateChanged"])
        return {"config": config, "status": status, "fired": doc["fired"], "nextFire": _iso(doc.get("next"))}

    async def _save(self, key: str, doc: dict[str, Any]) -> None:
        await self.ctl.store.put_feed(key, doc)
        self.schedules[key] = doc
        self._changed.set()

    # --- the scheduler ------------------------------------------------------------------------

    def start(self, feeds: dict[str, dict[str, Any]]) -> None:
        now = _ms_now()
        for key, doc in feeds.items():
            if doc.get("provider") != "alarms":
                continue
            due = doc.get("next")
            if doc["status"]["active"] and due is not None and due < now and doc["kind"] != "once":
                following = next_fire(doc, now)
                log.warning("alarm %s: fires due while Squall was down are skipped; it goes on at %s",
                            key, _iso(following))
                doc["next"] = following
            self.schedules[key] = doc
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def forget(self, key: str) -> None:
        if self.schedules.pop(key, None) is not None:
            self._changed.set()

    async def _drop(self, key: str) -> None:
        """The schedule, from the scheduler and the store."""
        self.forget(key)
        await self.ctl.store.delete_feed(key)

    async def _run(self) -> None:
        while True:
            self._changed.clear()  # before reading the schedules: a change from here on wakes the wait
            due = [(d["next"], k) for k, d in self.schedules.items() if d["status"]["active"] and d.get("next") is not None]
            wait = (min(due)[0] - _ms_now()) / 1000 if due else 3600.0
            if wait > 0:
                try:
                    await asyncio.wait_for(self._changed.wait(), wait)
                    continue  # a schedule changed: look again
                except TimeoutError:
                    pass
            now = _ms_now()
            for when, key in sorted(due):
                if when <= now and key in self.schedules:
                    try:
                        await self._fire(key, self.schedules[key])
                    except Exception:
                        log.exception("alarm %s could not fire", key)
                        self.schedules[key]["next"] = next_fire(self.schedules[key], _ms_now())

    async def _fire(self, key: str, doc: dict[str, Any]) -> None:
        scheduled = doc["next"]
        new = {**doc, "fired": doc["fired"] + 1, "status": dict(doc["status"])}
        new["next"] = next_fire(new, max(scheduled, _ms_now() - 1))
        reason = None
        if new["maxTriggers"] > 0 and new["fired"] >= new["maxTriggers"]:
            reason = ENDED["maxTriggers"]
        elif new["kind"] == "once":
            reason = ENDED["once"]
        elif new["next"] is None or (new.get("stopDate") is not None and new["next"] > new["stopDate"]):
            reason = ENDED["stopDate"]
        if reason is not None:
            new["next"] = None
            new["status"] = {"active": False, "dateChanged": _ms_now(), "reason": {"kind": "AUTO", "message": reason}}
        trigger = self.ctl.events.registry.triggers.get((doc["namespace"], doc["name"]))
        owner = self.ctl.identity(doc["namespace"])
        also = [self.ctl.store.feed_statement(key, new)]
        if trigger is None or owner is None:  # deleted without its feed: nothing to fire any more
            await self._drop(key)
            return
        for attempt in range(FIRE_RETRIES):
            try:
                await self.ctl.events.firing.fire(owner, trigger, doc["payload"], also=also)
                break
            except EntityError as ex:
                if ex.status != 429 or attempt == FIRE_RETRIES - 1:
                    log.warning("alarm %s: the fire at %s was refused: %s", key, _iso(scheduled), ex.message)
                    await self.ctl.store.atomic(also)
                    break
                await asyncio.sleep(1)
        if key in self.schedules:
            self.schedules[key] = new
        if reason == ENDED["once"] and doc.get("deleteAfterFire") in ("true", "rules"):
            await self.ctl.events.delete_trigger(owner.namespace, trigger.name,
                                                 with_rules=doc["deleteAfterFire"] == "rules")
