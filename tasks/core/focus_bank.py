"""Texts for the focus domain, written by hand for this project.

``HOWTO`` groups practical questions into clusters of related ones; an answer to a sibling
question in the same cluster is the hardest off-topic response. Each answer has a short form
and a ``detail`` sentence for the long form.
"""

from __future__ import annotations

# cluster -> [(question, answer, detail)]
HOWTO: dict[str, list[tuple[str, str, str]]] = {
    "eggs": [
        (
            "How do I hard-boil an egg?",
            "Put the egg in boiling water for about 10 minutes, then cool it in cold water before peeling.",
            "Older eggs are easier to peel than very fresh ones.",
        ),
        (
            "How do I poach an egg?",
            "Crack the egg into a cup, slide it into gently simmering water and cook it for about 3 minutes until the white is set.",
            "A splash of vinegar in the water helps the white hold together.",
        ),
        (
            "How do I make fluffy scrambled eggs?",
            "Whisk the eggs well, cook them over low heat and stir slowly, taking them off the heat while they are still slightly wet.",
            "A knob of butter stirred in at the end makes them creamier.",
        ),
    ],
    "git": [
        (
            "How do I undo my last git commit but keep the changes?",
            "Run `git reset --soft HEAD~1`; the commit is removed and its changes stay staged.",
            "Avoid this on commits you have already pushed to a shared branch.",
        ),
        (
            "How do I create a new branch in git and switch to it?",
            "Run `git switch -c my-branch` (or `git checkout -b my-branch` on older versions).",
            "Push it with `git push -u origin my-branch` to share it.",
        ),
        (
            "How do I see the commit history in git?",
            "Run `git log --oneline` for a compact list of commits, newest first.",
            "Add `--graph --all` to see how branches fit together.",
        ),
    ],
    "python-lists": [
        (
            "How do I reverse a list in Python?",
            "Use `items.reverse()` to reverse it in place, or `items[::-1]` to get a reversed copy.",
            "`reversed(items)` gives an iterator if you only need to loop backwards.",
        ),
        (
            "How do I sort a list of dictionaries by one key in Python?",
            "Use `sorted(rows, key=lambda r: r['age'])`, replacing `'age'` with your key.",
            "Pass `reverse=True` to sort from largest to smallest.",
        ),
        (
            "How do I remove duplicates from a Python list but keep the order?",
            "Use `list(dict.fromkeys(items))`, which keeps the first copy of each item in order.",
            "A set also removes duplicates but loses the order.",
        ),
    ],
    "plants": [
        (
            "How often should I water a cactus?",
            "Water it thoroughly every two to three weeks in spring and summer, letting the soil dry out completely in between.",
            "In winter, once a month or less is enough.",
        ),
        (
            "How do I repot a houseplant?",
            "Choose a pot a few centimetres wider, loosen the root ball gently, set it at the same depth in fresh potting mix and water it well.",
            "Spring, when growth starts, is the best time to do it.",
        ),
        (
            "How do I grow a new pothos plant from a cutting?",
            "Cut a stem just below a node, put it in a glass of water, and pot it in soil once the roots are a few centimetres long.",
            "Roots usually appear within two to four weeks.",
        ),
    ],
    "grains": [
        (
            "How do I cook white rice on the stove?",
            "Rinse one cup of rice, add one and a half cups of water, bring it to a boil, then cover and simmer on low for 15 minutes.",
            "Let it rest covered for 10 minutes before fluffing it with a fork.",
        ),
        (
            "How do I cook quinoa?",
            "Rinse it well, simmer one part quinoa in two parts water for about 15 minutes until the water is absorbed.",
            "Rinsing removes the bitter coating on the seeds.",
        ),
        (
            "How do I make overnight oats?",
            "Mix equal parts rolled oats and milk or yoghurt in a jar, add a little sweetener, and refrigerate it overnight.",
            "Add fruit or nuts in the morning for texture.",
        ),
    ],
    "sleep": [
        (
            "How can I fall asleep faster?",
            "Keep a regular bedtime, avoid screens for the hour before bed, and keep your bedroom cool and dark.",
            "If you can't sleep after 20 minutes, get up and do something calm until you feel sleepy.",
        ),
        (
            "How do I stop hitting the snooze button?",
            "Put your alarm across the room so you have to get up to turn it off.",
            "Going to bed at the same time each night makes waking up easier too.",
        ),
        (
            "How long should a power nap be?",
            "Keep it to about 20 minutes, ideally in the early afternoon, so you wake before deep sleep.",
            "Longer naps can leave you groggy.",
        ),
    ],
    "running": [
        (
            "How should a beginner start running?",
            "Start with run-walk intervals three times a week, such as one minute running and two walking, and build up slowly.",
            "Increase your weekly distance by no more than about ten percent.",
        ),
        (
            "How do I get rid of a side stitch while running?",
            "Slow down, breathe deeply and evenly, and press gently on the sore spot until it eases.",
            "Avoiding big meals in the two hours before a run helps prevent them.",
        ),
        (
            "How do I choose running shoes?",
            "Try them on late in the day, leave about a thumb's width at the toe, and pick the pair that feels comfortable straight away.",
            "A specialist shop can watch you run and suggest a type.",
        ),
    ],
    "money": [
        (
            "How do I make a monthly budget?",
            "List your monthly income and fixed costs, set limits for flexible spending, and track what you actually spend.",
            "A common starting rule is 50 percent needs, 30 percent wants and 20 percent savings.",
        ),
        (
            "How do I build an emergency fund?",
            "Set up an automatic transfer to a separate savings account each payday, starting small.",
            "Aim eventually for three to six months of essential expenses.",
        ),
        (
            "How do I pay off credit card debt faster?",
            "Pay more than the minimum every month and put extra money towards the card with the highest interest rate first.",
            "Moving the balance to a card with a 0 percent introductory rate can also help.",
        ),
    ],
    "languages": [
        (
            "How do I memorise vocabulary in a new language?",
            "Use spaced-repetition flashcards every day and learn words in short example sentences.",
            "Reviewing for ten minutes daily beats one long weekly session.",
        ),
        (
            "How can I improve my pronunciation in a foreign language?",
            "Listen to native audio and repeat it right after the speaker, recording yourself to compare.",
            "Focusing on one difficult sound at a time works better than everything at once.",
        ),
        (
            "How do I get more speaking practice in a language I'm learning?",
            "Find a language-exchange partner or a tutor and schedule short conversations every week.",
            "Talking to yourself about your day also builds fluency.",
        ),
    ],
    "laptops": [
        (
            "How do I make my laptop battery last longer?",
            "Lower the screen brightness, close apps running in the background and turn on the battery-saver mode.",
            "Unplugging accessories you are not using also helps.",
        ),
        (
            "How do I clean a laptop keyboard?",
            "Turn the laptop off, blow out crumbs with compressed air, and wipe the keys with a cloth lightly dampened with isopropyl alcohol.",
            "Never spray liquid directly onto the keyboard.",
        ),
        (
            "How can I speed up a slow laptop?",
            "Remove programs that start automatically, free up disk space and uninstall software you don't use.",
            "Replacing an old hard drive with an SSD makes the biggest difference.",
        ),
    ],
}

