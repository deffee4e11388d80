"""The settings of one run of the command line: read once, on first use, by whichever command
needs them (so `--help` and `config reference` work with a broken configuration)."""

from __future__ import annotations

import typer

from costbot.settings import Settings, load_settings


class SettingsSource:
    """Reads the settings on first use and keeps them for the rest of the run."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The composed settings (file and environment)."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of this run of the command line."""
    return ctx.ensure_object(SettingsSource).settings
