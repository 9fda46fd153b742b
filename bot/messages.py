"""Platform-neutral messages between a chat front end (Telegram, terminal) and the bot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


def base_language(code: str | None) -> str:
    """Telegram sends codes like 'en-GB' or 'es-419'; texts are kept per base language."""
    return (code or "en").split("-")[0].lower()[:8] or "en"


@dataclass(frozen=True)
class ClientKey:
    """Who is writing: a Telegram user (and their chat), or a terminal user by pseudonym."""

    telegram_user_id: int | None = None
    chat_id: int | None = None
    pseudonym: str | None = None

    def __post_init__(self) -> None:
        if (self.telegram_user_id is None) == (self.pseudonym is None):
            raise ValueError("a client is known by a Telegram user id or a pseudonym")

    @property
    def log_id(self) -> str:
        """An identifier safe for logs (never the client's words)."""
        return f"chat={self.chat_id}" if self.telegram_user_id is not None else "terminal"


@dataclass(frozen=True)
class Inbound:
    """One thing the client did: typed text, a command, a button press, or sent media."""

    client: ClientKey
    text: str | None = None
    command: str | None = None
    button: str | None = None
    language: str = "en"
    edited: bool = False
    has_media: bool = False
    # Telegram's update_id, used to skip an update delivered twice (None outside Telegram).
    update_id: int | None = None
    # A shared location (latitude, longitude): used to find the client's time zone.
    location: tuple[float, float] | None = None
    # Words after a command: "/link ABCDE-FGHIJ" -> ("ABCDE-FGHIJ",).
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outbound:
    text: str
    # (label, callback data) pairs, shown as buttons under the text.
    buttons: tuple[tuple[str, str], ...] = ()
    # A PNG picture sent with ``text`` as its caption.
    photo: bytes | None = None
    # A paced exercise to run after this message (the front end paces it).
    timer: ExerciseTimer | None = None
    # A file sent with ``text`` as its caption: (file name, content).
    document: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class ExerciseTimer:
    """Which exercise to pace, and the flow turn its end answers (stale-answer guard)."""

    exercise_id: str
    turn: int
    language: str


@dataclass
class Response:
    messages: list[Outbound] = field(default_factory=list)
    # Short notice shown for a button press (Telegram's answerCallbackQuery text).
    notice: str | None = None
    # Whether the pressed button's keyboard should be removed (its question is answered).
    close_buttons: bool = False
    # The single message replaces the pressed one (ticking options of a multiple choice),
    # instead of a new message per tap.
    replace_pressed: bool = False
    # Messages for other chats (a linked therapist's crisis notice): (chat id, message).
    also: list[tuple[int, Outbound]] = field(default_factory=list)

    def say(self, text: str, buttons: tuple[tuple[str, str], ...] = ()) -> None:
        self.messages.append(Outbound(text, buttons))


def said(text: str, buttons: Sequence[tuple[str, str]] = (), *, close: bool = False
         ) -> Response:
    """A response of one message; ``close`` removes the keyboard of the pressed button."""
    response = Response(close_buttons=close)
    response.say(text, tuple(buttons))
    return response
