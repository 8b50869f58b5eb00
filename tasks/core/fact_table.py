"""The small fact table behind the factual and focus domains, written by hand for this project.

Each ``Fact`` has one correct short answer, a few plausible wrong ones (hardest first) and a
statement template, so "The capital of Australia is {}." can be filled with the right or a
wrong answer. Only facts with a single uncontested answer are included. The tables are plain
text, one fact per line, fields separated by `` | ``, lists by ``; `` and alternative
phrasings of a question by `` // ``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    """One question with a single correct short answer."""

    key: str
    """Stable identifier; decides the split the fact belongs to."""
    category: str
    questions: tuple[str, ...]
    """Phrasings of the same question."""
    answer: str
    """The correct short answer (the row ``reference``)."""
    wrong: tuple[str, ...]
    """Plausible wrong answers, hardest first (at least three)."""
    statement: str
    """A sentence with ``{}`` where the answer goes."""


def table(text: str) -> list[list[str]]:
    """Rows of a `` | ``-separated text table (blank lines and ``#`` comments skipped)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return [
        [f.strip() for f in line.split(" | ")]
        for line in lines
        if line and not line.startswith("#")
    ]


def items(field: str, sep: str = "; ") -> tuple[str, ...]:
    """A list-valued field split on ``sep``."""
    return tuple(x.strip() for x in field.split(sep))


CAPITALS = table("""
# country | capital | region | tempting wrong city
France | Paris | europe | Lyon
Germany | Berlin | europe | Bonn
Italy | Rome | europe | Milan
Spain | Madrid | europe | Barcelona
Portugal | Lisbon | europe | Porto
Belgium | Brussels | europe | Antwerp
Switzerland | Bern | europe | Zurich
Austria | Vienna | europe | Salzburg
Poland | Warsaw | europe | Kraków
Sweden | Stockholm | europe | Gothenburg
Norway | Oslo | europe | Bergen
Finland | Helsinki | europe | Turku
Denmark | Copenhagen | europe | Aarhus
Ireland | Dublin | europe | Cork
Greece | Athens | europe | Thessaloniki
Hungary | Budapest | europe | Debrecen
the Czech Republic | Prague | europe | Brno
Russia | Moscow | europe | Saint Petersburg
Ukraine | Kyiv | europe | Lviv
Turkey | Ankara | asia | Istanbul
Romania | Bucharest | europe | Cluj-Napoca
Japan | Tokyo | asia | Kyoto
China | Beijing | asia | Shanghai
India | New Delhi | asia | Mumbai
Pakistan | Islamabad | asia | Karachi
South Korea | Seoul | asia | Busan
Thailand | Bangkok | asia | Chiang Mai
Vietnam | Hanoi | asia | Ho Chi Minh City
the Philippines | Manila | asia | Cebu City
Saudi Arabia | Riyadh | asia | Jeddah
Iran | Tehran | asia | Isfahan
Iraq | Baghdad | asia | Basra
Kazakhstan | Astana | asia | Almaty
Myanmar | Naypyidaw | asia | Yangon
Nepal | Kathmandu | asia | Pokhara
Bangladesh | Dhaka | asia | Chittagong
Mongolia | Ulaanbaatar | asia | Erdenet
the United States | Washington, D.C. | americas | New York City
Canada | Ottawa | americas | Toronto
Mexico | Mexico City | americas | Guadalajara
Brazil | Brasília | americas | Rio de Janeiro
Argentina | Buenos Aires | americas | Córdoba
Chile | Santiago | americas | Valparaíso
Peru | Lima | americas | Cusco
Colombia | Bogotá | americas | Medellín
Venezuela | Caracas | americas | Maracaibo
Cuba | Havana | americas | Santiago de Cuba
Ecuador | Quito | americas | Guayaquil
Uruguay | Montevideo | americas | Punta del Este
Jamaica | Kingston | americas | Montego Bay
Egypt | Cairo | africa | Alexandria
Nigeria | Abuja | africa | Lagos
Kenya | Nairobi | africa | Mombasa
Ethiopia | Addis Ababa | africa | Dire Dawa
Morocco | Rabat | africa | Casablanca
Ghana | Accra | africa | Kumasi
Tanzania | Dodoma | africa | Dar es Salaam
Algeria | Algiers | africa | Oran
Senegal | Dakar | africa | Saint-Louis
Uganda | Kampala | africa | Entebbe
Australia | Canberra | oceania | Sydney
New Zealand | Wellington | oceania | Auckland
""")

