"""Hand-written word problems (our own writing, not templates) with the number of arithmetic operations a solution
needs, counted by hand. Used only to *select* the word-problem head's inputs and regularisation (Spearman of its
score with the step count): the templates it trains on share phrasing, so cross-validation on them rewards heads
that learn the templates rather than what makes a real problem long."""

from __future__ import annotations

VALIDATION_PROBLEMS: tuple[tuple[str, int], ...] = (
    ("Oscar has 14 marbles. His sister gives him 9 more. How many marbles does he have?", 1),
    ("A pack of gum has 5 sticks. How many sticks are in 7 packs?", 1),
    ("Lucia read 23 pages on Monday and 31 pages on Tuesday. How many pages did she read in the two days?", 1),
    ("A baker made 96 muffins and put them into boxes of 8. How many boxes did she fill?", 1),
    ("Tickets cost $7 each. Ray buys 4 tickets and pays with a $50 bill. How much change does he get?", 2),
    (
        "A garden has 6 rows of tomato plants with 9 plants in each row. Slugs ate 13 plants. How many are left?",
        2,
    ),
    ("Amira earns $15 an hour and worked 6 hours on Saturday and 4 hours on Sunday. How much did she earn?", 2),
    ("A class of 28 students splits into groups of 4, and each group needs 3 markers. How many markers are needed?", 2),
    ("Noah's phone battery is at 80%. It loses 5% every hour. After how many hours will it reach 35%?", 2),
    ("A jacket costs $60 and is on sale for 25% off. How much does it cost on sale?", 2),
    ("Jamal runs 3 miles every weekday and 5 miles on each weekend day. How many miles does he run in a week?", 3),
    ("A recipe needs 2 cups of flour for 12 cookies. How many cups of flour are needed for 54 cookies?", 2),
    (
        "Ella has twice as many stickers as Ben, and Ben has 7 more than Carl, who has 12. How many stickers do the "
        "three of them have together?",
        4,
    ),
    (
        "A tank holds 240 liters. It is filled at 12 liters per minute but leaks 2 liters per minute. How many minutes "
        "does it take to fill the empty tank?",
        2,
    ),
    (
        "Mr. Singh buys 3 shirts at $18 each and 2 pairs of trousers at $35 each. He has a coupon for $10 off the "
        "total. How much does he pay?",
        4,
    ),
    (
        "A farmer collects 42 eggs a day. He keeps 6 for his family each day and sells the rest in cartons of a dozen "
        "at $4 per carton. How much does he earn in a week?",
        5,
    ),
    (
        "Sofia saves $25 each week. She already has $130 and wants a bike that costs $480. How many more weeks must "
        "she save?",
        3,
    ),
    (
        "A train leaves at 9:40 and the trip takes 2 hours and 35 minutes. It arrives 18 minutes late. At what time "
        "does it arrive?",
        3,
    ),
    (
        "The school raised $1,200 at a fair. A third went to the library, a quarter of the rest went to sports, and "
        "the remainder was split equally among 5 classes. How much did each class get?",
        5,
    ),
    (
        "Paint costs $28 per gallon and one gallon covers 350 square feet. A wall is 14 feet by 50 feet and needs two "
        "coats. How much will the paint cost?",
        5,
    ),
    (
        "Kenji drove 150 miles at 50 miles per hour and then 120 miles at 60 miles per hour. What was his average "
        "speed for the whole trip?",
        5,
    ),
    (
        "A store bought 80 lamps at $12 each. It sold 60 of them at a 50% markup and the rest at cost. What was the "
        "store's profit?",
        5,
    ),
    ("Maya is 4 years older than her brother. In 6 years the sum of their ages will be 40. How old is Maya now?", 4),
    (
        "A printer prints 18 pages per minute. A job has 45 documents of 24 pages each. The printer pauses for 5 "
        "minutes after every 300 pages. How long does the job take?",
        6,
    ),
    (
        "Three friends share a pizza bill of $54 and a drinks bill of $21. One friend only had drinks worth $5 and "
        "pays just that; the other two split the rest equally. How much does each of the other two pay?",
        4,
    ),
    (
        "A swimming pool is 25 meters long. Leo swims 36 lengths on Monday, 20% more on Wednesday, and half of "
        "Wednesday's distance on Friday. How many kilometers does he swim in total?",
        6,
    ),
    (
        "An orchard has 12 rows of 15 apple trees. Each tree yields 40 apples, 10% of which are bruised and thrown "
        "away. The rest are packed 8 to a bag and sold at $3 per bag. How much money does the orchard make?",
        7,
    ),
    (
        "Dana's salary is $3,600 a month. She spends 30% on rent, $450 on food, and a fifth of what remains on "
        "transport. She saves the rest. How much does she save in a year?",
        7,
    ),
    (
        "A bakery sells croissants at $2.50 and muffins at $3. On Saturday it sold 140 items for $385. On Sunday it "
        "sold twice as many croissants and 20 fewer muffins. How much did it take in on Sunday?",
        8,
    ),
    (
        "A car uses 6 liters of fuel per 100 km. Fuel costs $1.80 per liter. A family drives 45 km each way to work "
        "5 days a week and another 120 km on weekends. How much do they spend on fuel in 4 weeks?",
        8,
    ),
    (
        "Water fills a tub through two taps: one fills it alone in 12 minutes, the other in 18 minutes. The drain "
        "empties a full tub in 36 minutes. With both taps open and the drain open, how long does filling take?",
        6,
    ),
    (
        "A theater has 24 rows. The first row has 16 seats and each row has 2 more seats than the row before. Tickets "
        "in the first 10 rows cost $45 and the others $30. How much does a sold-out show earn?",
        8,
    ),
    (
        "Carmen knits 3 scarves a week and sells each for $22. Yarn for one scarf costs $7 and she pays a $15 weekly "
        "stall fee. After 9 weeks she buys a loom costing a third of her profit. How much profit does she keep?",
        7,
    ),
    (
        "A runner's pace is 5 minutes 30 seconds per kilometer for the first 10 km and 20 seconds per kilometer "
        "slower for the next 11.1 km. What is her total time for the half marathon in hours and minutes?",
        6,
    ),
    (
        "Two trains start 420 km apart and travel toward each other at 80 km/h and 60 km/h. A bird flies back and "
        "forth between them at 100 km/h until they meet. How far does the bird fly?",
        3,
    ),
    (
        "A library had 2,400 books. In January it added 15% more, in February it lost 120 books, and in March it "
        "donated a tenth of its collection. How many books does it have at the end of March?",
        5,
    ),
)
