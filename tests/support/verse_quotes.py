"""Quoted Bible verses readers type to find them, each with the verse it must find (`scripts/check_quotes.py`).

Written before quotation search was built (brief quotes15), then used to measure its design (a development set,
not held out; see scripts/check_quotes.py). Each entry is (quotation, "Book chapter:verse", kind). A hit is a World
English Bible chunk of that book and chapter whose verse markers cover the verse (so a saying the Bible repeats,
such as Matthew 22:39's, counts only in the book written here). Kinds: "web" (the World English Bible's own
words), "kjv" (King James wording, public domain), "paraphrase" (a common modern way of quoting it, written for this
set), "partial" (half a verse, WEB or common wording) and "misquote" (quoted from memory with a word or two wrong).
"""

from __future__ import annotations

from typing import Literal

QuoteKind = Literal["web", "kjv", "paraphrase", "partial", "misquote"]

VERSE_QUOTES: tuple[tuple[str, str, QuoteKind], ...] = (
    # The World English Bible's own wording.
    ("Be still, and know that I am God", "Psalms 46:10", "web"),
    ("For God so loved the world, that he gave his one and only Son", "John 3:16", "web"),
    ("Yahweh is my shepherd: I shall lack nothing", "Psalms 23:1", "web"),
    ("I can do all things through Christ, who strengthens me", "Philippians 4:13", "web"),
    ("Trust in Yahweh with all your heart, and don't lean on your own understanding", "Proverbs 3:5", "web"),
    ("Your word is a lamp to my feet, and a light for my path", "Psalms 119:105", "web"),
    ("In the beginning was the Word, and the Word was with God", "John 1:1", "web"),
    ("I am the way, the truth, and the life", "John 14:6", "web"),
    ("Now faith is assurance of things hoped for, proof of things not seen", "Hebrews 11:1", "web"),
    ("For the wages of sin is death, but the free gift of God is eternal life", "Romans 6:23", "web"),
    ("Jesus Christ is the same yesterday, today, and forever", "Hebrews 13:8", "web"),
    ("This is the day that Yahweh has made. We will rejoice and be glad in it", "Psalms 118:24", "web"),
    ("Create in me a clean heart, O God. Renew a right spirit within me", "Psalms 51:10", "web"),
    ("You are the light of the world. A city located on a hill can't be hidden", "Matthew 5:14", "web"),
    ("Iron sharpens iron; so a man sharpens his friend's countenance", "Proverbs 27:17", "web"),
    ("The heavens declare the glory of God", "Psalms 19:1", "web"),
    # King James wording.
    ("The LORD is my shepherd; I shall not want", "Psalms 23:1", "kjv"),
    ("Be still, and know that I am God: I will be exalted among the heathen", "Psalms 46:10", "kjv"),
    ("I can do all things through Christ which strengtheneth me", "Philippians 4:13", "kjv"),
    ("Trust in the LORD with all thine heart; and lean not unto thine own understanding", "Proverbs 3:5", "kjv"),
    ("Thy word is a lamp unto my feet, and a light unto my path", "Psalms 119:105", "kjv"),
    ("Come unto me, all ye that labour and are heavy laden, and I will give you rest", "Matthew 11:28", "kjv"),
    ("But they that wait upon the LORD shall renew their strength; they shall mount up with wings as eagles",
     "Isaiah 40:31", "kjv"),
    ("Fear thou not; for I am with thee: be not dismayed; for I am thy God", "Isaiah 41:10", "kjv"),
    ("Thou shalt love thy neighbour as thyself", "Matthew 22:39", "kjv"),
    ("Delight thyself also in the LORD; and he shall give thee the desires of thine heart", "Psalms 37:4", "kjv"),
    ("The LORD bless thee, and keep thee", "Numbers 6:24", "kjv"),
    ("O taste and see that the LORD is good: blessed is the man that trusteth in him", "Psalms 34:8", "kjv"),
    ("Train up a child in the way he should go: and when he is old, he will not depart from it",
     "Proverbs 22:6", "kjv"),
    ("Behold, I stand at the door, and knock: if any man hear my voice, and open the door", "Revelation 3:20", "kjv"),
    ("My grace is sufficient for thee: for my strength is made perfect in weakness", "2 Corinthians 12:9", "kjv"),
    ("For I know the thoughts that I think toward you, saith the LORD, thoughts of peace, and not of evil",
     "Jeremiah 29:11", "kjv"),
    ("Naked came I out of my mother's womb: the LORD gave, and the LORD hath taken away", "Job 1:21", "kjv"),
    ("The joy of the LORD is your strength", "Nehemiah 8:10", "kjv"),
    # Common modern wording.
    ("For I know the plans I have for you, plans to give you hope and a future", "Jeremiah 29:11", "paraphrase"),
    ("I praise you because I am fearfully and wonderfully made", "Psalms 139:14", "paraphrase"),
    ("Do not be afraid, for the Lord your God will be with you wherever you go", "Joshua 1:9", "paraphrase"),
    ("We know that in all things God works for the good of those who love him", "Romans 8:28", "paraphrase"),
    ("Do not conform to the pattern of this world, but be transformed by the renewing of your mind",
     "Romans 12:2", "paraphrase"),
    ("For all have sinned and fall short of the glory of God", "Romans 3:23", "paraphrase"),
    ("Cast all your anxiety on him because he cares for you", "1 Peter 5:7", "paraphrase"),
    ("For God has not given us a spirit of fear, but of power and love and a sound mind", "2 Timothy 1:7",
     "paraphrase"),
    ("The Lord will fight for you; you need only to be still", "Exodus 14:14", "paraphrase"),
    ("Greater love has no one than this: to lay down one's life for one's friends", "John 15:13", "paraphrase"),
    ("Draw near to God and he will draw near to you", "James 4:8", "paraphrase"),
    ("As for me and my household, we will serve the Lord", "Joshua 24:15", "paraphrase"),
    ("Commit to the Lord whatever you do, and your plans will succeed", "Proverbs 16:3", "paraphrase"),
    # Half a verse.
    ("Where does my help come from?", "Psalms 121:1", "partial"),
    ("the truth will make you free", "John 8:32", "partial"),
    ("by his wounds we are healed", "Isaiah 53:5", "partial"),
    ("with God all things are possible", "Matthew 19:26", "partial"),
    ("for such a time as this", "Esther 4:14", "partial"),
    ("for love is strong as death", "Song of Solomon 8:6", "partial"),
    ("Death, where is your sting?", "1 Corinthians 15:55", "partial"),
    ("For to me to live is Christ, and to die is gain", "Philippians 1:21", "partial"),
    ("Blessed are the peacemakers", "Matthew 5:9", "partial"),
    ("if anyone is in Christ, he is a new creation", "2 Corinthians 5:17", "partial"),
    ("a lamp to my feet", "Psalms 119:105", "partial"),
    # Quoted from memory, a little wrong.
    ("Be still and know that I am the Lord", "Psalms 46:10", "misquote"),
    ("I can do everything through Christ who gives me strength", "Philippians 4:13", "misquote"),
    ("God so loved the world that he gave his only son", "John 3:16", "misquote"),
    ("The Lord is my shepherd, I shall not be in want", "Psalms 23:1", "misquote"),
    ("Seek first the kingdom of God and his righteousness and all these things will be added to you",
     "Matthew 6:33", "misquote"),
    ("Love is patient, love is kind, love does not envy", "1 Corinthians 13:4", "misquote"),
    ("The fruit of the spirit is love, joy, peace, patience and kindness", "Galatians 5:22", "misquote"),
    ("Ask and it shall be given to you, seek and you shall find, knock and the door will be opened",
     "Matthew 7:7", "misquote"),
    ("he will wipe every tear from their eyes, and there will be no more death", "Revelation 21:4", "misquote"),
    ("Those who hope in the Lord will renew their strength, they will soar on wings like eagles",
     "Isaiah 40:31", "misquote"),
)  # fmt: skip

