"""The language a message is written in: its Content-Language, else what its own words are."""

from __future__ import annotations

from email.message import Message
from functools import cache
from pathlib import Path

from langdetect import DetectorFactory, LangDetectException
from langdetect.detector_factory import PROFILES_DIRECTORY

LANGUAGES = ("en", "fr")
# Compared with English and French, the languages a mistaken guess would most likely come from: a text in
# Spanish is Spanish, not French with a low score. Seven profiles instead of 55 make a guess three times cheaper.
COMPARED = (*LANGUAGES, "es", "pt", "it", "de", "nl")
MIN_LETTERS = 12  # fewer letters than this say nothing reliable
MIN_PROBABILITY = 0.8


def message_language(message: Message, subject: str | None = None) -> str | None:
    """ "en" or "fr" when the headers or the text say so; None when nothing does."""
    declared = str(message.get("Content-Language", "")).strip().lower()[:2]
    if declared in LANGUAGES:
        return declared
    own_words = "\n".join(line for line in (plain_text(message) or "").splitlines() if not line.lstrip().startswith(">"))
    return text_language(f"{subject or ''}\n{own_words[:4000]}")


def text_language(text: str) -> str | None:
    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return None
    try:
        detector = _factory().create()
        detector.append(text)
        guesses = detector.get_probabilities()
    except LangDetectException:
        return None
    best = next((guess for guess in guesses if guess.lang in LANGUAGES), None)
    return best.lang if best is not None and best.prob >= MIN_PROBABILITY else None


def plain_text(message: Message) -> str | None:
    """The first text/plain part that is not an attachment, decoded."""
    for part in message.walk():
        if part.get_content_type() != "text/plain" or part.get_content_disposition() == "attachment":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know (ansi_x3.110-1983): the words still count
                return payload.decode("utf-8", errors="replace")
    return None


@cache
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_json_profile([(Path(PROFILES_DIRECTORY) / language).read_text(encoding="utf-8") for language in COMPARED])
    factory.set_seed(0)  # the same text always gets the same answer
    return factory
