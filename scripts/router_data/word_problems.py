"""Template-generated arithmetic word problems (our own writing), labelled by their number of reasoning steps.

Small models solve one- and two-step arithmetic reliably and break down as steps pile up, so the target rises with
the step count: 1 step -> 0.0, 2 -> 0.25, 3 -> 0.5, 4 -> 0.75, 5 or more -> 1.0. A step is one arithmetic operation
the solver must carry out; clauses that hide two operations (a percentage of a changed amount, a rate over a
converted unit of time, "twice as many as ... plus ...") count as two. Numbers are sometimes written as words, as in
real word problems.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

PEOPLE = [
    "Maria",
    "the youth pastor",
    "Deacon James",
    "Ruth",
    "the choir director",
    "Samuel",
    "Grace",
    "Tomas",
    "the food pantry",
    "Pastor Lee",
    "Esther",
    "the Sunday school class",
    "Daniel",
    "Naomi",
    "the bookshop",
    "Aunt Bea",
    "Mr. Okafor",
    "the scout troop",
    "Priya",
    "the bakery",
]
ITEMS = [
    ("candles", "candle"),
    ("hymnals", "hymnal"),
    ("loaves", "loaf"),
    ("chairs", "chair"),
    ("Bibles", "Bible"),
    ("care packages", "care package"),
    ("cookies", "cookie"),
    ("tickets", "ticket"),
    ("blankets", "blanket"),
    ("notebooks", "notebook"),
    ("apples", "apple"),
    ("stamps", "stamp"),
    ("seedlings", "seedling"),
    ("jars of jam", "jar of jam"),
    ("postcards", "postcard"),
]
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


@dataclass(frozen=True, slots=True)
class WordProblem:
    text: str
    steps: int

    @property
    def target(self) -> float:
        return min(1.0, (self.steps - 1) / 4)


def _n(rng: random.Random, low: int, high: int) -> str:
    value = rng.randint(low, high)
    return NUMBER_WORDS[value] if value < len(NUMBER_WORDS) and rng.random() < 0.4 else str(value)


Step = Callable[[random.Random, str, str], tuple[str, int]]


def _donate(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"Then {rng.choice(PEOPLE)} donates {_n(rng, 2, 60)} more {plural}.", 1


def _discard(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"{_n(rng, 2, 9).capitalize()} of the {plural} are damaged and thrown away.", 1


def _scale(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"Next, the number of {plural} is {rng.choice(['doubled', 'tripled', 'halved'])} for the festival.", 1


def _percent(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"Then {rng.choice([10, 20, 25, 40, 50, 75])}% of the {plural} are given to a neighbouring parish.", 2


def _fraction(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    part = rng.choice(["a third", "a quarter", "two fifths", "half", "three quarters"])
    return f"{part.capitalize()} of the remaining {plural} go to the youth group.", 2


def _buy(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"Each {singular} costs ${rng.randint(2, 25)}, and they buy {_n(rng, 2, 40)} more with the offering.", 1


def _split(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"They split the {plural} equally into {_n(rng, 2, 8)} boxes and keep only one box.", 1


def _weekly(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"Every week for {_n(rng, 2, 6)} weeks they receive another {rng.randint(3, 15)} {plural}.", 2


def _volunteers(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return f"{_n(rng, 2, 12).capitalize()} volunteers each take {_n(rng, 1, 5)} {plural} home.", 2


def _rate(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    minutes = rng.choice([10, 12, 15, 20, 30])
    return (
        f"A helper packs one {singular} every {minutes} minutes and works for {_n(rng, 2, 6)} hours, "
        f"adding what she packs."
    ), 3


def _compare(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    other = rng.choice(PEOPLE)
    return (
        f"{other.capitalize() if other[0].islower() else other} has {rng.choice(['twice', 'three times'])} "
        f"as many {plural} as that, minus {_n(rng, 2, 10)}, and gives them all to the group too."
    ), 3


def _convert(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    dozens = _n(rng, 2, 9)
    return f"A supporter sends {dozens} dozen {plural}, and {rng.randint(3, 11)} of those arrive broken.", 2


def _price_change(rng: random.Random, plural: str, singular: str) -> tuple[str, int]:
    return (
        f"The price of each {singular} was ${rng.randint(4, 30)} but rises by {rng.choice([10, 15, 20, 25])}% "
        f"before they buy {_n(rng, 3, 12)} more."
    ), 3


SIMPLE_STEPS: tuple[Step, ...] = (_donate, _discard, _scale, _buy, _split)
COMPOUND_STEPS: tuple[Step, ...] = (_percent, _fraction, _weekly, _volunteers, _rate, _compare, _convert, _price_change)


def word_problem(rng: random.Random, target_steps: int) -> WordProblem:
    """A problem of about `target_steps` operations (the label is the exact count of the clauses drawn)."""
    plural, singular = rng.choice(ITEMS)
    who = rng.choice(PEOPLE)
    opening = f"{who.capitalize() if who[0].islower() else who} has {rng.randint(12, 400)} {plural}."
    sentences = [opening]
    steps = 0
    compound_share = rng.random()
    while steps < target_steps - 1:  # the opening's follow-up or the ending adds the last step
        kind = rng.choice(COMPOUND_STEPS if rng.random() < compound_share else SIMPLE_STEPS)
        sentence, cost = kind(rng, plural, singular)
        sentences.append(sentence)
        steps += cost
    endings = [
        (f"How many {plural} are left?", 0),
        (f"How many {plural} does {who} have now?", 0),
        (f"If each {singular} sells for ${rng.randint(2, 20)}, how much money is raised?", 1),
    ]
    ending, cost = rng.choice(endings)
    if steps == 0:
        ending, cost = rng.choice([(f"How many {plural} is that?", 0), (f"How many {plural} are there?", 0)])
        sentences[0] = f"{sentences[0][:-1]} and gets {_n(rng, 2, 30)} more."
    return WordProblem(" ".join([*sentences, ending]), max(steps + cost, 1))


def word_problems(count: int = 480, seed: int = 11) -> list[WordProblem]:
    rng = random.Random(seed)
    return [word_problem(rng, 1 + index % 8) for index in range(count)]


def _classic(rng: random.Random) -> WordProblem:
    """Common textbook forms with their usual number of operations."""
    kind = rng.randrange(8)
    a, b = rng.randint(3, 15), rng.randint(16, 60)
    who = rng.choice(["Lena", "Marcus", "Ines", "Kofi", "Hana", "Pedro"])
    if kind == 0:
        text = f"A box holds {_n(rng, 6, 12)} candles. How many candles are in {_n(rng, 2, 9)} boxes?"
        return WordProblem(text, 1)
    if kind == 1:
        text = (
            f"{who} bakes {b} rolls and gives {_n(rng, 2, 12)} to each of {_n(rng, 2, 4)} neighbours. "
            f"How many rolls are left?"
        )
        return WordProblem(text, 2)
    if kind == 2:
        text = (
            f"A shop sells mugs at ${a} and plates at ${a + rng.randint(2, 9)}. Last week it sold {b} items "
            f"and took in ${b * a + rng.randint(20, 90)}. How many plates did it sell?"
        )
        return WordProblem(text, 4)
    if kind == 3:
        text = (
            f"A coat costs ${b * 5}. It is discounted by {rng.choice([10, 20, 25, 30])}%, and then a sales tax "
            f"of {rng.choice([5, 8, 10])}% is added to the discounted price. What is the final price?"
        )
        return WordProblem(text, 4)
    if kind == 4:
        text = (
            f"{who} can paint a fence in {_n(rng, 2, 6)} hours and her brother can paint it in "
            f"{rng.randint(3, 9)} hours. How long does it take them working together, in minutes?"
        )
        return WordProblem(text, 5)
    if kind == 5:
        text = (
            f"In {_n(rng, 2, 10)} years, {who} will be twice as old as her cousin. Her cousin is {a} now. "
            f"How old is {who} now, and how old was she {_n(rng, 2, 5)} years ago?"
        )
        return WordProblem(text, 4)
    if kind == 6:
        text = (
            f"A bus travels {b} km in {rng.choice([20, 30, 40, 45])} minutes. At the same speed, how far does "
            f"it travel in {_n(rng, 2, 5)} hours and {rng.choice([15, 30])} minutes?"
        )
        return WordProblem(text, 4)
    text = (
        f"{who} buys {_n(rng, 2, 8)} notebooks at ${a} each and {_n(rng, 2, 6)} pens at ${rng.randint(1, 4)} "
        f"each, and pays with a ${rng.choice([50, 100, 200])} bill. How much change does {who} get?"
    )
    return WordProblem(text, 4)


def classic_word_problems(count: int = 120, seed: int = 29) -> list[WordProblem]:
    rng = random.Random(seed)
    problems = [_classic(rng) for _ in range(count)]
    return [
        WordProblem(f"{p.text} Show your work.", p.steps) if index % 3 == 0 else p for index, p in enumerate(problems)
    ]