ELEMENTS = table("""
# element | symbol | tempting wrong symbols
hydrogen | H | Hy; Hd
helium | He | H; Hl
carbon | C | Ca; Cb
nitrogen | N | Ni; Nt
oxygen | O | Ox; Og
sodium | Na | So; Sd
potassium | K | P; Po
calcium | Ca | C; Cl
iron | Fe | Ir; In
copper | Cu | Co; Cp
silver | Ag | Si; Sv
gold | Au | Ag; Go
lead | Pb | Le; Ld
tin | Sn | Ti; Tn
mercury | Hg | Me; Mr
zinc | Zn | Zi; Z
magnesium | Mg | Mn; Ma
manganese | Mn | Mg; Ma
chlorine | Cl | Ch; C
fluorine | F | Fl; Fu
neon | Ne | N; Nn
argon | Ar | Ag; A
sulfur | S | Su; Sf
phosphorus | P | Ph; Po
silicon | Si | Sc; S
aluminium | Al | Am; Au
nickel | Ni | N; Nk
uranium | U | Ur; Un
platinum | Pt | Pl; P
tungsten | W | Tu; Tn
lithium | Li | L; Lt
cobalt | Co | Cu; Cb
titanium | Ti | Tn; T
""")

PLANETS = table("""
# key | questions | answer | wrong answers | statement
largest | Which planet is the largest in our Solar System? | Jupiter | Saturn; Neptune; Uranus | The largest planet in our Solar System is {}.
smallest | Which planet is the smallest in our Solar System? | Mercury | Mars; Pluto; Venus | The smallest planet in our Solar System is {}.
closest | Which planet is closest to the Sun? // Which planet orbits nearest to the Sun? | Mercury | Venus; Mars; Earth | The planet closest to the Sun is {}.
farthest | Which planet is farthest from the Sun? | Neptune | Pluto; Uranus; Saturn | The planet farthest from the Sun is {}.
red | Which planet is known as the Red Planet? | Mars | Jupiter; Venus; Mercury | The planet known as the Red Planet is {}.
hottest | Which planet has the hottest surface in our Solar System? | Venus | Mercury; Mars; Jupiter | The planet with the hottest surface is {}.
spot | Which planet has the storm called the Great Red Spot? | Jupiter | Mars; Saturn; Neptune | The Great Red Spot is a storm on {}.
tilted | Which planet spins on its side, with its axis tilted by about 98 degrees? | Uranus | Neptune; Saturn; Venus | The planet that spins on its side is {}.
rings | Which planet is famous for its bright, wide rings? | Saturn | Jupiter; Uranus; Neptune | The planet famous for its bright, wide rings is {}.
second | Which planet is second from the Sun? | Venus | Mercury; Earth; Mars | The second planet from the Sun is {}.
third | Which planet is third from the Sun? | Earth | Mars; Venus; Mercury | The third planet from the Sun is {}.
fourth | Which planet is fourth from the Sun? | Mars | Jupiter; Earth; Venus | The fourth planet from the Sun is {}.
fifth | Which planet is fifth from the Sun? | Jupiter | Saturn; Mars; Uranus | The fifth planet from the Sun is {}.
sixth | Which planet is sixth from the Sun? | Saturn | Jupiter; Uranus; Neptune | The sixth planet from the Sun is {}.
seventh | Which planet is seventh from the Sun? | Uranus | Neptune; Saturn; Jupiter | The seventh planet from the Sun is {}.
eighth | Which planet is eighth from the Sun? | Neptune | Uranus; Pluto; Saturn | The eighth planet from the Sun is {}.
count | How many planets are in our Solar System? | 8 | 9; 7; 10 | There are {} planets in our Solar System.
titan | What is the largest moon of Saturn? | Titan | Enceladus; Rhea; Europa | The largest moon of Saturn is {}.
ganymede | What is the largest moon in our Solar System? | Ganymede | Titan; Callisto; Europa | The largest moon in our Solar System is {}.
""")

