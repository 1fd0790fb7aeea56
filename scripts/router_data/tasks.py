"""Template-generated assistant tasks (our own writing) that separate what small models do well from what they do
badly: fluent writing, role-play, extraction and explanatory prose (level 1, target 0.4) versus logic puzzles, code
and formal math (level 2, target 1.0). The split follows the widely reported gap between small and frontier models:
they write comparably well and diverge on multi-step reasoning, code and math."""

from __future__ import annotations

import itertools
import random

WRITING_FORMS = ["a short blog post", "a poem", "a thank-you note", "a newsletter paragraph", "a product description",
                 "a persuasive paragraph", "a short story opening", "a limerick", "a speech introduction",
                 "a friendly reminder email", "a social media post", "a children's story"]
WRITING_TOPICS = ["a spring retreat in the mountains", "our new community garden", "volunteering at a shelter",
                  "a summer mission trip to Guatemala", "the joy of choir practice", "a town's harvest festival",
                  "learning to bake bread", "a rainy afternoon in Paris", "a family reunion", "a dog who loves hymns",
                  "the first day at a new school", "a lighthouse keeper"]
ROLEPLAY = ["Pretend you are a tour guide in ancient Rome and welcome a group of visitors.",
            "Act as a friendly librarian recommending three classic novels to a teenager.",
            "You are a medieval monk; describe your morning routine in the first person.",
            "Role-play as a barista taking my order and chatting about the weather.",
            "Imagine you are a ship's captain and give a short pep talk to your crew before a storm.",
            "Pretend to be a museum docent explaining a famous painting to children.",
            "Act as a job interviewer and ask me three questions for a receptionist position.",
            "Speak as a wise grandmother giving advice to a newlywed couple."]
EXTRACTION_TEXTS = [
    "Dear team, the retreat will be held on June 14 at Pine Lake Lodge. Registration closes May 30 and costs $85.",
    "Minutes: attendance 42; budget approved 5-2; next meeting March 3 at 7pm in the fellowship hall.",
    "Order #4471: 12 hymnals ($14 each), 3 candles ($6 each), shipped to 18 Oak Street, Dayton, OH.",
    "Speakers: Dr. Ana Ruiz (keynote, 9am), Rev. Tom Hale (workshop, 11am), Ms. Lin Wu (panel, 2pm).",
]
EXTRACTION_ASKS = ["Extract all dates and amounts from this text as a list", "Turn this into a JSON object",
                   "List the people and their roles mentioned here", "Summarize this in one sentence"]
EXPLAIN_TOPICS = ["photosynthesis", "how vaccines work", "the water cycle", "why the sky is blue", "inflation",
                  "the causes of the French Revolution", "what a sonnet is", "how a bill becomes law",
                  "the history of the printing press", "supply and demand", "the Renaissance", "plate tectonics",
                  "the origins of Christmas traditions", "the role of monasteries in medieval Europe"]
PUZZLES = [
    "Five friends sit in a row. {a} is left of {b}, {c} is at an end, {d} sits between {a} and {e}. Who is in the "
    "middle? Explain your reasoning.",
    "If all {x} are {y} and some {y} are {z}, can we conclude that some {x} are {z}? Justify with a counterexample "
    "or proof.",
    "{a} is older than {b}. {c} is younger than {b} but older than {d}. {e} is older than {a}. Rank them from "
    "oldest to youngest and explain each inference.",
    "A says 'B is lying', B says 'C is lying', C says 'A and B are both lying'. Who is telling the truth? Prove it.",
    "There are three boxes labelled {x}, {y} and mixed, and every label is wrong. You may take one item from one "
    "box. Which box do you choose and how do you relabel all three?",
]
NAMES = ["Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Gwen", "Hugo"]
KINDS = ["apples", "oranges", "pastors", "teachers", "singers", "readers", "bakers", "artists"]
CODE_LANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C++", "SQL"]
CODE_TASKS = ["finds the longest palindromic substring", "merges overlapping intervals",
              "implements binary search on a rotated sorted array", "parses a CSV line with quoted commas",
              "detects a cycle in a linked list", "computes the edit distance between two strings",
              "serializes and deserializes a binary tree", "implements an LRU cache",
              "returns the k most frequent words in a text", "validates balanced brackets with a stack"]
