"""Questions readers ask of the shared GlooGrounded library, each with where the answer is (title, heading).

Written for the check in `scripts/check_library.py` before the library was widened to the whole Bible; never used
to build or tune anything. A hit is a passage whose title contains the first string and whose heading (or
title) contains the second. Quotations are in common English wording, not always the World English Bible's.
"""

from __future__ import annotations

LIBRARY_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("Romans 8:28", "Romans", "Romans 8"),
    ("What is faith according to Hebrews 11?", "Hebrews", "Hebrews 11"),
    ("1 Corinthians 13 love is patient", "1 Corinthians", "1 Corinthians 13"),
    ("Love is patient and kind; it does not envy or boast", "1 Corinthians", "1 Corinthians 13"),
    ("Isaiah 53 suffering servant", "Isaiah", "Isaiah 53"),
    ("He was despised and rejected, a man of sorrows", "Isaiah", "Isaiah 53"),
    ("The fruit of the Spirit in Galatians 5", "Galatians", "Galatians 5"),
    ("the armor of God", "Ephesians", "Ephesians 6"),
    ("Saved by grace through faith, not of works", "Ephesians", "Ephesians 2"),
    ("Pentecost: the Holy Spirit comes on the disciples in Acts 2", "Acts", "Acts 2"),
    ("Paul's conversion on the road to Damascus", "Acts", "Acts 9"),
    ("The Ten Commandments", "Exodus", "Exodus 20"),
    ("Hear, Israel: the Lord our God is one", "Deuteronomy", "Deuteronomy 6"),
    ("Ruth says where you go I will go", "Ruth", "Ruth 1"),
    ("David and Goliath", "1 Samuel", "1 Samuel 17"),
    ("Elijah and the prophets of Baal on Mount Carmel", "1 Kings", "1 Kings 18"),
    ("Why do the righteous suffer? The book of Job", "Job", "Job"),
    ("For everything there is a season, a time to be born and a time to die", "Ecclesiastes", "Ecclesiastes 3"),
    ("Daniel in the lions' den", "Daniel", "Daniel 6"),
    ("Jonah and the great fish", "Jonah", "Jonah"),
    ("What does the Lord require of you: act justly, love mercy, walk humbly", "Micah", "Micah 6"),
    ("Faith without works is dead", "James", "James 2"),
    ("Cast all your anxiety on him because he cares for you", "1 Peter", "1 Peter 5"),
    ("God is love (1 John 4)", "1 John", "1 John 4"),
    ("A new heaven and a new earth, no more tears", "Revelation", "Revelation 21"),
    ("Philippians 4:13 I can do all things", "Philippians", "Philippians 4"),
    ("Do not be anxious about anything, but pray with thanksgiving", "Philippians", "Philippians 4"),
    ("All Scripture is God-breathed", "2 Timothy", "2 Timothy 3"),
    ("The Lord's prayer", "Matthew", "Matthew 6"),
    ("The parable of the prodigal son", "Luke", "Luke 15"),
    ("For God so loved the world", "John", "John 3"),
    ("The Lord is my shepherd", "Psalms", "Psalms 23"),
    ("Trust in the Lord with all your heart", "Proverbs", "Proverbs 3"),
    ("In the beginning God created the heavens and the earth", "Genesis", "Genesis 1"),
    ("Augustine: our heart is restless until it rests in you", "Confessions", "Book I >"),
    ("Augustine on the nature of time: what then is time?", "Confessions", "Book XI >"),
    ("Augustine stealing pears", "Confessions", "Book II >"),
    ("Augustine's mother Monica dies at Ostia", "Confessions", "Book IX >"),
    ("Take up and read: Augustine's conversion in the garden", "Confessions", "Book VIII >"),
    ("Athanasius on why the Word became flesh", "Incarnation", ""),
)

# Abbreviated Bible references as readers type them (written before reference handling was built; never tuned on).
# A hit is a World English Bible chunk holding the referenced chapter or verses.
REFERENCE_QUESTIONS: tuple[str, ...] = (
    "Rom 8:28", "1 Cor 13", "Ps 23", "Jn 3:16", "Phil 4:13", "Heb 11:1", "Gen 1:1", "Matt 5", "Rev 21:4",
    "Isa 40:31", "Jer 29:11", "Explain Jer 29:11 to a teenager", "What is the context of Rom 13:1-7?", "1 Jn 4:8",
    "Eph 2:8-9", "Prov 3:5-6", "Mic 6:8", "Josh 1:9", "Lam 3:22-23", "Deut 6:4", "Gal 5:22", "Mt 28:19", "Lk 15",
    "Acts 2:38", "Jas 2:17", "1 Pet 5:7", "2 Tim 3:16", "Ps 46:10", "Eccl 3:1", "Isa 53:5",
)  # fmt: skip
