"""Instruction domain: precise, machine-checkable constraints on a short piece of writing.

Every prompt is a writing request followed by one constraint sentence; ``parse_constraint``
recovers the constraint from the prompt, and ``Constraint.check`` is its verifier. At generation
time the chosen response passes the verifier and all three rejected ones fail it (the nearest
miss first).
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

from rmeval.tasks.core.rows import collect, make_row, pick_mode

SUBSET = "instruction"
ENDINGS = [
    "Is there anything else?",
    "Hope this helps!",
    "That is all.",
    "Thanks for reading.",
    "Stay curious!",
]
ASKS = ["Write a few sentences about {}.", "Tell me about {}.", "Describe {} briefly."]
LETTERS = "bcdfghkmpuvwy"
TOPICS: dict[str, list[str]] = {
    "the ocean": [
        "The ocean covers most of the planet.",
        "Whales sing to each other across long distances.",
        "Tides rise and fall twice a day.",
        "Coral reefs shelter many kinds of fish.",
        "Deep water stays cold and dark all year.",
        "Waves are pushed along by the wind.",
    ],
    "volcanoes": [
        "A volcano forms where molten rock reaches the surface.",
        "Lava can flow for many kilometres.",
        "Some volcanoes sleep for centuries.",
        "Ash clouds can ground aircraft.",
        "Volcanic soil is very fertile.",
        "Iceland sits on a chain of active volcanoes.",
    ],
    "bees": [
        "Bees carry pollen from flower to flower.",
        "A hive can hold tens of thousands of bees.",
        "Worker bees dance to share where food is.",
        "Honey keeps for a very long time.",
        "The queen lays nearly all the eggs.",
        "Many crops depend on bees to grow fruit.",
    ],
    "the moon": [
        "The moon orbits the Earth about once a month.",
        "Its pull on the sea causes the tides.",
        "Astronauts first walked on it in 1969.",
        "The same side always faces us.",
        "Craters cover much of its surface.",
        "It has almost no air at all.",
    ],
    "bicycles": [
        "A bicycle turns leg power into motion.",
        "Gears make hills easier to climb.",
        "Cycling to work cuts traffic and pollution.",
        "A helmet protects the rider's head.",
        "Tyres need the right pressure to roll well.",
        "Some cities have lanes just for bikes.",
    ],
    "coffee": [
        "Coffee comes from roasted seeds of a shrub.",
        "Many people drink it to feel awake.",
        "Brazil grows more coffee than any other country.",
        "Light roasts taste brighter than dark ones.",
        "Espresso is brewed under high pressure.",
        "Too much coffee can disturb sleep.",
    ],
    "libraries": [
        "A library lends books for free.",
        "Many libraries also offer computers and classes.",
        "Librarians help people find reliable information.",
        "Quiet rooms make it easy to study.",
        "Some libraries are hundreds of years old.",
        "Local libraries often host reading groups.",
    ],
    "rain": [
        "Rain falls when clouds hold too much water.",
        "Plants and rivers depend on it.",
        "Heavy rain can cause floods.",
        "The smell after rain has a name: petrichor.",
        "Some deserts see rain only once a year.",
        "Rainbows appear when sunlight meets falling drops.",
    ],
    "chess": [
        "Chess is played on a board of sixty-four squares.",
        "Each side starts with sixteen pieces.",
        "The goal is to trap the enemy king.",
        "Knights move in an L shape.",
        "Openings have been studied for centuries.",
        "Computers now beat the best human players.",
    ],
    "trees": [
        "Trees take in carbon dioxide and give off oxygen.",
        "Their roots hold the soil together.",
        "Some trees live for thousands of years.",
        "Rings in the trunk show the age of a tree.",
        "Forests are home to countless animals.",
        "Leaves change colour in the autumn.",
    ],
    "bread": [
        "Bread is made from flour, water and yeast.",
        "Yeast makes the dough rise.",
        "Kneading builds a stretchy network of gluten.",
        "A hot oven gives the loaf a crisp crust.",
        "Sourdough uses a wild starter culture.",
        "Fresh bread is best eaten within a day or two.",
    ],
    "trains": [
        "Trains move many people at once.",
        "Electric trains produce little local pollution.",
        "High-speed lines link major cities.",
        "Freight trains haul heavy goods over land.",
        "The first railways used steam engines.",
        "A timetable tells you when each train leaves.",
    ],
    "music": [
        "Music can change how we feel.",
        "Rhythm gives a song its pulse.",
        "Many people learn an instrument as children.",
        "Singing in a choir builds a sense of community.",
        "Every culture has its own musical traditions.",
        "Recorded music lets us hear a song again and again.",
    ],
    "penguins": [
        "Penguins are birds that cannot fly.",
        "They use their wings to swim fast.",
        "Most penguins live in the southern hemisphere.",
        "Emperor penguins huddle together to stay warm.",
        "A thick layer of fat keeps them warm in icy water.",
        "Some penguins travel far to find food for their chicks.",
    ],
    "the desert": [
        "A desert receives very little rain.",
        "Days can be hot while nights turn cold.",
        "Cacti store water in their thick stems.",
        "Many desert animals are active at night.",
        "Sand dunes shift with the wind.",
        "Some deserts are covered in ice rather than sand.",
    ],
    "gardening": [
        "Gardening gets people outside and moving.",
        "Seeds need water, light and warm soil.",
        "Compost feeds the soil with nutrients.",
        "Weeds compete with plants for water.",
        "Tomatoes grow well in sunny spots.",
        "A small balcony can still hold a few pots.",
    ],
}


@dataclass(frozen=True)
class Constraint:
    """One verifiable instruction: ``kind`` plus its argument (a number, letter or phrase)."""

    kind: str
    arg: Any = None

    def describe(self) -> str:
        """The constraint sentence as it appears in the prompt."""
        return {
            "exact_words": f"Use exactly {self.arg} words.",
            "max_words": f"Use at most {self.arg} words.",
            "no_letter": f"Do not use the letter '{self.arg}' anywhere in your response.",
            "lowercase": "Write your entire response in lowercase letters.",
            "uppercase": "Write your entire response in capital letters.",
            "bullets": f"Format the answer as exactly {self.arg} bullet points, each starting with '- '.",
            "ending": f'End your response with the exact phrase "{self.arg}"',
        }[self.kind]

    def check(self, text: str) -> bool:
        """The verifier: True when ``text`` satisfies the constraint."""
        words = len(text.split())
        if self.kind == "exact_words":
            return words == self.arg
        if self.kind == "max_words":
            return words <= self.arg
        if self.kind == "no_letter":
            return self.arg not in text.lower()
        if self.kind == "lowercase":
            return text == text.lower() and text != text.upper()
        if self.kind == "uppercase":
            return text == text.upper() and text != text.lower()
        if self.kind == "bullets":
            lines = [ln for ln in text.splitlines() if ln.strip()]
            return len(lines) == self.arg and all(ln.startswith("- ") for ln in lines)
        if self.kind == "ending":
            return text.rstrip().endswith(self.arg)
        raise ValueError(f"unknown constraint kind {self.kind!r}")


_PATTERNS = [
    ("exact_words", r"Use exactly (\d+) words\.$", int),
    ("max_words", r"Use at most (\d+) words\.$", int),
    ("no_letter", r"Do not use the letter '(\w)' anywhere in your response\.$", str),
    ("lowercase", r"Write your entire response in lowercase letters\.$", None),
    ("uppercase", r"Write your entire response in capital letters\.$", None),
    ("bullets", r"as exactly (\d+) bullet points, each starting with '- '\.$", int),
    ("ending", r'End your response with the exact phrase "(.+)"$', str),
]


def parse_constraint(prompt: str) -> Constraint:
    """The constraint stated at the end of an instruction prompt (ValueError if none)."""
    for kind, pattern, cast in _PATTERNS:
        m = re.search(pattern, prompt)
        if m:
            return Constraint(kind, cast(m.group(1)) if cast else None)
    raise ValueError(f"no known constraint in prompt {prompt!r}")


def _prose(sentences: list[str]) -> list[str]:
    """Texts of one to three of the topic's sentences, in their original order."""
    return [" ".join(c) for k in (1, 2, 3) for c in itertools.combinations(sentences, k)]


