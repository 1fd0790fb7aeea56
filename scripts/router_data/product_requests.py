"""Short product requests (our own writing) that the rest of the training set under-represents: one-line code
requests for church and ministry software, short comparative theology questions, Bible-trivia lookups and everyday
tasks that quote a scripture reference.

Before these rows the open head had seen code mostly as long prompts or prompts with code in them, comparative
theology only as long multi-part essays, and scripture references almost only in lookups, so it learned "mentions a
verse = easy" and "short = easy". Written separately from the realistic-traffic check set
(tests/support/realistic_traffic.py), which is never trained on.
"""

from __future__ import annotations

CODE_REQUESTS: tuple[str, ...] = (
    "Write a Python script that renames our sermon MP3 files to the format YYYY-MM-DD-title.mp3.",
    "Write a TypeScript function that formats a verse range like Romans 8:28-39 for display.",
    "Create a SQL view that shows weekly attendance per ministry for the last six months.",
    "Write a Kotlin data class for a prayer request with JSON serialization.",
    "Write a PHP function that sends a welcome email to new members who register on our website.",
    "Make a Vue component for a donation form with amount buttons and a custom amount field.",
    "Write a Python function that converts a reading plan CSV into an iCalendar file.",
    "Write a MySQL query that finds duplicate member records by email and phone number.",
    "Write a Node.js script that posts the daily verse to our Slack channel at 7am.",
    "Write a regular expression that validates US phone numbers in our visitor card form.",
    "Write a Java method that splits the church directory into pages of 25 families.",
    "Create a Django model for small groups with a leader, a meeting day and a member list.",
    "Write a Python class that downloads podcast episodes from our RSS feed and skips ones we already have.",
    "Write a PowerShell script that creates user accounts for new staff from a CSV file.",
    "Add dark mode to our Svelte app's settings page.",
    "Write an Excel formula that totals giving per family when names appear in column A and amounts in C.",
    "Write a Rust function that deduplicates hymn titles ignoring case and punctuation.",
    "Write a GraphQL schema for events, registrations and check-ins at our conference.",
    "Convert this JSON of Bible books into a Python dict keyed by abbreviation, with a lookup function.",
    "Write a Dockerfile and a GitHub Actions workflow that deploy our FastAPI prayer app.",
    "Write a JavaScript function that highlights every occurrence of a search word in a chapter of text.",
    "Write a Go program that reads our giving export and prints the top ten funds by total.",
    "Write a SQLite schema and queries for tracking which volunteers completed background checks.",
    "Write a C# method that schedules push notifications for the start of each service.",
    "Write a bash one-liner that counts how many sermon transcripts mention grace.",
    "Write a React hook that loads the church calendar from our API and caches it for an hour.",
    "Write unit tests for a function that calculates the date of Easter for any year.",
    "Write a Python function that returns the date of Easter Sunday for a given year.",
    "Build a CLI in Python that looks up a verse by reference from a local SQLite Bible.",
    "Write a Swift view that lists this week's events with a reminder button.",
)
SHORT_COMPARATIVE: tuple[str, ...] = (
    "Compare the Anglican and Methodist views of holy communion.",
    "How does the Lutheran view of the law differ from the Reformed view?",
    "Contrast the Pentecostal and Reformed understandings of spiritual gifts.",
    "What separates Catholic and Orthodox teaching on purgatory?",
    "Compare Wesley's doctrine of Christian perfection with the Keswick teaching on holiness.",
    "How do Anabaptist and Lutheran views of the state differ, and why?",
    "Explain how Calvinists and Arminians read John 6:44 differently.",
    "Contrast the Catholic and Protestant canons of the Old Testament and the reasons for each.",
    "How do covenant theology and dispensationalism differ on the church and Israel?",
    "Compare Bonhoeffer's and Niebuhr's views on Christian ethics in politics.",
    "In what ways do Eastern and Western Christianity differ on original sin?",
    "How does Aquinas's view of natural law differ from Luther's two kingdoms?",
    "Compare the Presbyterian and Congregationalist models of church government and their biblical basis.",
    "Contrast Karl Barth's and Emil Brunner's positions in their debate on natural theology.",
    "How do Orthodox Jews and Christians read Isaiah 53 differently?",
    "Evaluate the strengths and weaknesses of the penal substitution and Christus Victor models of atonement.",
    "Weigh the case for and against women's ordination in Catholic and evangelical theology.",
    "How do Catholic and Reformed theologians interpret Matthew 16:18 on Peter and the church?",
)
LOOKUPS: tuple[str, ...] = (
    "How many verses are in Psalm 117?",
    "How many books did Paul write?",
    "How many psalms are there?",
    "Where did Jesus turn water into wine?",
    "Where was Paul when he wrote 2 Timothy?",
    "Which gospel starts with 'In the beginning was the Word'?",
    "Who succeeded Moses?",
    "What is the last book of the Old Testament?",
    "What does 'maranatha' mean?",
    "When was the King James Version published?",
    "Who painted the Sistine Chapel ceiling?",
    "What is Romans 12:2?",
    "What colour are the vestments at Pentecost?",
    "How old was Abraham when Isaac was born?",
    "Who was the high priest at Jesus' trial?",
)
SCRIPTURE_TASKS: tuple[str, ...] = (
    "Translate John 11:35 into German.",
    "Translate 'The Lord bless you and keep you' into Portuguese.",
    "Write a short devotional on Romans 12:2 for a Monday email.",
    "Paraphrase Micah 6:8 for a children's sermon.",
    "Give me two discussion questions on James 1:19.",
    "Write a prayer based on Psalm 46:10 for a hospital visit.",
    "Put Isaiah 41:10 into simple English for a new reader.",
    "Write a social media post that shares Joshua 1:9 with a sentence of encouragement.",
    "Summarize Luke 15 in three sentences.",
    "Suggest a sermon title on John 15:5.",
)
