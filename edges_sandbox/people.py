"""Deterministic fake people and small helpers shared by the item generators."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import TypeVar

from edges_sandbox.clock import iso_from_us

T = TypeVar("T")

FIRST_NAMES = (
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Kaori", "Liam", "Maya", "Nils", "Olivia", "Pedro", "Quinn", "Rosa", "Sami", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Schmidt", "Rossi", "Novak", "Garcia", "Dubois", "Larsen", "Silva", "Kowalski",
    "Okafor", "Tanaka", "Murphy", "Berg", "Moreau", "Costa", "Ivanova", "Haddad", "Weber",
)  # fmt: skip
TITLES = (
    "Head of Growth", "Data Engineer", "Founder & CEO", "Sales Director", "Product Manager",
    "Recruiter", "Marketing Lead", "Software Engineer", "Account Executive", "CTO",
)  # fmt: skip
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")
WORDS = (
    "great", "post", "thanks", "for", "sharing", "insightful", "agree", "data", "team", "launch",
    "congrats", "meeting", "next", "week", "interesting", "point", "pipeline", "growth",
)  # fmt: skip
DEGREES = ("1st", "2nd", "3rd")
NULL_RATE = 0.1


def stable_int(text: str) -> int:
    """Hash text to a non-negative integer that is the same in every process.

    Args:
        text: Any string.
    """
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)


def maybe(rng: random.Random, value: T) -> T | None:
    """Return ``value``, or ``None`` for a deterministic ~10% of calls (optional fields).

    Args:
        rng: The item's random generator.
        value: The value to keep most of the time.
    """
    return None if rng.random() < NULL_RATE else value


def iso_ms(time_ms: int) -> str:
    """Format epoch milliseconds as the API's ISO-8601 timestamp.

    Args:
        time_ms: Milliseconds since the Unix epoch.
    """
    return iso_from_us(time_ms * 1000)


def sentence(rng: random.Random, words: int = 8) -> str:
    """Build a short sentence from the word list.

    Args:
        rng: Random generator.
        words: Number of words.
    """
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def post_id(post_url: str) -> str:
    """Extract the activity id of a LinkedIn post URL (or derive a stable one).

    Args:
        post_url: The post URL.
    """
    found = re.search(r"\d{15,}", post_url)
    return (
        found.group(0) if found else str(7_000_000_000_000_000_000 + stable_int(post_url) % 10**15)
    )


@dataclass(frozen=True)
class Person:
    """A LinkedIn member as the actions describe them."""

    profile_id: int
    first_name: str
    last_name: str
    sn_id: str

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def handle(self) -> str:
        """Public profile slug."""
        return f"{self.first_name}-{self.last_name}-{self.profile_id % 10**7:07d}".lower()

    @property
    def url(self) -> str:
        """Public profile URL."""
        return f"https://www.linkedin.com/in/{self.handle}"

    @property
    def sn_url(self) -> str:
        """Sales Navigator profile URL."""
        return f"https://www.linkedin.com/sales/lead/{self.sn_id},NAME_SEARCH"

    @property
    def image_url(self) -> str:
        """Avatar URL."""
        return f"https://media.licdn.com/dms/image/{self.sn_id}/profile-displayphoto"

    @property
    def posts_search_url(self) -> str:
        """Search URL for this person's posts."""
        return (
            f"https://www.linkedin.com/search/results/content/?fromMember=%5B%22{self.sn_id}%22%5D"
        )


def person(profile_id: int) -> Person:
    """Return the member with this id; names are derived from the id, so always the same.

    Args:
        profile_id: The LinkedIn member id.
    """
    rng = random.Random(profile_id)  # noqa: S311 - fake data
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    sn_id = "ACoAA" + "".join(rng.choice(alphabet) for _ in range(20))
    return Person(profile_id, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), sn_id)
