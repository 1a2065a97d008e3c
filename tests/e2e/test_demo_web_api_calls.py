"""The Web API calls the bot makes while ``nonconformity-bot demo`` plays its case, compared with
a committed record (issue 14: a restructure must make the same calls — same methods, same
targets, same order of effects; texts may change where plurals are fixed, so none is recorded).

What is recorded in ``golden/demo_web_api_calls.json``, per call the stand-in received (and per
``response_url`` post, the other way the bot answers a person):

- ``step``: the demo step during which it happened (0: before the first step); a step begins
  with its first click or command, and the demo waits until the bot is quiet before the next;
- ``place``: where a person sees it, the unit whose order is compared — ``#C0TRIAGE01`` (its
  top-level messages), ``#C0TRIAGE01 › thread of message 1`` (the case thread),
  ``#C0ACMEDIST`` …, ``App Home of U…``, ``modals of U…``, ``ephemerals to U… in C…``, and
  ``the bot itself`` (``auth.test`` and other reads);
- ``method`` and ``target``: which message — ``message 1``, ``message 1 › reply 3``: numbered
  in the order the bot first posted them in that channel or thread, never by run-time ``ts`` —
  or which modal call or ``response_type``;
- ``shape``: what it consists of, without texts — the block types in order with the action ids
  of their elements (``actions[case_confirm,case_dismiss]``), input block ids, a view's type
  and callback id, the message metadata's event type; ``text only`` for a post without blocks.

What is compared (the first kind of difference fails the test):

1. Posts, modals, ephemerals, permalinks and reads (everything but edits): the run's multiset
   equals the record's, step included — the outbox sends to different channels in parallel
   lanes, so the interleaving *between* places differs from run to run and is not compared —
   and within each place they come in the recorded order.
2. Edits (``chat.update``, ``views.update``, ``views.publish``) are idempotent and their number
   depends on timing: an App Home refresh that is already queued absorbs the next one, and an
   update that finds its panel not yet posted is retried two seconds later, rendering whatever
   is current then. So the record keeps, per edited thing and step, the shape its *last* edit
   left, and the run must edit that thing in that step to that shape. An edit the record lacks
   is tolerated only when it changes nothing (its shape is the one the thing already had).
3. Causes before effects, in the run itself: a message is edited, linked or replied to only
   after it was posted (the numbering would otherwise fail). Across places the step is the
   causal order: every effect must come in the step of the click that causes it, so a notice
   sent before its approval, or a reply before its card, fails in 1 or 2.

Reading a failure: ``missing`` lines are in the record but not in this run, ``unexpected``
lines the other way round. Two posts swapped in a thread show as a pair of each (their reply
numbers exchanged); an order difference without a number change is printed as both sequences
of that place side by side; an edit difference names the thing, the step and both shapes. If the
change is intended, regenerate the record and review its diff as you would review code:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/e2e/test_demo_web_api_calls.py

Without ``UPDATE_GOLDEN=1`` the record is only read, never written.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.devkit.demo import STEPS, Demo, Step, run_demo
from bot.devkit.standin import Call, ResponsePost, SlackStandIn

GOLDEN = Path(__file__).parent / "golden" / "demo_web_api_calls.json"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HOME = "views.publish"
EDITS = frozenset({"chat.update", "views.update", HOME})


@dataclass(frozen=True)
class Effect:
    """One Web API call (or response_url post), with everything run-specific taken out."""

    step: int
    place: str
    method: str
    target: str
    shape: str

    def key(self) -> tuple[int, str, str, str, str]:
        return (self.step, self.place, self.method, self.target, self.shape)

    def __str__(self) -> str:
        return f"step {self.step} · {self.place} · {self.method} {self.target} · {self.shape}"


@dataclass
class Run:
    """What the demo left on the stand-in, and where each step began."""

    calls: list[Call]
    posts: list[ResponsePost]
    step_starts: list[float]  # time.time() of each step's first action, as Call.at
    triggers: dict[str, str | None]  # trigger_id -> user
    views: dict[str, str | None]  # view id -> user
    hooks: dict[str, tuple[str | None, str | None]]  # response_url -> (channel, user)


def play_the_demo() -> Run:
    """Run the demo as ``test_demo`` does (in process, the real bot over HTTP on the stand-in),
    remembering when each step started; afterwards read what the stand-in saw."""
    standins: list[SlackStandIn] = []
    starts: list[float] = []

    def marked(step: Step) -> Step:
        def play(demo: Demo) -> None:
            if not standins:
                standins.append(demo.standin)
            starts.append(time.time())  # the clock of Call.at and ResponsePost.at
            step(demo)

        return play

    out, err = io.StringIO(), io.StringIO()
    code = run_demo(out, err, tuple((title, marked(step)) for title, step in STEPS))
    assert code == 0 and err.getvalue() == "", err.getvalue()
    standin = standins[0]
    with standin.ws.lock:  # the demo has ended: nothing writes any more
        triggers = {t.id: t.user for t in standin.ws.triggers.values()}
        views = {v.id: v.user for v in [*standin.ws.views.values(), *standin.ws.homes.values()]}
        hooks = {h.url: (h.channel, h.user) for h in standin.ws.response_urls.values()}
    return Run(standin.calls(), standin.response_posts(), starts, triggers, views, hooks)


# ---------------------------------------------------------------- normalising


class Normaliser:
    """Turns raw calls into :class:`Effect`: messages named by the order they were posted."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.top: dict[str, list[str]] = {}  # channel -> ts of top-level posts, in order
        self.replies: dict[tuple[str, str], list[str]] = {}  # (channel, parent ts) -> reply ts
        self.parent: dict[tuple[str, str], str] = {}  # (channel, reply ts) -> parent ts
        self.problems: list[str] = []  # causal order broken in this run

    def effects(self) -> list[Effect]:
        # Both lists are in the order the stand-in received them; sorting is stable.
        timed: list[tuple[float, Call | ResponsePost]] = [(c.at, c) for c in self.run.calls]
        timed += [(p.at, p) for p in self.run.posts]
        found = []
        for at, item in sorted(timed, key=lambda t: t[0]):
            step = sum(1 for start in self.run.step_starts if start <= at)
            if isinstance(item, Call):
                found.append(self.call(step, item))
            else:
                found.append(self.response_post(step, item))
        return found

    # --- messages

    def message(self, channel: str, ts: str, method: str) -> tuple[str, str]:
        """(place, target) of an existing message; a message not yet posted is a problem."""
        if ts in self.top.get(channel, []):
            return f"#{channel}", f"message {self.top[channel].index(ts) + 1}"
        parent = self.parent.get((channel, ts))
        if parent is None:
            self.problems.append(f"{method} on a message not posted (yet) in {channel}")
            return f"#{channel}", "a message the bot never posted"
        place, target = self.message(channel, parent, method)
        reply = self.replies[(channel, parent)].index(ts) + 1
        return f"{place} › thread of {target}", f"{target} › reply {reply}"

    def posted(self, call: Call) -> tuple[str, str]:
        channel = str(call.response.get("channel") or call.args.get("channel"))
        ts = str(call.response.get("ts"))
        thread = call.args.get("thread_ts")
        if not thread:
            self.top.setdefault(channel, []).append(ts)
            return f"#{channel}", f"message {len(self.top[channel])}"
        place, parent = self.message(channel, str(thread), call.method)
        self.parent[(channel, ts)] = str(thread)
        self.replies.setdefault((channel, str(thread)), []).append(ts)
        reply = len(self.replies[(channel, str(thread))])
        return f"{place} › thread of {parent}", f"{parent} › reply {reply}"

    # --- calls

    def call(self, step: int, call: Call) -> Effect:
        args, method = call.args, call.method
        if not call.response.get("ok"):
            self.problems.append(f"{method} was refused: {call.response.get('error')}")
        shape = message_shape(args)
        if method == "chat.postMessage":
            place, target = self.posted(call)
        elif method in ("chat.update", "chat.delete"):
            place, target = self.message(str(args["channel"]), str(args["ts"]), method)
        elif method == "chat.getPermalink":
            place, target = self.message(str(args["channel"]), str(args["message_ts"]), method)
            shape = "-"
        elif method == "chat.postEphemeral":
            place, target = f"ephemerals to {args['user']} in {args['channel']}", "-"
        elif method in ("views.open", "views.push"):
            user = self.run.triggers.get(str(args.get("trigger_id")))
            place, target, shape = f"modals of {user}", method.split(".")[1], view_shape(args)
        elif method == "views.update":
            view = call.response.get("view") or {}
            user = self.run.views.get(str(view.get("id")))
            place, target, shape = f"modals of {user}", "update", view_shape(args)
        elif method == HOME:
            place, target, shape = f"App Home of {args['user_id']}", "publish", view_shape(args)
        else:  # reads and the like: who or what they ask about
            subject = [f"{k}={args[k]}" for k in ("channel", "user", "usergroup") if k in args]
            place, target, shape = READS, " ".join(subject) or "-", "-"
        return Effect(step, place, method, target, shape)

    def response_post(self, step: int, post: ResponsePost) -> Effect:
        channel, user = self.run.hooks.get(post.url, (None, None))
        body = post.body
        how = [str(body.get(k)) for k in ("response_type",) if k in body]
        how += [k for k in ("replace_original", "delete_original") if body.get(k)]
        place = f"ephemerals to {user} in {channel}"
        if post.status != 200:
            self.problems.append(f"a response_url post was refused: {post.error}")
        return Effect(step, place, "response_url", " ".join(how) or "-", message_shape(body))


