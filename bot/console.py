"""The console adapter: `/command ...` lines (or customer messages) in, replies printed.

Run as `costbot console`; reads a terminal or a pipe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.commands import CommandContext, Invoker, run_command
from bot.commands.spec import SPECS_BY_NAME, CommandSpec
from bot.conversations import Feedback
from bot.errors import OptionError
from bot.handoff import handoff_note
from bot.replies import Reply, error_reply
from bot.settings import BotConfig
from bot.support import SupportContext, SupportReply, handle_support_message
from bot.text import has_visible_character
from costing import figures

GROUPS = sorted({name.split()[0] for name in SPECS_BY_NAME if " " in name})


@dataclass(frozen=True)
class ParsedCommand:
    """A `/command` line: the command's full name and its raw options."""

    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class CustomerMessage:
    """A line without a leading slash: a customer writing to support."""

    text: str


@dataclass(frozen=True)
class SupportAction:
    """The console's buttons: `/solved` and `/person` (the customer's), `/close` (an agent's)."""

    action: str


SUPPORT_ACTIONS = ("solved", "person", "close")


def parse_line(line: str) -> ParsedCommand | CustomerMessage | SupportAction | None:
    """Parse one input line; None for blank lines (nothing visible) and `#` comments."""
    text = line.strip()
    if not has_visible_character(text) or text.startswith("#"):
        return None
    if not text.startswith("/"):
        return CustomerMessage(text)
    if text[1:].strip().lower() in SUPPORT_ACTIONS:
        return SupportAction(text[1:].strip().lower())
    words = text[1:].split()
    if not words:
        raise OptionError("Empty command. Type `/help` to see the commands.")
    name, rest = _command_name(words)
    spec = SPECS_BY_NAME.get(name)
    return ParsedCommand(name, _options(spec, rest) if spec else {})


def _command_name(words: list[str]) -> tuple[str, list[str]]:
    name = words[0].lower()
    if name not in GROUPS:
        return name, words[1:]
    subs = [n.split()[1] for n in SPECS_BY_NAME if n.startswith(f"{name} ")]
    if len(words) < 2 or words[1].lower() not in subs:
        raise OptionError(f"`/{name}` needs a subcommand: {', '.join(subs)}.")
    return f"{name} {words[1].lower()}", words[2:]


def _options(spec: CommandSpec, words: list[str]) -> dict[str, Any]:
    names = [o.name for o in spec.options]
    keyed: dict[str, Any] = {}
    positional: list[str] = []
    for word in words:
        key, sep, value = word.replace(":", "=", 1).partition("=")
        if sep and key in names and key not in keyed:
            keyed[key] = value
        else:
            positional.append(word)
    free = [n for n in names if n not in keyed]
    if len(positional) > len(free) and not free:
        raise OptionError(f"Too many values for `/{spec.name}`. Usage: `{spec.usage}`")
    for index, name in enumerate(free):
        last = index == len(free) - 1
        if index < len(positional):
            keyed[name] = " ".join(positional[index:]) if last else positional[index]
    return keyed


def render(reply: Reply, *, charts_dir: Path | None = None) -> str:
    """A reply as plain text; an attached file is saved under ``charts_dir``."""
    lines = [f"error: {reply.text}"] if reply.is_error else []
    if reply.title:
        lines.append(f"== {reply.title} ==")
    if reply.text and not reply.is_error:
        lines.append(reply.text)
    lines.extend(f"- {f.name}: {f.value}".replace("\n", "\n    ") for f in reply.fields)
    if reply.file is not None and charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        path = charts_dir / reply.file.filename
        path.write_bytes(reply.file.data)
        lines.append(f"[chart saved to {path}]")
    return "\n".join(lines)


