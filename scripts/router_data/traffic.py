"""Hand-written product traffic for training the complexity router (our own writing; ships with the repo).

Each example is (text, level, facts) with level 0 = simple (tier_1), 1 = moderate (tier_2), 2 = complex
(tier_3).
Templates multiply a few hand-written phrasings by fillers so the router sees varied wording; the test
suite uses
different, separately written sentences.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from router_data.open_handwritten import EASY_OPEN, HARD_OPEN
from router_data.open_tasks import code_prompts, easy_open_prompts, lookup_prompts, reasoning_prompts
from router_data.product_requests import CODE_REQUESTS, LOOKUPS, SCRIPTURE_TASKS, SHORT_COMPARATIVE
from router_data.tasks import hard_tasks, moderate_tasks
from router_data.word_problems import classic_word_problems, word_problems
from router_data.word_problems_handwritten import handwritten_word_problems


@dataclass(frozen=True, slots=True)
class TrafficExample:
    text: str
    level: int
    user_turns: int = 1
    has_tools: bool = False
    grounded: bool = False
    target: float | None = None
    """Training target in 0..1; defaults to level / 2."""

    @property
    def training_target(self) -> float:
        return self.target if self.target is not None else self.level / 2


GREETINGS = [
    "hi",
    "hello",
    "hey there",
    "good morning",
    "good evening!",
    "hello, how are you?",
    "hi homily",
    "hey, anyone there?",
    "good afternoon",
    "greetings!",
    "hi :)",
    "morning!",
    "hello again",
    "yo",
    "hey how's it going",
    "good night, talk tomorrow",
    "bye for now",
    "see you later",
    "goodbye!",
]
THANKS = [
    "thanks",
    "thank you!",
    "thanks so much",
    "thank you, that helps",
    "great, thanks",
    "ok thanks",
    "perfect, thank you",
    "much appreciated",
    "that's helpful, thanks!",
    "cool",
    "ok",
    "got it",
    "amen, thank you",
    "thx",
    "awesome thanks",
    "blessings to you",
    "that was exactly what I needed",
    "yes please",
    "no thanks",
]
BOOKS = [
    "John",
    "Romans",
    "Psalm",
    "Genesis",
    "Matthew",
    "Isaiah",
    "Proverbs",
    "Luke",
    "Ephesians",
    "Hebrews",
    "1 Corinthians",
    "Philippians",
    "James",
    "Micah",
    "Exodus",
    "Mark",
    "Galatians",
    "Ruth",
]
LOOKUP_TEMPLATES = [
    "What does {book} {ch}:{v} say?",
    "quote {book} {ch}:{v}",
    "{book} {ch}:{v} please",
    "Show me {book} {ch}:{v}",
    "what's {book} {ch}:{v}",
    "Read {book} {ch}:{v} in the KJV",
    "Give me the text of {book} {ch}:{v}",
    "look up {book} {ch}:{v}",
]
FACT_LOOKUPS = [
    "Who wrote the book of Romans?",
    "How many books are in the Bible?",
    "When is Easter this year?",
    "What is the first book of the Bible?",
    "Who was Moses' brother?",
    "Where was Jesus born?",
    "What day is Pentecost?",
    "Who is the author of Pilgrim's Progress?",
    "What does 'gospel' mean?",
    "How many disciples did Jesus have?",
    "What is Advent?",
    "Who was King David's father?",
    "What language was the New Testament written in?",
    "What is the shortest verse in the Bible?",
    "Define grace.",
    "Spell 'Ecclesiastes'",
    "What time is the Sunday service usually?",
    "Who baptized Jesus?",
    "What is the capital of Israel?",
    "What year did Luther post the 95 theses?",
    "Which gospel is the shortest?",
    "What is Lent?",
    "Name the twelve tribes of Israel.",
    "What is the Lord's Prayer?",
    "Who was Paul's companion on his first journey?",
    "what is a psalm",
    "Translate 'shalom'",
    "What's the opposite of humble?",
    "How do you pronounce Habakkuk?",
]
MODERATE = [
    "Summarize the parable of the prodigal son in a paragraph.",
    "Write a short prayer for a friend who is starting a new job.",
    "Explain what the Beatitudes are in simple terms.",
    "Draft a friendly email inviting volunteers to the food pantry on Saturday.",
    "Give me three discussion questions for a youth group on forgiveness.",
    "What is the main message of the book of Jonah?",
    "Suggest five hymns about hope for a funeral service.",
    "Rewrite this announcement to sound warmer: 'Choir practice moved to 7pm.'",
    "Explain the difference between a parable and an allegory briefly.",
    "List the fruits of the Spirit and give a one-line example of each.",
    "Write a two-sentence welcome for first-time visitors.",
    "What did Jesus mean by 'the kingdom of God is within you'?",
    "Summarize Psalm 23 for a children's lesson.",
    "Give me a short devotional thought on patience.",
    "Outline a 20-minute small group meeting about prayer.",
    "Turn these notes into a bulletin paragraph: potluck, Sunday noon, bring a dish.",
    "Explain what the Trinity means in a few sentences for a new believer.",
    "Convert 3/4 cup to tablespoons for the church bake sale recipe.",
    "Describe the setting of the Sermon on the Mount.",
    "Suggest a title for a sermon on Ruth's loyalty.",
    "Write a haiku about Easter morning.",
    "What are the seven sacraments in Catholic teaching?",
    "Give a brief overview of the book of Acts.",
    "Paraphrase Romans 8:28 in modern English.",
]
COMPLEX_THEOLOGY = [
    "Compare and contrast the Catholic, Lutheran and Reformed understandings of the Eucharist, including "
    "transubstantiation, sacramental union and spiritual presence, and explain the historical debates behind "
    "each.",
    "Analyze how Augustine's and Pelagius's views on grace and free will differ, and evaluate how the "
    "Council of "
    "Orange and later the Reformers responded. Cite primary sources where possible.",
    "Write a 2,000-word essay comparing Calvinist and Arminian soteriology, weighing the strongest "
    "scriptural "
    "arguments on each side and the pastoral implications for assurance of salvation.",
    "Explain the development of Trinitarian doctrine from Nicaea to Chalcedon, why the filioque clause "
    "caused the "
    "East-West schism, and how modern ecumenical dialogues have approached it.",
    "Critically assess N. T. Wright's reading of justification in Paul against the traditional Reformed "
    "view, "
    "with attention to Romans 3-4 and Galatians 2-3.",
    "How do Thomas Aquinas's five ways relate to Kant's critique of the cosmological argument? Evaluate "
    "whether "
    "the critique succeeds and what a contemporary Thomist would reply.",
    "Develop a 12-week curriculum on the history of Christian doctrine, with learning objectives, readings "
    "from "
    "primary sources, and assessment rubrics for each week.",
    "Compare the theology of the atonement in Anselm, Abelard and Aulén, and explain which models appear in "
    "Hebrews and in Isaiah 53 and why interpreters disagree.",
    "Trace the debate over biblical inerrancy from the Chicago Statement to recent evangelical scholarship "
    "and "
    "analyze the hermeneutical assumptions each side makes about genre and authorial intent.",
    "Evaluate the arguments for and against infant baptism from covenant theology, the early church fathers "
    "and "
    "credobaptist readings of Acts, then propose how a mixed congregation could handle both practices.",
    "Explain the synoptic problem, compare the two-source hypothesis with the Farrer hypothesis, and assess "
    "the "
    "evidence from Q material in Matthew and Luke step by step.",
    "Write a sermon series outline on Romans 9-11 that addresses election, Israel and the church, engaging "
    "dispensational, covenantal and new perspective readings.",
]
COMPLEX_REASONING = [
    "A church has 240 members; 35% attend the early service and 3/8 of the rest attend the late service. If "
    "attendance at each grows 12% next year, how many people will skip both services? Show each step.",
    "Our ministry budget is $84,000. Missions gets 22%, staff gets $31,500, and the remainder is split "
    "between "
    "youth and facilities in a 3:2 ratio. Youth then loses 15% to cover a shortfall. Work out every "
    "allocation.",
    "Three volunteers can pack 450 food boxes in 6 hours. How long would 5 volunteers take to pack 1,200 "
    "boxes if "
    "the two new volunteers work at two-thirds the speed? Explain your reasoning.",
    "If every statement on the sign is false except one, and the signs read 'the treasure is not here', 'the "
    "treasure is in room 2', 'room 3 is empty', which room holds the treasure? Prove it.",
    "Prove that the sum of the first n odd numbers is n squared, then generalize to the sum of the first n "
    "terms "
    "of any arithmetic sequence.",
    "A loan of $250,000 at 6.5% annual interest compounded monthly is repaid over 30 years. Derive the "
    "monthly "
    "payment formula and compute the total interest paid.",
    "Estimate how many hours of audio it would take to read the entire Bible aloud at 150 words per minute, "
    "stating your assumptions about word counts for each translation.",
    "Plan a seating arrangement for 9 families at 3 tables so that no two families who conflict sit "
    "together, "
    "given these conflicts: A-B, B-C, D-E, F-G, A-H, C-I. Determine whether it is possible and why.",
]
COMPLEX_CODE = [
    "Write a Python function that parses Bible references like 'Rom 8:28-30; Jn 3:16' into structured "
    "ranges, "
    "with unit tests for edge cases.",
    "Implement a REST API in TypeScript for church event registration with authentication, rate limiting and "
    "a "
    "PostgreSQL schema. Explain the design decisions.",
    "Debug this code: def avg(xs): return sum(xs)/len(xs) if xs else None; it crashes on generators. Fix it "
    "and "
    "explain why, then make it work for streaming data in O(1) memory.",
    "Design a SQL schema for a multi-campus church with members, small groups, donations and attendance, "
    "then "
    "write queries for monthly giving trends per campus.",
    "Write a JavaScript function that debounces search input and cancels in-flight fetch requests, with "
    "TypeScript types and tests.",
    "Refactor this class to use dependency injection and write pytest fixtures for it: class Mailer: def "
    "__init__(self): self.smtp = smtplib.SMTP('localhost')",
    "Implement an algorithm to schedule worship teams across 52 Sundays so nobody serves more than twice a "
    "month, "
    "and analyze its time complexity.",
    "Write a regex and a Python parser that extracts dates in five formats from sermon transcripts, and "
    "explain "
    "the failure modes.",
    "Build a Rust CLI that reads a CSV of donations, groups them by donor and year, and prints a tax receipt "
    "summary; include error handling.",
]
COMPLEX_ANALYSIS = [
    "Analyze the pros and cons of moving our congregation from paper to online giving, considering elderly "
    "members, fees, security, and the theological meaning of offering, and recommend a phased plan.",
    "Evaluate three strategies for reversing declining youth attendance, estimate their costs and likely "
    "impact, "
    "and justify which one a 150-member rural church should try first.",
    "Write a detailed grant proposal for a community literacy program, including needs assessment, "
    "measurable "
    "outcomes, budget justification and an evaluation plan.",
    "Compare the ethical frameworks of virtue ethics, deontology and consequentialism as applied to "
    "end-of-life "
    "care decisions, and explain how Christian traditions have engaged each one.",
]
TOOL_REQUESTS = [
    "Check the weather for Saturday's outdoor service and tell me if we should move it inside.",
    "Look up the next three events on the church calendar.",
    "Find tomorrow's volunteer schedule and text the people who haven't confirmed.",
]
FOLLOW_UPS = [
    "Can you make it shorter?",
    "Now in Spanish please.",
    "Add one more example.",
    "And what about Luke's version?",
    "Please rewrite it more formally.",
    "Say that again more simply.",
]


def _lookups(rng: random.Random) -> list[str]:
    refs = [(book, rng.randint(1, 20), rng.randint(1, 30)) for book in BOOKS]
    combos = itertools.product(LOOKUP_TEMPLATES, refs)
    return [
        template.format(book=book, ch=ch, v=v) for template, (book, ch, v) in combos if rng.random() < 0.35
    ]


def _level_of_steps(steps: int) -> int:
    return 0 if steps == 1 else (1 if steps <= 3 else 2)


def traffic_examples(seed: int = 7) -> list[TrafficExample]:
    """The full labelled set (deterministic for a seed)."""
    rng = random.Random(seed)
    simple = GREETINGS + THANKS + FACT_LOOKUPS + _lookups(rng) + lookup_prompts() + list(LOOKUPS)
    examples = [TrafficExample(text, 0) for text in simple]
    examples += [TrafficExample(text, 0, user_turns=rng.randint(2, 6)) for text in THANKS + FOLLOW_UPS[:3]]
    examples += [TrafficExample(text, 1, target=0.45) for text in MODERATE]
    examples += [TrafficExample(text, 1, user_turns=rng.randint(2, 5)) for text in FOLLOW_UPS]
    examples += [TrafficExample(text, 1, has_tools=True) for text in TOOL_REQUESTS]
    examples += [TrafficExample(text, 1, grounded=True) for text in MODERATE[::3]]
    complex_texts = COMPLEX_THEOLOGY + COMPLEX_REASONING + COMPLEX_CODE + COMPLEX_ANALYSIS
    examples += [TrafficExample(text, 2, target=0.85) for text in COMPLEX_THEOLOGY + COMPLEX_ANALYSIS]
    examples += [TrafficExample(text, 2) for text in COMPLEX_REASONING + COMPLEX_CODE]
    examples += [TrafficExample(text, 2, grounded=True, target=0.85) for text in COMPLEX_THEOLOGY[::2]]
    examples += [TrafficExample(text, 1, target=0.4) for text in moderate_tasks()]
    examples += [TrafficExample(text, 2) for text in hard_tasks()]
    examples += [TrafficExample(text, 2) for text in reasoning_prompts() + code_prompts()]
    examples += [TrafficExample(text, 1, target=0.4) for text in easy_open_prompts()]
    examples += [TrafficExample(text, 1, target=0.4) for text in EASY_OPEN]
    examples += [TrafficExample(text, 2) for text in HARD_OPEN]
    examples += [TrafficExample(text, 2) for text in CODE_REQUESTS]
    examples += [TrafficExample(text, 2, target=0.85) for text in SHORT_COMPARATIVE]
    examples += [TrafficExample(text, 1, target=0.4) for text in SCRIPTURE_TASKS]
    examples += [
        TrafficExample(problem.text, _level_of_steps(problem.steps), target=problem.target)
        for problem in word_problems() + classic_word_problems() + handwritten_word_problems()
    ]
    examples += [TrafficExample(text, 2, user_turns=rng.randint(2, 8)) for text in complex_texts[::3]]
    return examples
