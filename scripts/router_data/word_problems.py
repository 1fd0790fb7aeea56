"""Template-generated arithmetic word problems (our own writing), labelled by their number of reasoning steps.

Small models solve one- and two-step arithmetic reliably and break down as steps pile up, so the target rises with
the step count: 1 step -> 0.0, 2 -> 0.25, 3 -> 0.5, 4 -> 0.75, 5 or more -> 1.0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PEOPLE = ["Maria", "the youth pastor", "Deacon James", "Ruth", "the choir director", "Samuel", "Grace", "Tomas",
          "the food pantry", "Pastor Lee", "Esther", "the Sunday school class", "Daniel", "Naomi", "the bookshop"]
ITEMS = [("candles", "candle"), ("hymnals", "hymnal"), ("loaves", "loaf"), ("chairs", "chair"),
         ("Bibles", "Bible"), ("care packages", "care package"), ("cookies", "cookie"), ("tickets", "ticket"),
         ("blankets", "blanket"), ("notebooks", "notebook")]


@dataclass(frozen=True, slots=True)
class WordProblem:
    text: str
    steps: int

    @property
    def target(self) -> float:
        return min(1.0, (self.steps - 1) / 4)


def _step(rng: random.Random, plural: str, singular: str) -> str:
    kind = rng.randrange(8)
    n = rng.randint(2, 60)
    if kind == 0:
        return f"Then {rng.choice(PEOPLE)} donates {n} more {plural}."
    if kind == 1:
        return f"{rng.randint(2, 9)} of the {plural} are damaged and thrown away."
    if kind == 2:
        return f"Next, the number of {plural} is {rng.choice(['doubled', 'tripled'])} for the festival."
    if kind == 3:
        return f"Then {rng.randint(10, 50)}% of the {plural} are given to a neighbouring parish."
    if kind == 4:
        return f"Each {singular} costs ${rng.randint(2, 25)}, and they buy {n} more with the offering."
    if kind == 5:
        return f"They split the {plural} equally into {rng.randint(2, 8)} boxes and keep only one box."
    if kind == 6:
        return f"Every week for {rng.randint(2, 6)} weeks they receive another {rng.randint(3, 15)} {plural}."
    return f"{rng.randint(2, 12)} volunteers each take {rng.randint(1, 5)} {plural} home."


def word_problem(rng: random.Random, steps: int) -> WordProblem:
    plural, singular = rng.choice(ITEMS)
    who = rng.choice(PEOPLE)
    opening = f"{who.capitalize() if who[0].islower() else who} has {rng.randint(12, 400)} {plural}."
    sentences = [opening] + [_step(rng, plural, singular) for _ in range(steps - 1)]
    ending = rng.choice([
        f"How many {plural} are left?",
        f"How many {plural} does {who} have now?",
        f"If each {singular} sells for ${rng.randint(2, 20)}, how much money is raised?",
    ])
    if steps == 1:
        ending = rng.choice([f"How many {plural} is that?", f"How many {plural} are there?"])
    return WordProblem(" ".join([*sentences, ending]), steps)


def word_problems(count: int = 160, seed: int = 11) -> list[WordProblem]:
    rng = random.Random(seed)
    return [word_problem(rng, 1 + index % 7) for index in range(count)]