WORDS = [
    "banana",
    "planet",
    "window",
    "garden",
    "rhythm",
    "pencil",
    "orange",
    "silver",
    "bottle",
    "jacket",
    "castle",
    "library",
    "mountain",
    "kitchen",
    "elephant",
    "umbrella",
    "triangle",
    "blanket",
    "harbour",
    "lantern",
    "marble",
    "octopus",
    "pyramid",
    "quilt",
    "rocket",
    "saddle",
    "tomato",
    "violin",
    "walnut",
    "zephyr",
    "anchor",
    "breeze",
    "candle",
    "dolphin",
    "feather",
    "glacier",
    "horizon",
    "island",
    "jigsaw",
    "kettle",
    "lemon",
    "meadow",
    "needle",
    "oyster",
    "puzzle",
    "ribbon",
    "spider",
    "tunnel",
    "valley",
    "wizard",
]

# (big unit, small unit, how many small units in one big unit)
CONVERSIONS = [
    ("hours", "minutes", 60),
    ("minutes", "seconds", 60),
    ("days", "hours", 24),
    ("weeks", "days", 7),
    ("metres", "centimetres", 100),
    ("kilometres", "metres", 1000),
    ("kilograms", "grams", 1000),
    ("litres", "millilitres", 1000),
    ("feet", "inches", 12),
    ("years", "months", 12),
    ("yards", "feet", 3),
    ("centimetres", "millimetres", 10),
]
