"""Drive the real discord.py bot without a network, the way discord.py tests itself.

A real `CostBot` (commands.Bot, cogs loaded through `login` → `setup_hook`) gets its
HTTPClient's `request` (the REST choke point) replaced by a recorder, and a recording webhook
adapter (the choke point of interaction responses and follow-ups). Real `discord.Interaction`
objects are built from payload dicts and dispatched through the command tree; every response
is recorded.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from itertools import count
from types import SimpleNamespace
from typing import Any

import discord
import httpx
from discord.app_commands import Command, Group
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.discord_app.app import BotDeps, CostBot, build_bot
from bot.limits import (
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_VALUE,
    MESSAGE_CHARS,
)
from bot.settings import BotConfig

APP_ID = 900_000_000_000_000_001
BOT_ID = 900_000_000_000_000_002
GUILD_ID = 800_000_000_000_000_001
CHANNEL_ID = 700_000_000_000_000_001
MANAGE_GUILD = 1 << 5
_ids = count(600_000_000_000_000_001)


@dataclass(frozen=True)
class Call:
    """One recorded request: method, path template, JSON body and attached files."""

    method: str
    path: str
    params: dict[str, Any]
    body: dict[str, Any]
    files: tuple[tuple[str, bytes], ...] = ()
    url: str = ""  # the path with its ids filled in, e.g. /channels/7/messages

    @property
    def data(self) -> dict[str, Any]:
        """The message data of an interaction callback, or the body of anything else."""
        return dict(self.body.get("data") or {}) if "type" in self.body else self.body

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & 64)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def text(self) -> str:
        """Content plus every embed's title, description and fields, for assertions."""
        parts = [self.data.get("content") or ""]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        return "\n".join(p for p in parts if p)


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def _message(channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "channel_id": str(channel_id),
        "type": 0,
        "content": body.get("content") or "",
        "author": _user(BOT_ID, "costbot", bot=True),
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "flags": 0,
        **({"message_reference": body["message_reference"]} if "message_reference" in body else {}),
    }


def _thread(thread_id: int, *, parent_id: int, name: str = "thread") -> dict[str, Any]:
    """A public thread as Discord returns it (POST .../messages/{id}/threads, or in a payload)."""
    return {
        "id": str(thread_id),
        "type": 11,
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "owner_id": str(BOT_ID),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-01-01T00:00:00+00:00",
            "locked": False,
            "create_timestamp": "2026-01-01T00:00:00+00:00",
        },
        "member": {
            "id": str(thread_id),
            "user_id": str(BOT_ID),
            "join_timestamp": "2026-01-01T00:00:00+00:00",
            "flags": 0,
        },
    }


def _parse_multipart(multipart: list[dict[str, Any]] | None) -> tuple[dict[str, Any], tuple]:
    body: dict[str, Any] = {}
    files = []
    for part in multipart or []:
        if part["name"] == "payload_json":
            body = json.loads(part["value"])
        else:
            files.append((part["filename"], part["value"].read()))
    return body, tuple(files)


class RecordingHTTP:
    """Stands in for `HTTPClient.request` (every REST call goes through it): records, answers."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.refuse_threads = False  # answer thread creation with 403 Missing Permissions

    def install(self, http: HTTPClient) -> None:
        """Replace the request method of the bot's one HTTPClient (shared by state and tree)."""
        http.request = self.request  # type: ignore[method-assign]

    async def request(
        self, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any
    ) -> Any:
        body, attached = _parse_multipart(form) if form else (kwargs.get("json") or {}, ())
        url = route.url.removeprefix(Route.BASE)
        self.calls.append(Call(route.method, route.path, {}, body, attached, url=url))
        return self._answer(route, body)

    def _answer(self, route: Route, body: dict[str, Any]) -> Any:
        if route.path == "/users/@me":
            return _user(BOT_ID, "costbot", bot=True)
        if route.path == "/oauth2/applications/@me":
            return {
                "id": str(APP_ID),
                "name": "costbot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "k",
                "owner": _user(1, "owner"),
                "flags": 0,
            }
        if route.path == "/channels/{channel_id}/messages":
            return _message(int(route.channel_id or 0), body)
        if route.path == "/channels/{channel_id}/messages/{message_id}/threads":
            if self.refuse_threads:
                response = SimpleNamespace(status=403, reason="Forbidden")
                raise discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})  # type: ignore[arg-type]
            name = str(body.get("name", "thread"))
            return _thread(next(_ids), parent_id=int(route.channel_id or 0), name=name)
        if route.path == "/channels/{channel_id}":
            return _text_channel(int(route.channel_id or 0))
        return []  # command sync and anything else: an empty list is a valid answer


