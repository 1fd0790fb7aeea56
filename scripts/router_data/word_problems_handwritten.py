"""Hand-written, untemplated arithmetic word problems (our own writing) with the number of arithmetic operations a
solution needs, counted by hand, for the word-problem head's *training* (the template problems share phrasing, and
a head trained only on them learns the templates' wording; router3 found the same for the open head). None of these
appears in the validation problems (scripts/router_data/word_problem_validation.py) or the tests."""

from __future__ import annotations

from router_data.word_problems import WordProblem

_PROBLEMS: tuple[tuple[str, int], ...] = (
    ("Mina bought 6 packs of pencils with 12 pencils in each pack. How many pencils did she buy?", 1),
    ("A bus holds 52 passengers and 37 are already on board. How many more can get on?", 1),
    ("Leo walked 2.4 km to school and 2.4 km back home. How far did he walk in total?", 1),
    ("A pizza is cut into 8 slices. Jo eats 3 and her brother eats 2. How many slices are left?", 2),
    ("Shirts cost $18 each and hats $9 each. How much do 3 shirts and 2 hats cost?", 3),
    ("A printer prints 30 pages per minute. How many minutes does it take to print 15 copies of a 40-page report?", 2),
    ("A club needs $600 for uniforms. It has $240 and raises $45 per bake sale. How many bake sales are needed?", 2),
    ("Of the 24 students in a class, 3/8 walk to school and the rest take the bus. How many take the bus?", 2),
    (
        "A farmer picks 120 kg of apples, sells 45% of them at the market and turns a third of the rest into juice. "
        "How many kilograms of apples are left?",
        4,
    ),
    ("Hana's rent rose from $1,200 to $1,290 a month. By what percent did it rise?", 2),
    ("A delivery van drives 180 miles a day, 5 days a week, at 18 miles per gallon. How many gallons a week?", 2),
    ("Three friends share an $84 dinner bill plus a 15% tip equally. How much does each of them pay?", 3),
    (
        "A cyclist rides 42 km on Saturday and 30% farther on Sunday. Each km burns 30 calories. How many calories "
        "does she burn over the weekend?",
        4,
    ),
    ("Two numbers add up to 91 and one is 6 times the other. What is the larger number?", 3),
    ("A shop buys notebooks at $2.40 each and sells them at $3.75. How many must it sell to make a $270 profit?", 2),
    (
        "An orchard has 14 rows of 22 trees. Each tree gives 35 kg of pears, which sell at $1.20 per kg. After "
        "paying $6,500 in costs, what is the orchard's profit?",
        4,
    ),
    (
        "Priya reads 18 pages a day for the first week and 25 pages a day after that. Her book has 426 pages. On "
        "which day does she finish it?",
        4,
    ),
    ("A tank holds 500 liters. Each day 8% of the water in it evaporates. How much is left after 3 days?", 3),
    ("A school orders 7 buses for 315 pupils and 21 teachers. Each bus has 50 seats. How many seats are empty?", 3),
    (
        "Tom's phone plan costs $35 a month plus $0.10 per text after the first 200 texts. In March he sent 340 "
        "texts and in April 180. What did he pay for the two months?",
        5,
    ),
    (
        "A recipe for 4 people needs 300 g of rice and 2 onions. Sam cooks for 10 people; rice comes in 1 kg bags "
        "and onions in nets of 3. How many bags of rice and nets of onions must he buy?",
        6,
    ),
    ("Two painters take 6 hours and 9 hours to paint a fence alone. How long do they take working together?", 3),
    (
        "A charity run raised $4,800. Runners paid a $20 entry fee and sponsors added $1,600. How many runners "
        "took part?",
        2,
    ),
    (
        "A train leaves at 9:40 and covers 276 km at an average of 92 km/h, waits 25 minutes at a station, then "
        "travels another 1 hour 50 minutes. When does it arrive?",
        4,
    ),
    (
        "Lena had some trading cards. She gave half of them to her brother, then 6 to a friend, and had 15 left. "
        "How many did she start with?",
        2,
    ),
    (
        "A coat was marked down 20%, and the checkout took a further 10% off the sale price. Ana paid $108. What "
        "was the original price?",
        3,
    ),
    (
        "A factory makes 1,250 bottles an hour. 2% are faulty and thrown away, and the rest are packed in crates "
        "of 24. How many full crates does an 8-hour shift fill?",
        4,
    ),
    ("A bakery makes 9 trays of 24 rolls and sells 170 rolls by noon. How many rolls are left?", 2),
    (
        "Ben earns $16 an hour and 1.5 times that for every hour over 40 in a week. Last week he worked 46 hours. "
        "How much did he earn?",
        5,
    ),
    (
        "A library fine is 25 cents a day for the first 10 days and 50 cents a day after that. What is the fine "
        "for a book returned 23 days late?",
        4,
    ),
    ("The average of four test scores is 82. What score on a fifth test would raise the average to 85?", 3),
    ("A rectangle is 3 times as long as it is wide, and its perimeter is 96 cm. What is its area?", 4),
    ("Maya has 3 more than twice as many marbles as Sam. Together they have 48. How many does Maya have?", 4),
    (
        "A store sold 40 bikes in May, 25% more in June than in May, and 12 fewer in July than in June. How many "
        "bikes did it sell over the three months?",
        5,
    ),
    (
        "Pedro paid $1,450 for a used scooter, $180 for repairs and $12 a month for insurance. He sold it after 14 "
        "months for $1,100. How much did owning the scooter cost him?",
        4,
    ),
)


def handwritten_word_problems() -> list[WordProblem]:
    return [WordProblem(text, steps) for text, steps in _PROBLEMS]