def render_support(reply: SupportReply) -> str:
    """The bot's answer to a customer, with what was decided and what it cost."""
    if reply.outcome == "paused":
        return f"bot: (quiet: {reply.reason})"
    cost = ""
    if reply.cost is not None:
        source = "measured" if reply.cost.energy_measured else "estimated"
        cost = f" | cost {figures.money(reply.cost.total, reply.cost.currency)} ({source})"
    detail = (
        f"[{reply.outcome}: {reply.reason} | intent {reply.intent} {reply.confidence:.0%}"
        f" | sentiment {reply.sentiment or '-'}{cost}]"
    )
    return f"bot: {reply.text}\n  {detail}"


def support_action(action: str, *, context: SupportContext) -> str:
    """Press a console button on the customer's current conversation."""
    store = context.conversations
    if store is None:
        return render(error_reply("Support conversations are not kept here."))
    found = store.open_for(context.customer())
    if found is None:
        return render(error_reply(f"`/{action}`: there is no open conversation."))
    now = context.clock()
    if action == "close":
        store.close(found.uid, now=now, by="agent")
        return "agent: closed the conversation; the bot answers this customer again."
    kind: Feedback = "solved" if action == "solved" else "talk_to_person"
    after = store.feedback(found.uid, kind, now=now)
    if after.paused:
        answer = f"bot: {context.templates.escalation}\n  [escalated: asked for a person]"
        if found.paused:  # handed off already: the team has the note
            return answer
        return f"{answer}\n{render_handoff(context, after.uid, reason='asked for a person')}"
    return "bot: Glad it is solved. Thanks for letting us know.\n  [confirmed by the customer]"


def render_handoff(context: SupportContext, uid: str, *, reason: str) -> str:
    """What the team is given when a conversation is handed to a person (the console prints
    it where Discord posts it in a thread): the conversation so far, its words only where
    storing text is on."""
    if context.conversations is None:
        return ""
    history = context.conversations.history(uid)
    note = handoff_note(history, reason=reason, with_text=context.store_text)
    return "team: " + note.replace("\n", "\n  ")


@dataclass(frozen=True)
class Console:
    """The console bot: a command context and a support context."""

    ctx: CommandContext
    support: SupportContext
    charts_dir: Path | None = None

    async def answer(self, line: str) -> str | None:
        """The printed answer to one input line (None for blank lines and comments)."""
        try:
            parsed = parse_line(line)
        except OptionError as error:
            return render(error_reply(str(error)))
        if parsed is None:
            return None
        if isinstance(parsed, CustomerMessage):
            reply = await handle_support_message(parsed.text, context=self.support)
            if reply.handoff and reply.outcome == "escalated" and reply.conversation_uid:
                note = render_handoff(self.support, reply.conversation_uid, reason=reply.reason)
                return f"{render_support(reply)}\n{note}"
            return render_support(reply)
        if isinstance(parsed, SupportAction):
            return support_action(parsed.action, context=self.support)
        result = await run_command(self.ctx, Invoker(), parsed.name, parsed.options)
        return render(result, charts_dir=self.charts_dir)

    async def run(self, lines: Iterable[str], write: Callable[[str], None]) -> None:
        """Answer every line, in order."""
        for line in lines:
            answer = await self.answer(line)
            if answer is not None:
                write(answer + "\n\n")


def _lines(stream: TextIO, prompt: bool) -> Iterable[str]:
    while True:
        if prompt:
            print("costbot> ", end="", flush=True)
        line = stream.readline()
        if not line:
            return
        yield line


async def run_console(config: BotConfig, *, stream: TextIO, charts_dir: Path) -> None:
    """Open the resources, then answer the stream's lines until it ends."""
    from bot.runtime import open_resources

    async with open_resources(config) as res:
        console = Console(
            ctx=CommandContext(
                service=res.service, session_factory=res.session_factory, costing=config.costing
            ),
            support=res.support(user_id="console", salt=config.discord.salt()),
            charts_dir=charts_dir,
        )
        await console.run(_lines(stream, prompt=stream.isatty()), _write_stdout)


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
