"""More open instructions (our own writing) for the open-prompt head, by task kind rather than by length.

The gap between small and frontier models is widest on multi-step reasoning, code and math (level 2, target 1.0)
and narrow on writing, role-play, extraction and explanations of well-known facts (level 1, target 0.4). Short
trick questions are hard and long constraint-heavy writing is easy, so both are represented at both lengths.
"""

from __future__ import annotations

import itertools
import random

RELATIONS = [
    "{a} has {n} brothers, and each brother has {m} sisters. How many sisters does {a} have, if {a} is a girl?",
    "{a} is {b}'s father's only son's daughter. What is {a} to {b}?",
    "{a} is taller than {b}, and {c} is shorter than {b}. Is {c} taller or shorter than {a}? Explain.",
    "If {a} was born before {b}, and {c} was born after {a} but before {b}, who is the youngest?",
    "{a}'s mother has four children: North, South, East and ... what is the name of the fourth child?",
    "A farmer has {n} sheep and all but {m} run away. How many sheep are left? Explain the trick.",
    "If it takes {n} machines {n} minutes to make {n} widgets, how long do {m} machines take to make {m} widgets?",
    "In a race you overtake the person in second place. What position are you in now, and why?",
    "{a} says: 'I always lie.' Is the statement true or false? Reason it through.",
    "Three switches outside a closed room control one bulb inside. You may enter the room once. How can you tell "
    "which switch controls the bulb?",
]
NAMES = ["Sally", "Omar", "Lena", "Victor", "Mia", "Jonah", "Priya", "Ezra"]
CODE_FORMS = [
    "Fix the bug in this {lang} function:\n```\n{snippet}\n```",
    "What does this {lang} code print, and why?\n```\n{snippet}\n```",
    "Rewrite this {lang} code to be faster and explain the complexity:\n```\n{snippet}\n```",
    "Write unit tests in {lang} for a function that {task}.",
    "Implement a {lang} program that {task}. Handle edge cases.",
    "Given a table orders(id, customer_id, total, created_at), write a SQL query that {sql}.",
    "Write a regular expression that {regex}, and explain each part.",
]
SNIPPETS = [
    "def mean(xs):\n    return sum(xs) / len(xs) + 1",
    "for i in range(len(a)):\n    if a[i] == a[i+1]:\n        del a[i]",
    "function last(arr) { return arr[arr.length]; }",
    "int sum = 0; for (int i = 0; i <= n; i++) sum += arr[i];",
    "def fib(n):\n    return fib(n-1) + fib(n-2)",
    "x = [[0] * 3] * 3\nx[0][0] = 1\nprint(x)",
]
TASKS = [
    "finds the median of two sorted arrays",
    "checks whether a graph is bipartite",
    "computes the number of islands in a grid",
    "finds the shortest path in a weighted graph",
    "schedules meetings into the fewest rooms",
    "evaluates an arithmetic expression with parentheses",
]
SQL = [
    "returns each customer's three largest orders",
    "computes a 7-day moving average of daily revenue",
    "finds customers whose spending grew every month this year",
]
REGEX = ["matches valid IPv4 addresses", "extracts dates in YYYY-MM-DD format", "validates email addresses"]
LANGS = ["Python", "JavaScript", "C++", "Java", "Go"]
EXPLAIN_FORMS = [
    "Describe {topic} in simple terms.",
    "What is {topic}? Give an everyday example.",
    "Summarize what is known about {topic} in two paragraphs.",
    "Explain {topic} to a curious twelve-year-old.",
]
TOPICS = [
    "the greenhouse effect",
    "how the heart pumps blood",
    "the difference between weather and climate",
    "how a rainbow forms",
    "what DNA does",
    "the Industrial Revolution",
    "the role of the Supreme Court",
    "how bees make honey",
    "the main ideas of Stoicism",
    "the history of the Olympic Games",
    "how interest on a savings account works",
    "what an ecosystem is",
]
EXTRACT_FORMS = [
    "Identify the countries, their capitals and the languages spoken in these sentences:\n{text}",
    "From the following review, extract the product, the rating and the main complaint:\n{text}",
    "Classify each of these messages as positive, negative or neutral:\n{text}",
]
EXTRACT_TEXTS = [
    "Lisbon is the heart of Portugal, where Portuguese fills the streets; in Oslo, Norway, people speak Norwegian.",
    "I bought the Aurora kettle last month. Four stars: it boils fast but the lid sticks.",
    "1. Loved the concert! 2. The bus was late again. 3. The meeting is at noon.",
]


def reasoning_prompts(seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for template in RELATIONS:
        for _ in range(3):
            a, b, c = rng.sample(NAMES, 3)
            texts.append(template.format(a=a, b=b, c=c, n=rng.randint(6, 19), m=rng.randint(2, 5)))
    return sorted(set(texts))


def code_prompts(seed: int = 19) -> list[str]:
    rng = random.Random(seed)
    texts = [
        form.format(
            lang=rng.choice(LANGS),
            snippet=rng.choice(SNIPPETS),
            task=rng.choice(TASKS),
            sql=rng.choice(SQL),
            regex=rng.choice(REGEX),
        )
        for form in CODE_FORMS
        for _ in range(5)
    ]
    return sorted(set(texts))


def easy_open_prompts(seed: int = 23) -> list[str]:
    """Explanations of well-known facts and extraction: small models do these about as well (level 1)."""
    rng = random.Random(seed)
    pairs = list(itertools.product(EXPLAIN_FORMS, TOPICS))
    rng.shuffle(pairs)
    texts = [form.format(topic=topic) for form, topic in pairs[:30]]
    texts += [form.format(text=text) for form, text in itertools.product(EXTRACT_FORMS, EXTRACT_TEXTS)]
    return texts


LOOKUP_FORMS = [
    "Who was {person}?",
    "Who was the {relation} of {person}?",
    "When did {person} live?",
    "Where was {person} born?",
    "What is {person} known for?",
    "Which book tells the story of {person}?",
    "What does the name {person} mean?",
]
PERSONS = [
    "Abraham",
    "Sarah",
    "Isaac",
    "Jacob",
    "Joseph",
    "Miriam",
    "Joshua",
    "Deborah",
    "Samuel",
    "Elijah",
    "Elisha",
    "Jeremiah",
    "Nehemiah",
    "Mary Magdalene",
    "Peter",
    "Barnabas",
    "Timothy",
    "Lydia",
    "Augustine",
    "Francis of Assisi",
    "John Wesley",
    "Teresa of Avila",
    "Martin Luther",
    "Thomas Aquinas",
]
RELATIONS_OF = ["father", "mother", "wife", "husband", "brother", "teacher", "son"]


def lookup_prompts(seed: int = 31) -> list[str]:
    """One-line factual lookups (level 0): a short answer any model gives."""
    rng = random.Random(seed)
    return [
        form.format(person=person, relation=rng.choice(RELATIONS_OF))
        for person in PERSONS
        for form in rng.sample(LOOKUP_FORMS, 2)
    ]