class RecordingWebhook(AsyncWebhookAdapter):
    """The adapter interaction responses go through, recording instead of sending."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []

    async def request(
        self,
        route: Route,
        session: Any,
        *,
        payload: Any = None,
        multipart: Any = None,
        files: Any = None,
        params: Any = None,
        **kwargs: Any,
    ) -> Any:
        body, attached = _parse_multipart(multipart) if multipart else (payload or {}, ())
        self.calls.append(Call(route.method, route.path, dict(params or {}), body, attached))
        if route.path.endswith("/callback"):
            flags = (body.get("data") or {}).get("flags", 0)
            return {
                "interaction": {
                    "id": str(route.webhook_id),
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(flags & 64),
                }
            }
        return _message(CHANNEL_ID, body)


def _role(role_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "position": 0,
        "permissions": "0",
        "managed": False,
        "mentionable": True,
        "flags": 0,
    }


def _text_channel(channel_id: int) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": "support",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


@dataclass
class Harness:
    """A logged-in bot with recorders; `invoke` runs a slash command like Discord would."""

    bot: CostBot
    http: RecordingHTTP
    webhook: RecordingWebhook
    records: list[Any] = field(default_factory=list)

    def command(self, qualified_name: str) -> Command[Any, ..., Any]:
        """The app command by its full name, e.g. 'budget set'."""
        found = self.bot.tree.get_command(qualified_name.split()[0])
        for part in qualified_name.split()[1:]:
            assert isinstance(found, Group)
            found = found.get_command(part)
        assert isinstance(found, Command), qualified_name
        return found

    def interaction(
        self,
        qualified_name: str,
        *,
        user_id: int = 1001,
        permissions: int = 0,
        guild: bool = True,
        channel_id: int = CHANNEL_ID,
        role_ids: tuple[int, ...] = (),
        **options: Any,
    ) -> discord.Interaction:
        """A real Interaction built from a gateway-shaped payload."""
        command = self.command(qualified_name)
        payload: dict[str, Any] = {
            "id": str(next(_ids)),
            "application_id": str(APP_ID),
            "token": "tok",
            "version": 1,
            "type": 2,
            "data": _command_data(command, options),
            "attachment_size_limit": 8 << 20,
            "locale": "en-US",
            "channel": _text_channel(CHANNEL_ID)
            if channel_id == CHANNEL_ID
            else _thread(channel_id, parent_id=CHANNEL_ID),
            "channel_id": str(channel_id),
            "app_permissions": "0",
        }
        user = _user(user_id, f"user{user_id}")
        if guild:
            payload["guild_id"] = str(GUILD_ID)
            payload["member"] = {
                "user": user,
                "roles": [str(r) for r in role_ids],
                "joined_at": "2026-01-01T00:00:00Z",
                "permissions": str(permissions),
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        else:
            payload["user"] = user
            payload["channel"] = {"id": str(CHANNEL_ID), "type": 1}
        return discord.Interaction(data=payload, state=self.bot._connection)  # type: ignore[arg-type]

    async def invoke(self, qualified_name: str, **kwargs: Any) -> list[Call]:
        """Dispatch a slash command through the tree; return the responses it produced."""
        before = len(self.webhook.calls)
        token = async_context.set(self.webhook)
        try:
            interaction: Any = self.interaction(qualified_name, **kwargs)
            await self.bot.tree._call(interaction)
        finally:
            async_context.reset(token)
        return self.webhook.calls[before:]

    def add_guild(self, *, role_ids: tuple[int, ...] = ()) -> discord.Guild:
        """Put the test guild (with these roles) in the bot's cache, through discord.py's own
        state, so message authors arrive as Members with their roles."""
        roles = [_role(GUILD_ID, "@everyone")] + [_role(r, f"role{r}") for r in role_ids]
        payload = {
            "id": str(GUILD_ID),
            "name": "test guild",
            "owner_id": "1",
            "roles": roles,
            "emojis": [],
            "features": [],
            "channels": [_text_channel(CHANNEL_ID)],
            "member_count": 1,
        }
        return self.bot._connection._add_guild_from_data(payload)  # type: ignore[arg-type]

    async def message(
        self,
        content: str,
        *,
        channel_id: int = CHANNEL_ID,
        user_id: int = 2001,
        author_bot: bool = False,
        role_ids: tuple[int, ...] = (),
    ) -> list[Call]:
        """A customer message arriving from the gateway; return the REST calls it caused."""
        before = len(self.http.calls)
        payload = _message(channel_id, {"content": content})
        payload.update(
            author=_user(user_id, f"customer{user_id}", bot=author_bot), guild_id=str(GUILD_ID)
        )
        payload["member"] = {
            "roles": [str(r) for r in role_ids],
            "joined_at": "2026-01-01T00:00:00Z",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        self.bot._connection.parse_message_create(payload)  # type: ignore[arg-type]
        for _ in range(400):  # the listener runs as a task: wait for its answer
            await asyncio.sleep(0.01)
            if len(self.http.calls) > before:
                break
        return self.http.calls[before:]

    async def press(self, message: Call, custom_id: str, *, user_id: int) -> list[Call]:
        """A member pressing a button of a message the bot sent (a real component
        interaction through the view store); return the responses it produced."""
        before = len(self.webhook.calls)
        user = _user(user_id, f"user{user_id}")
        payload: dict[str, Any] = {
            "id": str(next(_ids)),
            "application_id": str(APP_ID),
            "token": "tok",
            "version": 1,
            "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": _message(CHANNEL_ID, message.body),
            "attachment_size_limit": 8 << 20,
            "locale": "en-US",
            "channel": _text_channel(CHANNEL_ID),
            "channel_id": str(CHANNEL_ID),
            "app_permissions": "0",
            "guild_id": str(GUILD_ID),
            "member": {
                "user": user,
                "roles": [],
                "joined_at": "2026-01-01T00:00:00Z",
                "permissions": "0",
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
        }
        token = async_context.set(self.webhook)  # the item's task inherits this context
        try:
            self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        finally:
            async_context.reset(token)
        for _ in range(400):
            await asyncio.sleep(0.01)
            if len(self.webhook.calls) > before:
                break
        return self.webhook.calls[before:]


def _command_data(command: Command[Any, ..., Any] | Group, options: Any) -> dict[str, Any]:
    if isinstance(command, Command):
        types = {p.name: p.type.value for p in command.parameters}
        options = [{"type": types[k], "name": k, "value": v} for k, v in options.items()]
    data: dict[str, Any] = {"type": 1, "name": command.name, "options": options}
    if command.parent is None:
        data["id"] = str(next(_ids))
        return data
    data["type"] = 1 if isinstance(command, Command) else 2
    return _command_data(command.parent, [data])


def within_limits(call: Call) -> bool:
    """Whether a recorded message respects Discord's message and embed limits."""
    data = call.data
    embeds = call.embeds
    total = 0
    for embed in embeds:
        fields = embed.get("fields", [])
        if len(fields) > EMBED_FIELDS or len(embed.get("title", "")) > EMBED_TITLE:
            return False
        if len(embed.get("description", "")) > EMBED_DESCRIPTION:
            return False
        if any(len(f["value"]) > FIELD_VALUE for f in fields):
            return False
        total += (
            len(embed.get("title", ""))
            + len(embed.get("description", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in fields)
        )
    return len(data.get("content") or "") <= MESSAGE_CHARS and total <= EMBED_TOTAL


async def start_harness(
    settings: BotConfig, http_client: httpx.AsyncClient, *, deps: BotDeps
) -> Harness:
    """Build the bot with `build_bot`, swap in the recorder, log in (runs setup_hook)."""
    bot = build_bot(settings, http_client=http_client, deps=deps)
    recorder = RecordingHTTP()
    recorder.install(bot.http)
    await bot.login("test-token")
    return Harness(bot, recorder, RecordingWebhook())
