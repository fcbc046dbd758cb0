"""Refusals a person should read: the message says what was wrong and what to do, in Chinese."""


class ServiceError(ValueError):
    """A request that cannot be carried out; nothing was changed."""


QUOTE_WIDTH = 40


def quoted(text: str, width: int = QUOTE_WIDTH) -> str:
    """What a person typed, as a refusal repeats it: enough to recognise, short enough that the
    refusal stays one sentence (a 4,000-character name once made an answer too long to send)."""
    return text if len(text) <= width else text[: width - 1] + "…"