UNITS = table("""
# key | question | answer | wrong answers | statement
cm-m | How many centimetres are in a metre? | 100 | 1000; 10; 60 | There are {} centimetres in a metre.
g-kg | How many grams are in a kilogram? | 1000 | 100; 10000; 500 | There are {} grams in a kilogram.
mm-cm | How many millimetres are in a centimetre? | 10 | 100; 1000; 12 | There are {} millimetres in a centimetre.
m-km | How many metres are in a kilometre? | 1000 | 100; 10000; 1600 | There are {} metres in a kilometre.
ml-l | How many millilitres are in a litre? | 1000 | 100; 10; 500 | There are {} millilitres in a litre.
s-min | How many seconds are in a minute? | 60 | 100; 30; 90 | There are {} seconds in a minute.
min-h | How many minutes are in an hour? | 60 | 100; 30; 24 | There are {} minutes in an hour.
h-day | How many hours are in a day? | 24 | 12; 60; 48 | There are {} hours in a day.
day-week | How many days are in a week? | 7 | 5; 10; 6 | There are {} days in a week.
month-year | How many months are in a year? | 12 | 10; 13; 52 | There are {} months in a year.
leap | How many days are in a leap year? | 366 | 365; 364; 360 | A leap year has {} days.
common | How many days are in a year that is not a leap year? | 365 | 366; 364; 360 | A year that is not a leap year has {} days.
week-year | How many full weeks are in a year? | 52 | 48; 50; 12 | A year has {} full weeks.
s-h | How many seconds are in an hour? | 3600 | 360; 6000; 600 | There are {} seconds in an hour.
min-day | How many minutes are in a day? | 1440 | 1400; 3600; 1200 | There are {} minutes in a day.
century | How many years are in a century? | 100 | 1000; 10; 50 | There are {} years in a century.
decade | How many years are in a decade? | 10 | 100; 12; 5 | There are {} years in a decade.
in-ft | How many inches are in a foot? | 12 | 10; 3; 36 | There are {} inches in a foot.
ft-yd | How many feet are in a yard? | 3 | 12; 10; 5 | There are {} feet in a yard.
oz-lb | How many ounces are in a pound? | 16 | 12; 10; 14 | There are {} ounces in a pound.
bit-byte | How many bits are in a byte? | 8 | 16; 4; 10 | There are {} bits in a byte.
right | How many degrees are in a right angle? | 90 | 180; 45; 360 | A right angle measures {} degrees.
circle | How many degrees are in a full circle? | 360 | 180; 100; 400 | A full circle has {} degrees.
triangle | What do the interior angles of a triangle add up to, in degrees? | 180 | 360; 90; 270 | The interior angles of a triangle add up to {} degrees.
hexagon | How many sides does a hexagon have? | 6 | 8; 5; 7 | A hexagon has {} sides.
octagon | How many sides does an octagon have? | 8 | 6; 10; 7 | An octagon has {} sides.
pentagon | How many sides does a pentagon have? | 5 | 6; 4; 8 | A pentagon has {} sides.
boil-c | At sea level, at what temperature in degrees Celsius does water boil? | 100 | 90; 212; 110 | At sea level, water boils at {} degrees Celsius.
freeze-f | At what temperature in degrees Fahrenheit does water freeze? | 32 | 0; 212; 30 | Water freezes at {} degrees Fahrenheit.
freeze-c | At what temperature in degrees Celsius does water freeze? | 0 | 32; -10; 4 | Water freezes at {} degrees Celsius.
""")