def _bullets(sentences: list[str]) -> list[str]:
    """Bullet lists, numbered lists and plain paragraphs of two to five sentences."""
    out = []
    for k in (2, 3, 4, 5):
        for c in itertools.islice(itertools.combinations(sentences, k), 6):
            out += [
                "\n".join(f"- {s}" for s in c),
                "\n".join(f"{i}. {s}" for i, s in enumerate(c, 1)),
                " ".join(c),
            ]
    return out


def _cased(texts: list[str], kind: str) -> list[str]:
    """Each text as written, lowercased, uppercased, title-cased and cased right but one word."""
    out = []
    for t in texts:
        words = t.lower().split() if kind == "lowercase" else t.upper().split()
        near = " ".join(
            words[:-1] + [words[-1].title() if kind == "lowercase" else words[-1].lower()]
        )
        out += [t, t.lower(), t.upper(), t.title(), near]
    return out


def _endings(texts: list[str], phrase: str) -> list[str]:
    out = []
    for t in texts:
        out += [
            f"{t} {phrase}",
            t,
            f"{t} {phrase[:-1]}",
            f"{phrase} {t}",
            f"{t} {phrase} Take care.",
        ]
    return out


def _setup(
    rng: random.Random, sentences: list[str], mode: str
) -> tuple[Constraint, list[str], str]:
    """A constraint, a pool of candidate texts and the chosen text that satisfies it."""
    prose = _prose(sentences)
    kinds = ["exact_words", "no_letter", "lowercase", "uppercase", "bullets", "ending"]
    kind = rng.choice(kinds + (["max_words"] * 2 if mode == "short" else []))
    if kind == "exact_words":
        chosen = rng.choice(prose[6:21])
        return Constraint(kind, len(chosen.split())), prose, chosen
    if kind == "max_words":
        chosen = rng.choice(prose[:6])
        return Constraint(kind, len(chosen.split()) + rng.randint(0, 2)), prose, chosen
    if kind == "no_letter":
        for letter in rng.sample(LETTERS, len(LETTERS)):
            ok = [t for t in prose[:21] if letter not in t.lower()]
            if ok and sum(letter in t.lower() for t in prose) >= 3:
                return Constraint(kind, letter), prose, rng.choice(ok)
        return Constraint("lowercase"), _cased(prose, "lowercase"), rng.choice(prose[:21]).lower()
    if kind in ("lowercase", "uppercase"):
        base = rng.choice(prose[:21])
        chosen = base.lower() if kind == "lowercase" else base.upper()
        return Constraint(kind), _cased(prose[:21], kind), chosen
    if kind == "bullets":
        pool = _bullets(sentences)
        chosen = rng.choice([t for t in pool if t.startswith("- ") and t.count("\n") < 4])
        return Constraint(kind, chosen.count("\n") + 1), pool, chosen
    phrase = rng.choice(ENDINGS)
    base = rng.choice(prose[:21])
    return Constraint(kind, phrase), _endings(prose[:21], phrase), f"{base} {phrase}"


