"""Hand-written open instructions (our own writing, not templates) labelled by task kind: 1 where small models are
widely reported to fall behind frontier models (multi-step reasoning, math, code), 0 where they are about as good
(writing, role-play, extraction, explanations of well-known science and history, advice). Used only to *select* the
open head's inputs and regularisation (Spearman of its score with the label); never trained on."""

from __future__ import annotations

OPEN_VALIDATION: tuple[tuple[str, int], ...] = (
    ("Write a cheerful limerick about a cat who is afraid of mice.", 0),
    ("Draft a short speech for a retirement party honouring a school librarian of thirty years.", 0),
    ("Compose a product description for a hand-made wooden chess set, about 120 words, warm and elegant.", 0),
    ("Write a letter to a pen pal in Japan describing a typical autumn weekend in your town.", 0),
    ("Create a short bedtime story about a turtle who wants to fly, suitable for a four-year-old.", 0),
    ("Imagine you are a medieval blacksmith. Describe your workshop and a typical day to a visiting traveller.", 0),
    ("You are a cheerful fitness coach. Motivate me to go for a run on a cold, rainy morning.", 0),
    ("Act as a travel agent and suggest a relaxed three-day itinerary for Lisbon for a retired couple.", 0),
    ("Pretend to be a detective in 1940s Los Angeles and narrate how you meet a mysterious new client.", 0),
    (
        "From the paragraph below, list every person mentioned and their job.\nAt the fair, Dr. Amal Haddad, a "
        "veterinarian, judged the goats while Tom Reyes, a carpenter, built the stage and Ana Lima sold lemonade.",
        0,
    ),
    (
        "Summarize this email in one sentence: 'Hi all, the quarterly review moves from Tuesday to Thursday at 3pm "
        "because the CFO is travelling. Please update your slides by Wednesday noon. Thanks, Priya.'",
        0,
    ),
    (
        "Extract the dates, places and prices from this notice as a table: 'Concerts: 12 May, Town Hall, $15; "
        "19 May, Riverside Park, free; 2 June, Old Church, $10.'",
        0,
    ),
    ("Explain how photosynthesis converts sunlight into chemical energy, for a high-school student.", 0),
    ("What causes the seasons on Earth? Keep it short and clear.", 0),
    ("Describe the main causes and consequences of the fall of the Western Roman Empire.", 0),
    ("What were the most important effects of the invention of the printing press on European society?", 0),
    ("Give me five tips for keeping houseplants alive in a dark apartment.", 0),
    ("How do I politely decline a wedding invitation from a colleague?", 0),
    ("Suggest a name and a slogan for a small bakery that specialises in sourdough bread.", 0),
    ("Rewrite this sentence to sound more formal: 'We gotta fix the printer before the boss freaks out.'", 0),
    ("Solve the equation 2x^2 - 7x + 3 = 0 and check both roots.", 1),
    ("Prove that the square root of 3 is irrational.", 1),
    ("How many different ways can the letters of the word LETTER be arranged?", 1),
    ("A fair coin is flipped 6 times. What is the probability of getting exactly 4 heads?", 1),
    ("Find the sum of the infinite series 1/2 + 1/6 + 1/12 + 1/20 + ... and justify the result.", 1),
    ("What is the remainder when 7^100 is divided by 13? Show your reasoning.", 1),
    (
        "Five people each shake hands with everyone else exactly once, except that two of them refuse to shake "
        "hands with each other. How many handshakes take place?",
        1,
    ),
    (
        "A knight always tells the truth and a knave always lies. A says: 'B is a knave.' B says: 'A and I are the "
        "same kind.' What are A and B?",
        1,
    ),
    (
        "If some artists are teachers and no teachers are lazy, which of these must be true: some artists are not "
        "lazy; all artists are lazy; no artists are teachers? Explain.",
        1,
    ),
    (
        "I am facing north. I turn 90 degrees right, then 180 degrees left, then 45 degrees right. Which direction "
        "am I facing now?",
        1,
    ),
    (
        "Tom is older than Kate but younger than Liam. Ana is older than Liam. Kate is older than Ben. Who is the "
        "second oldest?",
        1,
    ),
    (
        "Write a Python function that returns all permutations of a list without using itertools, and state its "
        "time complexity.",
        1,
    ),
    ("Implement a thread-safe bounded queue in Java with blocking put and take methods.", 1),
    ("Write a SQL query that returns, for each department, the employee with the second highest salary.", 1),
    (
        "Explain why this Python code prints [[1, 0], [1, 0]] and fix it:\ngrid = [[0] * 2] * 2\ngrid[0][0] = 1\n"
        "print(grid)",
        1,
    ),
    ("Write a JavaScript function that debounces another function, and explain how the closure works.", 1),
    (
        "Given an array of integers, find the length of the longest strictly increasing subsequence in O(n log n) "
        "time. Write the code in C++.",
        1,
    ),
    ("Design an algorithm to detect whether a directed graph has a cycle, and write it in Go.", 1),
)