BOOKS = table("""
# title | author | wrong authors
Pride and Prejudice | Jane Austen | Charlotte Brontë; Emily Brontë; George Eliot
Nineteen Eighty-Four | George Orwell | Aldous Huxley; Ray Bradbury; H. G. Wells
Hamlet | William Shakespeare | Christopher Marlowe; Ben Jonson; John Milton
Moby-Dick | Herman Melville | Nathaniel Hawthorne; Mark Twain; Jack London
War and Peace | Leo Tolstoy | Fyodor Dostoevsky; Anton Chekhov; Ivan Turgenev
Crime and Punishment | Fyodor Dostoevsky | Leo Tolstoy; Nikolai Gogol; Anton Chekhov
The Odyssey | Homer | Virgil; Sophocles; Ovid
Don Quixote | Miguel de Cervantes | Lope de Vega; Gabriel García Márquez; Jorge Luis Borges
Frankenstein | Mary Shelley | Percy Bysshe Shelley; Bram Stoker; Jane Austen
Great Expectations | Charles Dickens | Thomas Hardy; Wilkie Collins; Anthony Trollope
Jane Eyre | Charlotte Brontë | Emily Brontë; Anne Brontë; Jane Austen
Wuthering Heights | Emily Brontë | Charlotte Brontë; Anne Brontë; Thomas Hardy
Brave New World | Aldous Huxley | George Orwell; H. G. Wells; Ray Bradbury
The Divine Comedy | Dante Alighieri | Giovanni Boccaccio; Petrarch; Virgil
One Hundred Years of Solitude | Gabriel García Márquez | Jorge Luis Borges; Mario Vargas Llosa; Isabel Allende
To Kill a Mockingbird | Harper Lee | Truman Capote; John Steinbeck; William Faulkner
The Great Gatsby | F. Scott Fitzgerald | Ernest Hemingway; John Steinbeck; William Faulkner
Les Misérables | Victor Hugo | Alexandre Dumas; Émile Zola; Gustave Flaubert
The Adventures of Tom Sawyer | Mark Twain | Herman Melville; Jack London; Charles Dickens
Anna Karenina | Leo Tolstoy | Fyodor Dostoevsky; Ivan Turgenev; Alexander Pushkin
Alice's Adventures in Wonderland | Lewis Carroll | J. M. Barrie; Roald Dahl; Beatrix Potter
The Old Man and the Sea | Ernest Hemingway | John Steinbeck; Herman Melville; F. Scott Fitzgerald
Dracula | Bram Stoker | Mary Shelley; Edgar Allan Poe; Robert Louis Stevenson
Treasure Island | Robert Louis Stevenson | Daniel Defoe; Jules Verne; Jonathan Swift
Robinson Crusoe | Daniel Defoe | Jonathan Swift; Robert Louis Stevenson; Jules Verne
Gulliver's Travels | Jonathan Swift | Daniel Defoe; Lewis Carroll; Henry Fielding
The Time Machine | H. G. Wells | Jules Verne; Aldous Huxley; Arthur C. Clarke
The Hobbit | J. R. R. Tolkien | C. S. Lewis; Terry Pratchett; J. K. Rowling
Madame Bovary | Gustave Flaubert | Émile Zola; Victor Hugo; Honoré de Balzac
""")

SCIENCE = table("""
# key | question | answer | wrong answers | statement
photosynthesis | What gas do plants take in from the air for photosynthesis? | carbon dioxide | oxygen; nitrogen; hydrogen | Plants take in {} from the air for photosynthesis.
hardest | What is the hardest naturally occurring substance? | diamond | quartz; corundum; topaz | The hardest naturally occurring substance is {}.
organ | What is the largest organ of the human body? | skin | liver; brain; lungs | The largest organ of the human body is the {}.
bones | How many bones are in the adult human body? | 206 | 201; 212; 300 | The adult human body has {} bones.
water | What is the chemical formula for water? | H2O | H2O2; HO2; CO2 | The chemical formula for water is {}.
salt | What is the chemical formula for table salt? | NaCl | KCl; NaOH; CaCl2 | The chemical formula for table salt is {}.
powerhouse | Which part of a cell is known as its powerhouse? | mitochondria | nucleus; ribosomes; Golgi apparatus | The powerhouse of the cell is the {}.
ocean | What is the largest ocean on Earth? | Pacific | Atlantic; Indian; Arctic | The largest ocean on Earth is the {} Ocean.
everest | What is the tallest mountain above sea level? | Mount Everest | K2; Kangchenjunga; Mont Blanc | The tallest mountain above sea level is {}.
prime | What is the smallest prime number? | 2 | 1; 3; 0 | The smallest prime number is {}.
sqrt | What is the square root of 144? | 12 | 14; 11; 72 | The square root of 144 is {}.
blood | Which cells carry oxygen around the human body? | red blood cells | white blood cells; platelets; nerve cells | Oxygen is carried around the body by {}.
egypt | On which continent is Egypt? | Africa | Asia; Europe; Oceania | Egypt is in {}.
gravity | What force keeps the planets in orbit around the Sun? | gravity | magnetism; friction; inertia | The planets are held in orbit by {}.
chromosomes | How many chromosomes do humans normally have? | 46 | 23; 44; 48 | Humans normally have {} chromosomes.
heart | Which organ pumps blood around the body? | heart | liver; brain; stomach | The {} pumps blood around the body.
vitamin | Which vitamin does the skin make when exposed to sunlight? | vitamin D | vitamin C; vitamin A; vitamin B12 | The skin makes {} when exposed to sunlight.
""")

NOTES = {
    "capital": "It is where the national government is based.",
    "symbol": "You can check this on any periodic table.",
    "planet": "This is one of the basic facts about our Solar System.",
    "unit": "This follows from the standard definitions of the units.",
    "book": "It is one of the best-known works of its author.",
    "science": "This is well established in science textbooks.",
}
"""A neutral elaboration sentence per category, used to make long responses."""