def blocks_shape(blocks: Iterable[Any]) -> str:
    """Block types in order; for each, the action ids of its elements (and an input's block id)."""
    parts = []
    for block in blocks:
        if not isinstance(block, dict):
            parts.append("?")
            continue
        kind = str(block.get("type"))
        if kind == "input":
            kind += f":{block.get('block_id')}"
        elements = [*(block.get("elements") or []), block.get("accessory"), block.get("element")]
        actions = [
            str(e["action_id"]) for e in elements if isinstance(e, dict) and "action_id" in e
        ]
        parts.append(f"{kind}[{','.join(actions)}]" if actions else kind)
    return " ".join(parts)


def message_shape(args: dict[str, Any]) -> str:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    shape = blocks_shape(blocks) if blocks else "text only"
    metadata = args.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    if isinstance(metadata, dict):
        shape += f" | metadata {metadata.get('event_type')}"
    if args.get("reply_broadcast"):
        shape += " | broadcast"
    return shape


def view_shape(args: dict[str, Any]) -> str:
    view = args.get("view") or {}
    if isinstance(view, str):
        view = json.loads(view)
    head = f"{view.get('type')}"
    if view.get("callback_id"):
        head += f" {view['callback_id']}"
    return f"{head}: {blocks_shape(view.get('blocks') or [])}"