SHORT_FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("For God so loved the world", "John 3:16"),
    ("Love is patient, love is kind", "1 Corinthians 13:4"),
    ("Jesus wept", "John 11:35"),
    ("I am the resurrection and the life", "John 11:25"),
    ("Let there be light", "Genesis 1:3"),
    ("Faith, hope and love, but the greatest of these is love", "1 Corinthians 13:13"),
    ("The wages of sin is death", "Romans 6:23"),
    ("I am the good shepherd", "John 10:11"),
    ("Ask, and it will be given you", "Matthew 7:7"),
    ("Pride goes before destruction", "Proverbs 16:18"),
    ("Go and make disciples of all nations", "Matthew 28:19"),
    ("Rejoice in the Lord always", "Philippians 4:4"),
    ("Man shall not live by bread alone", "Matthew 4:4"),
    ("Here I am. Send me", "Isaiah 6:8"),
    ("The Word became flesh", "John 1:14"),
    ("Come to me, all you who are weary", "Matthew 11:28"),
    ("Greater love has no one than this", "John 15:13"),
    ("A time to be born, and a time to die", "Ecclesiastes 3:2"),
    ("With God all things are possible", "Matthew 19:26"),
    ("Be strong and courageous", "Joshua 1:9"),
)
"""Short famous fragments as people type them, written after quotation search was built (stop 15) as a fresh check:
hit@3 17/20 before a short quotation had every run searched, 18/20 after (the one change measured on it)."""
