"""US places a shopper names in a price question: "Denver, CO", "94103", "Texas", "Seattle".

Tax is charged by state, so a place is read down to its state: a two-letter code after a
city and a comma, a state's name, a five-digit ZIP (its first three digits give the state),
or one of the larger US cities on its own.
"""

from __future__ import annotations

import re

from assistant.intents import Place

STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC",
}  # fmt: skip
CODES = frozenset(STATES.values())
CITIES = {
    "new york city": "NY", "nyc": "NY", "los angeles": "CA", "chicago": "IL", "houston": "TX",
    "phoenix": "AZ", "philadelphia": "PA", "san antonio": "TX", "san diego": "CA",
    "dallas": "TX", "austin": "TX", "san jose": "CA", "san francisco": "CA", "jacksonville": "FL",
    "columbus": "OH", "fort worth": "TX", "charlotte": "NC", "indianapolis": "IN",
    "seattle": "WA", "denver": "CO", "boston": "MA", "nashville": "TN", "detroit": "MI",
    "portland": "OR", "las vegas": "NV", "memphis": "TN", "louisville": "KY",
    "baltimore": "MD", "milwaukee": "WI", "albuquerque": "NM", "tucson": "AZ", "fresno": "CA",
    "sacramento": "CA", "atlanta": "GA", "miami": "FL", "orlando": "FL", "tampa": "FL",
    "minneapolis": "MN", "new orleans": "LA", "cleveland": "OH", "pittsburgh": "PA",
    "st louis": "MO", "saint louis": "MO", "kansas city": "MO", "salt lake city": "UT",
    "honolulu": "HI", "anchorage": "AK", "omaha": "NE", "raleigh": "NC", "oakland": "CA",
    "brooklyn": "NY", "boise": "ID", "richmond": "VA", "buffalo": "NY", "cincinnati": "OH",
}  # fmt: skip
# the first three digits of a ZIP code -> its state (ranges as the postal service assigns them)
ZIP3 = [
    (5, 5, "NY"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"), (50, 59, "VT"),
    (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
    (200, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
    (290, 299, "SC"), (300, 319, "GA"), (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"),
    (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"),
    (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"), (570, 577, "SD"),
    (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"),
    (680, 693, "NE"), (700, 715, "LA"), (716, 729, "AR"), (730, 749, "OK"), (750, 799, "TX"),
    (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"),
    (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"),
    (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
]  # fmt: skip

TO = r"(?:to|in|into|for|at|near|around)\s+"
ZIP = re.compile(
    r"\b(?:to|in|into|for|at|zip(?:\s*code)?\s*:?)\s+(\d{5})(?:-\d{4})?(?![\d%.,])", re.I
)
# "Denver, CO", "salt lake city, ut 84101": the words before the comma, back to a word that
# is no part of a name
CITY_STATE = re.compile(
    r"((?:[a-z][a-z.'-]*\s+){0,2}[a-z][a-z.'-]*),\s*([a-z]{2})\b\.?(?:\s+(\d{5}))?", re.I
)
NOT_NAME = frozenset({
    "to", "in", "into", "for", "at", "near", "around", "my", "the", "shipped", "shipping",
    "ship", "sent", "send", "delivered", "delivery", "deliver", "is", "be", "of", "and", "me",
    "address", "with", "from", "cost", "costs", "price", "total", "tax",
})  # fmt: skip
STATE_NAME = re.compile(
    TO + r"(?:the state of\s+)?(" + "|".join(sorted(STATES, key=len, reverse=True)) + r")\b", re.I
)
CITY = re.compile(TO + r"(" + "|".join(sorted(CITIES, key=len, reverse=True)) + r")\b", re.I)


def zip_state(postal_code: str) -> str | None:
    prefix = int(postal_code[:3])
    return next((state for low, high, state in ZIP3 if low <= prefix <= high), None)


def find_place(text: str) -> tuple[Place, tuple[int, int]] | None:
    """The US place `text` names after "to"/"in" (or after a comma), and where it is."""
    for m in CITY_STATE.finditer(text):
        region = m.group(2).upper()
        words = m.group(1).split()
        stops = [i for i, w in enumerate(words) if w.lower() in NOT_NAME]
        if stops:
            words = words[stops[-1] + 1 :]
        if region in CODES and words:
            start = m.end(1) - len(" ".join(words))
            city = " ".join(w.capitalize() for w in words)
            return Place(city=city, region=region, postal_code=m.group(3)), (start, m.end())
    if named := STATE_NAME.search(text):
        return Place(city=None, region=STATES[named.group(1).lower()]), named.span()
    if town := CITY.search(text):
        name = town.group(1).lower()
        label = " ".join(w.capitalize() for w in name.split()) if name != "nyc" else "New York"
        return Place(city=label, region=CITIES[name]), town.span()
    for code in ZIP.finditer(text):
        if (state := zip_state(code.group(1))) is not None:
            return Place(region=state, postal_code=code.group(1)), code.span()
    return None