# ---------------------------------------------------------------- comparing


def is_edit(effect: Effect) -> bool:
    return effect.method in EDITS


def states(effects: Iterable[Effect]) -> list[Effect]:
    """Edits reduced to what a person sees: per edited thing and step, the last edit's shape."""
    last: dict[tuple[str, str, str, int], Effect] = {}
    for effect in effects:
        if is_edit(effect):
            last[(effect.place, effect.method, effect.target, effect.step)] = effect
    return list(last.values())


def reduced(effects: list[Effect]) -> list[Effect]:
    """What is recorded and compared: every post as it happened, edits as :func:`states`."""
    kept = set(map(id, states(effects)))
    return [e for e in effects if not is_edit(e) or id(e) in kept]


def by_place(effects: Iterable[Effect]) -> dict[str, list[Effect]]:
    places: dict[str, list[Effect]] = {}
    for effect in effects:
        places.setdefault(effect.place, []).append(effect)
    return places


def _blocks_only(shape: str) -> str:
    return shape.split(" | ")[0]


READS = "the bot itself"  # auth.test, users.info, conversations.info: reads, no effect


def post_differences(expected: list[Effect], actual: list[Effect]) -> list[str]:
    """Posts, modals, ephemerals and reads: the same multiset, and per place the same order."""
    want = Counter(e.key() for e in expected if not is_edit(e))
    got = Counter(e.key() for e in actual if not is_edit(e))
    if want != got:
        return [
            "the calls differ from the record",
            *(f"  missing:    {Effect(*k)}" for k in sorted((want - got).elements())),
            *(f"  unexpected: {Effect(*k)}" for k in sorted((got - want).elements())),
        ]
    recorded = by_place(e for e in expected if not is_edit(e))
    seen = by_place(e for e in actual if not is_edit(e))
    for place, calls in recorded.items():
        if place == READS:
            continue  # reads have no effect to order: look-ups in one step may come in any order
        if [e.key() for e in calls] != [e.key() for e in seen[place]]:
            return [
                f"the order in {place} differs from the record",
                "  recorded:",
                *(f"    {e}" for e in calls),
                "  this run:",
                *(f"    {e}" for e in seen[place]),
            ]
    return []


def edit_differences(expected: list[Effect], actual: list[Effect]) -> list[str]:
    """Every recorded edit happens in its step and leaves the recorded shape. An edit the record
    lacks is only tolerated when it changes nothing visible (an idempotent update retried later,
    a queued App Home refresh): its shape is the one the thing already had. The other way round
    too: the bot sends no edit that would show what the thing shows already (issue 23), and the
    record keeps shapes without texts, so a recorded edit to the shape the thing already had may
    be missing (whether its text changed in that step or the one before depends on timing)."""
    posted = {(e.place, e.target): e.shape for e in expected if e.method == "chat.postMessage"}
    recorded: dict[tuple[str, str, str], dict[int, str]] = {}
    for e in states(expected):
        recorded.setdefault((e.place, e.method, e.target), {})[e.step] = e.shape
    seen: dict[tuple[str, str, str], dict[int, str]] = {}
    for e in states(actual):
        seen.setdefault((e.place, e.method, e.target), {})[e.step] = e.shape
    problems = []
    for thing in sorted(recorded.keys() | seen.keys()):
        want, got = recorded.get(thing, {}), seen.get(thing, {})
        place, method, target = thing
        shape = _blocks_only(posted.get((place, target), "nothing yet"))
        for step in sorted(want.keys() | got.keys()):
            if step in want:
                absent_unchanged = step not in got and want[step] == shape
                if got.get(step) != want[step] and not absent_unchanged:
                    problems.append(
                        f"  step {step} · {place} · {method} {target}: recorded {want[step]!r}, "
                        f"this run {got.get(step, 'no edit')!r}"
                    )
                shape = want[step]
            elif got[step] != shape:
                problems.append(
                    f"  step {step} · {place} · {method} {target}: an edit the record lacks, "
                    f"to {got[step]!r} (it showed {shape!r})"
                )
    return ["the edits differ from the record", *problems] if problems else []