MATH = ["Find all real solutions of x^3 - 6x^2 + 11x - 6 = 0 and verify them.",
        "Prove that there are infinitely many prime numbers.",
        "Compute the derivative of f(x) = x^2 * ln(x) and find its minimum on (0, inf).",
        "What is the probability of getting at least two sixes in five rolls of a fair die? Show the calculation.",
        "Solve the system 3x + 2y = 16 and 5x - y = 18, then check the solution.",
        "Evaluate the integral of x * e^x from 0 to 1 step by step.",
        "How many ways can 8 people be seated around a round table if two of them refuse to sit together?",
        "Find the area of a triangle with vertices (0,0), (4,1) and (1,5), then its circumradius."]


def writing_tasks(rng: random.Random) -> list[str]:
    pairs = list(itertools.product(WRITING_FORMS, WRITING_TOPICS))
    rng.shuffle(pairs)
    phrasing = ["Write {form} about {topic}.", "Compose {form} about {topic}.", "Draft {form} on {topic}."]
    return [rng.choice(phrasing).format(form=form, topic=topic) for form, topic in pairs[:40]]


def moderate_tasks(seed: int = 5) -> list[str]:
    """Level-1 tasks: writing, role-play, extraction, explanation."""
    rng = random.Random(seed)
    texts = writing_tasks(rng) + ROLEPLAY
    texts += [f"{ask}:\n{text}" for ask, text in itertools.product(EXTRACTION_ASKS, EXTRACTION_TEXTS)]
    texts += [f"Explain {topic} in a few paragraphs for a general audience." for topic in EXPLAIN_TOPICS]
    return texts + long_creative_tasks()


def hard_tasks(seed: int = 5) -> list[str]:
    """Level-2 tasks: logic puzzles, code, math."""
    rng = random.Random(seed)
    texts = []
    for template in PUZZLES:
        for _ in range(4):
            a, b, c, d, e = rng.sample(NAMES, 5)
            x, y, z = rng.sample(KINDS, 3)
            texts.append(template.format(a=a, b=b, c=c, d=d, e=e, x=x, y=y, z=z))
    pairs = list(itertools.product(CODE_LANGS, CODE_TASKS))
    rng.shuffle(pairs)
    texts += [f"Write a {lang} function that {task}, and analyze its complexity." for lang, task in pairs[:30]]
    return texts + MATH + math_tasks()


PERSONAS = ["a pirate captain", "Sherlock Holmes", "a 1920s radio announcer", "a famous chef", "a medieval knight",
            "a kindly astronaut", "a sports commentator", "a Victorian poet", "a wise old gardener", "a tech CEO"]
TONES = ["warm", "playful", "formal", "inspiring", "humorous", "nostalgic"]
DETAILS = ["a surprising twist", "three vivid sensory details", "a quote from a friend", "a call to action",
           "a short anecdote", "a rhetorical question", "a list of tips", "a memorable final line"]


def long_creative_tasks(seed: int = 9) -> list[str]:
    """Long, constraint-heavy writing and role-play requests: long is not the same as hard (level 1)."""
    rng = random.Random(seed)
    texts = []
    for persona in PERSONAS:
        topic = rng.choice(WRITING_TOPICS)
        texts.append(
            f"Pretend you are {persona}. Stay in character for the rest of our conversation: speak as {persona} "
            f"would, use their typical vocabulary and expressions, and never mention that you are an assistant. "
            f"Our first topic is {topic}. Keep each answer under 150 words and ask me a question at the end."
        )
    for form, topic in rng.sample(list(itertools.product(WRITING_FORMS, WRITING_TOPICS)), 24):
        first, second, third = rng.sample(DETAILS, 3)
        texts.append(
            f"Write {form} about {topic}. It should be about {rng.choice([150, 200, 300, 400])} words long, use a "
            f"{rng.choice(TONES)} tone, and include {first}, {second} and {third}. Use short paragraphs, avoid "
            f"cliches, and give it a catchy title."
        )
    return texts


def math_tasks(seed: int = 13) -> list[str]:
    """Open-ended math requests with fresh numbers (level 2)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(6):
        a, b, c, d = (rng.randint(2, 19) for _ in range(4))
        texts.append(f"Solve for x: {a}x + {b} = {c}x - {d}. Then check your answer.")
        texts.append(f"If f(x) = {a}x^2 - {b}x + {c}, what is f(f({rng.randint(1, 4)}))?")
        texts.append(
            f"A rectangle's length is {a} cm more than twice its width and its perimeter is {10 * (b + c)} cm. "
            f"Find its area."
        )
        texts.append(
            f"A bag has {a} red, {b} blue and {c} green marbles. Two are drawn without replacement. What is the "
            f"probability that they are different colours?"
        )
        texts.append(f"What is the sum of all integers between {a * 10} and {a * 10 + 200} that are divisible by {d}?")
    return texts