def _nearness(c: Constraint, text: str) -> float:
    """How close a failing text comes to passing (smaller = harder negative)."""
    if c.kind in ("exact_words", "max_words"):
        return abs(len(text.split()) - c.arg)
    if c.kind == "no_letter":
        return text.lower().count(c.arg)
    if c.kind == "lowercase":
        return sum(ch.isupper() for ch in text)
    if c.kind == "uppercase":
        return sum(ch.islower() for ch in text)
    if c.kind == "bullets":
        n = sum(ln.startswith("- ") for ln in text.splitlines())
        return abs(n - c.arg) if n else 0.5 + abs(text.count("\n") + 1 - c.arg)
    phrase = str(c.arg)
    return 0 if text.endswith(phrase[:-1]) else 1 if phrase in text else 2


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]] | None:
    topic = rng.choice(sorted(TOPICS))
    mode = pick_mode(rng)
    constraint, pool, chosen = _setup(rng, TOPICS[topic], mode)
    prompt = f"{rng.choice(ASKS).format(topic)} {constraint.describe()}"
    failing = sorted({t for t in pool if not constraint.check(t)})
    planned = {
        "short": [t for t in failing if len(t) > len(chosen)],
        "long": [t for t in failing if len(t) < len(chosen)],
    }.get(mode, failing)
    candidates = planned if len(planned) >= 3 else failing
    if len(candidates) < 3 or not constraint.check(chosen):
        return None
    rng.shuffle(candidates)
    candidates.sort(key=lambda t: _nearness(constraint, t))
    hardest = candidates[0]
    rejected = [hardest, *rng.sample(candidates[1:], 2)]
    return prompt, make_row(SUBSET, prompt, chosen, rejected)


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` instruction-following rows of ``split`` drawn from ``rng``."""
    return collect(rng, n, split, SUBSET, _draw)


def check(prompt: str, response: str) -> bool:
    """Whether ``response`` satisfies the constraint stated in ``prompt``."""
    return parse_constraint(prompt).check(response)