def load_golden() -> list[Effect]:
    assert GOLDEN.exists(), f"{GOLDEN} is missing: record it with UPDATE_GOLDEN=1"
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return [Effect(**e) for e in data["effects"]]


def write_golden(effects: list[Effect]) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "about": "The Web API calls of `nonconformity-bot demo`, as compared by "
        "tests/e2e/test_demo_web_api_calls.py (its docstring says how); posts in the order of "
        "the recorded run, edits as the last one per thing and step. Regenerate with "
        "UPDATE_GOLDEN=1, never by hand.",
        "effects": [asdict(e) for e in effects],
    }
    GOLDEN.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def test_the_demo_makes_the_recorded_web_api_calls_in_the_recorded_order_per_place() -> None:
    run = play_the_demo()
    normaliser = Normaliser(run)
    effects = reduced(normaliser.effects())
    assert normaliser.problems == [], "causes after effects:\n" + "\n".join(normaliser.problems)
    if UPDATE:
        write_golden(effects)
    golden = load_golden()
    problems = post_differences(golden, effects) or edit_differences(golden, effects)
    assert not problems, "\n".join(problems)


THREAD = "#C0TRIAGE01 › thread of message 1"
CARD = Effect(1, "#C0TRIAGE01", "chat.postMessage", "message 1", "header | metadata x")
ASK = Effect(1, THREAD, "chat.postMessage", "message 1 › reply 1", "actions[ack] | metadata x")
NOTICE = Effect(5, "#C0ACMEDIST", "chat.postMessage", "message 1", "actions[receipt]")
TABLE = Effect(5, THREAD, "chat.postMessage", "message 1 › reply 2", "actions[waive]")
DONE = Effect(5, THREAD, "chat.postMessage", "message 1 › reply 3", "actions[done]")
TABLE_EDIT = Effect(5, THREAD, "chat.update", "message 1 › reply 2", "actions[waive]")
WAIVED = Effect(7, THREAD, "chat.update", "message 1 › reply 2", "section")
RECORD = [CARD, ASK, NOTICE, TABLE, TABLE_EDIT, DONE, WAIVED]


def compare(run: list[Effect]) -> list[str]:
    return post_differences(RECORD, run) or edit_differences(RECORD, run)


def test_the_comparison_ignores_the_interleaving_of_places_and_edits_that_change_nothing() -> None:
    again = Effect(5, THREAD, "chat.update", "message 1 › reply 2", "actions[waive]")
    late = Effect(9, THREAD, "chat.update", "message 1 › reply 2", "section")
    assert compare([CARD, ASK, TABLE, DONE, NOTICE, TABLE_EDIT, again, WAIVED, late]) == []


def test_the_comparison_fails_on_a_swap_in_a_place_a_lost_edit_or_an_effect_in_another_step() -> (
    None
):
    swapped = [CARD, ASK, NOTICE, TABLE_EDIT, DONE, TABLE, WAIVED]
    assert compare(swapped)[0] == f"the order in {THREAD} differs from the record"
    assert compare([CARD, ASK, NOTICE, TABLE, TABLE_EDIT, DONE])[0] == (
        "the edits differ from the record"
    )
    early = Effect(4, "#C0ACMEDIST", "chat.postMessage", "message 1", "actions[receipt]")
    assert compare([CARD, ASK, early, TABLE, TABLE_EDIT, DONE, WAIVED])[:3] == [
        "the calls differ from the record",
        f"  missing:    {NOTICE}",
        f"  unexpected: {early}",
    ]
    changed = Effect(6, THREAD, "chat.update", "message 1 › reply 2", "section")
    assert compare([*RECORD, changed]) == [
        "the edits differ from the record",
        f"  step 6 · {THREAD} · chat.update message 1 › reply 2: an edit the record lacks, "
        "to 'section' (it showed 'actions[waive]')",
    ]
