"""Settings from the environment (and an optional .env file), read once in main()."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.crypto import KeyRing
from storage.db import normalise_url, sqlite_url_for


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN"))
    # Point the bot at another Bot API server (a local one, or the tests' fake).
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL"))
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("CBT_DATA_DIR"))
    flows_dir: Path | None = Field(default=None, validation_alias=AliasChoices("CBT_FLOWS_DIR"))
    # The programme file (enabled flows, crisis packs, defaults); None: the packaged one.
    programme_file: Path | None = Field(default=None,
                                        validation_alias=AliasChoices("CBT_PROGRAMME_FILE"))
    # "id:base64key[,id:oldkey...]": free text is encrypted at rest with the first key.
    encryption_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CBT_ENCRYPTION_KEY"))
    # Time zone for dates in exports when the command line does not name one.
    export_timezone: str = Field(default="UTC",
                                 validation_alias=AliasChoices("CBT_EXPORT_TIMEZONE"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("CBT_LOG_LEVEL"))
    # Pace of exercises: 1 is real time. Only tests and demos use less (0.01: 100x faster).
    exercise_speed: float = Field(default=1.0, gt=0, le=1,
                                  validation_alias=AliasChoices("CBT_EXERCISE_SPEED"))
    # Seconds between two looks for due reminders.
    reminder_tick: float = Field(default=15.0, gt=0,
                                 validation_alias=AliasChoices("CBT_REMINDER_TICK"))
    # Long-polling timeout asked of the Bot API (seconds).
    poll_timeout: int = Field(default=30, validation_alias=AliasChoices("CBT_POLL_TIMEOUT"))

    @property
    def uses_default_database(self) -> bool:
        return self.database_url is None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_url(self.database_url)
        return sqlite_url_for(self.data_dir.resolve())

    def key_ring(self) -> KeyRing | None:
        """The configured encryption keys (raises KeyConfigError on a malformed value)."""
        if self.encryption_key is None or not self.encryption_key.get_secret_value():
            return None
        return KeyRing.parse(self.encryption_key.get_secret_value())

    def base_file_url(self) -> str:
        """The Bot API's file URL that goes with ``telegram_api_base_url``."""
        base = self.telegram_api_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file"
