"""A deterministic parser for the common ways people ask for things. No network, no model.

It reads quantities written as digits or words ("two", "a dozen", "a couple of"),
pack sizes ("8-pack", "packs of 12"), budgets ("under $30", "no more than 25 dollars")
and per-item caps ("max $10 each"), "the cheapest", brands ("by Anker"), colours and
lengths, coupon codes ("use code SAVE10"), order references (ids or "my last order"),
"same as last time", cart edits ("make it three", "remove the cable") and yes/no
answers. Instructions aimed at the assistant itself ("ignore the budget", "approve it
yourself") are dropped and noted; they never become a confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import ValidationError

from assistant.intents import (
    LATEST,
    MAX_QUANTITY,
    SCOPE,
    ApplyCoupon,
    Buy,
    CancelOrder,
    ChangeQuantity,
    Checkout,
    Confirm,
    Constraints,
    Decline,
    EmptyCart,
    Intent,
    ItemRequest,
    ListOrders,
    ListPromotions,
    OrderStatus,
    ParsedMessage,
    PriceQuote,
    Refund,
    RemoveItems,
    Reorder,
    Search,
    Unclear,
    Unsupported,
    ViewCart,
)
from assistant.places import find_place
from assistant.text import one_letter_off as _one_letter_off

NUMBER_WORDS = {
    "zero": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "couple": 2, "pair": 2, "dozen": 12,
    "few": 3, "both": 2,
}  # fmt: skip
NUMBER_PHRASES = [
    (r"half a dozen", 6),
    (r"a couple of", 2),
    (r"a couple", 2),
    (r"a pair of", 2),
    (r"a dozen", 12),
    (r"a few", 3),
]
NUM = r"(?:\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

COLOURS = {
    "black", "white", "red", "blue", "green", "yellow", "pink", "purple", "grey", "gray",
    "silver", "gold", "orange", "brown", "beige", "navy",
}  # fmt: skip
SIZES = {"xs": "XS", "small": "S", "medium": "M", "large": "L", "xl": "XL", "xxl": "XXL"}
LARGEST = re.compile(
    r"\b(?:the )?(?:biggest|largest|big|jumbo|bulk|family[- ]size|value)\s+(?:pack|box|bag|size|one)(?:\s+of)?\b"
)
UNIT_WORDS = {
    "gal": "gallon", "gallons": "gallon", "ounces": "oz", "ounce": "oz", "lbs": "lb",
    "pounds": "lb", "pound": "lb", "pcs": "pieces", "pc": "pieces", "piece": "pieces",
    "sheet": "sheets", "liters": "l", "liter": "l", "litres": "l", "litre": "l",
    "quarts": "qt", "quart": "qt", "watts": "w", "watt": "w",
}  # fmt: skip
MEASURE = re.compile(
    r"\b(\d+(?:\.\d+)?)[- ]?(gallons?|gal|oz|ounces?|lbs?|pounds?|ml|liters?|litres?|qt|quarts?"
    r"|pieces?|pcs|pc|sheets?|watts?|mah|gb|tb)\b"
)
GENDER = r"(?:women'?s|womens|ladies'?|men'?s|mens|girls'?|boys'?|kids'?|unisex|toddler|baby)"
# things sold by the pair: "a pair of sneakers" is one of them, "a pair of batteries" two
PAIRED = (
    r"(?:shoes|sneakers|trainers|boots|sandals|slippers|heels|flats|loafers|cleats|socks|gloves"
    r"|mittens|earrings|jeans|pants|trousers|shorts|leggings|tights|pajamas|glasses|sunglasses"
    r"|goggles|scissors|shears|pliers|headphones|earbuds|skates|binoculars)"
)
CONTAINERS = (
    r"(?:packs?|boxes|box|bottles?|bags?|cans?|jars?|sets?|rolls?|bundles?|cases?|cartons?)"
)
# "2 packs of" counts packs; "a pack of" is one; "12 pack of" is a pack size.
COUNTED_CONTAINERS = (
    rf"(?:(?P<q>{NUM})\s+(?:packs|boxes|bottles|bags|cans|jars|sets|rolls|bundles|cases|cartons|pairs)"
    r"|(?P<q1>a|an|one)\s+(?:pack|box|bottle|bag|can|jar|set|roll|bundle|case|carton))"
)

YES = {
    "yes", "y", "yep", "yeah", "yup", "sure", "ok", "okay", "confirm", "confirmed", "approve",
    "approved", "go ahead", "do it", "place the order", "place it", "buy it", "sounds good",
    "yes please", "please do", "go for it", "proceed", "looks good", "perfect", "correct",
}  # fmt: skip
NO = {
    "no", "n", "nope", "nah", "cancel", "stop", "don't", "dont", "do not", "not now",
    "never mind", "nevermind", "no thanks", "no thank you", "abort", "forget it",
}  # fmt: skip

# words after a "yes"/"ok" that change the request rather than approve it
EDIT_AFTER_YES = re.compile(
    r"\b(?:make|change|set|add|remove|take|drop|instead|but|only|actually|swap|switch|"
    r"rather|more|less|fewer|another)\b|\d|\b(?:"
    + "|".join(
        w
        for w in NUMBER_WORDS
        if NUMBER_WORDS[w] > 1 and w not in ("both", "couple", "pair", "few")
    )
    + r")\b"
)
INJECTION = re.compile(
    r"(ignore (?:the |my |all |your |previous |prior )*(?:budget|limit|instructions?|rules?|confirmation)"
    r"|(?:approve|confirm) (?:it |this |the order )?(?:yourself|automatically|for me)"
    r"|skip (?:the )?(?:confirmation|approval|check(?:s)?|asking)"
    r"|(?:don'?t|do not|no need to) (?:ask|confirm|check)(?: me)?(?: first)?"
    r"|without (?:asking|confirmation|confirming|approval)"
    r"|you are now [^.,;!]*|system prompt[^.,;!]*|developer mode[^.,;!]*"
    r"|pretend [^.,;!]*|act as [^.,;!]*|override [^.,;!]*"
    r"|(?:^|(?<=[;.!?]))\s*(?:assistant|system|user|admin)\s*:[^.;!]*)",
    re.IGNORECASE,
)
# requests no shopper's assistant carries out: its own prompt, made-up discounts, prices,
# other people's data, the shop's systems
OUT_OF_SCOPE = re.compile(
    r"\b(?:system prompt|your (?:prompt|instructions|rules|configuration)"
    r"|(?:give|make|generate|create|invent) (?:me )?(?:a |an )?(?:\S+ )?(?:discount|coupon|promo) code"
    r"|(?:set|change|lower|edit) the price"
    r"|(?:orders?|account|cart|address|details) of (?:someone|somebody|another|other|[\w.+-]+@)"
    r"|(?:someone|somebody) else'?s (?:orders?|account|cart)"
    r"|(?:delete|drop|wipe|hack|dump) (?:the |your |all )?(?:database|db|server|system|tables?|users)"
    r"|sql injection)",
    re.IGNORECASE,
)
VAGUE = {
    "something", "stuff", "things", "thing", "anything", "gift", "present", "items", "item",
    "whatever", "some", "products", "product", "nice", "good", "cool", "fun", "random",
    "special", "interesting", "useful", "help", "shop", "shopping", "surprise", "idea",
    "ideas", "dad", "mom", "mum", "father", "mother", "wife", "husband", "son", "daughter",
    "friend", "boyfriend", "girlfriend", "brother", "sister", "grandma", "grandpa", "boss",
    "teacher", "birthday", "christmas", "anniversary", "someone", "him", "her",
}  # fmt: skip
RECIPIENTS = {
    "dad", "mom", "mum", "father", "mother", "wife", "husband", "son", "daughter", "friend",
    "boyfriend", "girlfriend", "brother", "sister", "grandma", "grandpa", "boss", "teacher",
    "kids", "kid", "baby", "toddler", "teen", "teenager", "coworker", "colleague", "nephew",
    "niece", "parents", "grandparents", "neighbor", "neighbour", "him", "her",
}  # fmt: skip
# "a gift for …", "something for …", "ideas for …", "what should I get …": an open request,
# and the words after it say what it is for
OPEN_REQUEST = re.compile(
    r"\b(?:(?:a |some |any |good |nice |little |small )*(?:gifts?|presents?|something|anything|stuff"
    r"|things|ideas?|suggestions?|recommendations?|stocking stuffers?)(?: nice| good| fun| useful| cool)?"
    r"\s+(?:for|to take to|to bring to|to take on|to(?! (?:my|the|your|our) (?:cart|basket|bag|order)))"
    r"|what (?:should|could|can) i (?:get|buy|bring|take)(?: (?:for|to))?"
    r"|(?:any )?ideas (?:on|about) what to (?:get|buy|bring)(?: (?:for|to))?)"
    r"\s+(?P<for>[^.?!]{1,120})"
)
OPEN_FILLER = {
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "who", "that", "likes",
    "loves", "under", "occasion", "really", "something", "little", "maybe", "any",
    "ideas", "idea", "gift", "gifts", "present", "presents", "like",
}  # fmt: skip
FILLER = {
    "please", "pls", "plz", "me", "give", "using", "asap", "some", "of", "for", "the", "my",
    "i", "need", "want",
    "would", "like", "to", "get", "buy", "order", "purchase", "grab", "add", "cart", "into",
    "in", "also", "and", "can", "you", "could", "just", "gimme", "wanna", "id", "i'd",
    "im", "i'm", "looking", "find", "thanks", "thx", "that", "with", "new", "another",
    "more", "us", "our", "we", "hey", "hi", "hello", "quick", "ship", "it", "them",
    "deliver", "home", "send", "now", "today", "all", "be", "is", "are", "will", "use",
    "apply", "redeem", "code", "coupon", "show", "search", "look", "any", "have", "sell",
    "carry", "do", "options", "got", "there", "yes", "yeah", "yep", "ok", "okay", "sure", "no",
    "nope", "put", "throw", "toss", "stick", "pop", "later", "i'll", "i've", "please,", "max",
    "total", "tops", "ugh", "oh", "wait", "hmm", "um", "uh", "well", "actually", "maybe",
    "your", "yo", "sup", "on",
}  # fmt: skip
PLACES = {
    "kitchen",
    "office",
    "home",
    "garden",
    "bathroom",
    "bedroom",
    "desk",
    "car",
    "kids",
    "baby",
    "dog",
    "cat",
    "trip",
    "party",
    "camping",
}

MONEY = r"\$?\s*(\d+(?:[.,]\d{1,2})?)\s*(?:dollars?|bucks|usd|\$)?"
BUDGET = re.compile(
    r"(?:(?:for |with )?(?:a |my )?budget(?: of| is|:)?|under|below|less than|at most|"
    r"max(?:imum)?(?: of)?|no more than|not more than|up to|within|cheaper than|"
    r"(?:can'?t|cannot|can not|won'?t|don'?t want to|do not want to|shouldn'?t|mustn'?t) "
    r"(?:spend|pay|go|be)(?: more than| over| above| beyond| past)|"
    r"(?:not|nothing) (?:over|above)|keep it (?:under|below|to)|"
    r"spend(?:ing)? (?:at most |up to |no more than )?)\s*" + MONEY
    + r"(\s*(?:each|apiece|per item|per unit|a piece|per pack|per one))?",
    re.IGNORECASE,
)  # fmt: skip
# "but I only have $40", "I've got 30 bucks", "all I have is $25": a money sign or word is
# required, so "I have 2 kids" is no budget
CASH = r"(\$\s*\d+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?\s*(?:dollars?|bucks|usd)\b|\d+(?:[.,]\d{1,2})?\s*\$)"
BUDGET_HAVE = re.compile(
    r"\b(?:i\s+)?(?:only\s+|just\s+)?(?:have|'ve got|ve got|got|have got|has)\s+(?:only\s+|just\s+)?"
    r"(?:about\s+|around\s+|like\s+)?" + CASH + r"(?:\s+to spend(?:\s+on)?)?"
    + r"|\ball i (?:have|got) is\s+" + CASH
    + r"|\b(?:for|around|about|roughly|approximately|approx)\s+(?:about\s+|around\s+|roughly\s+)?" + CASH
    + r"|(?<![\w$.])" + CASH + r"\s+(?:is all i (?:have|got)|to spend|is my limit|is the limit|max\b|tops\b)",
    re.IGNORECASE,
)  # fmt: skip
# an amount said roughly: "about $20", "around 20 bucks", "roughly $20", "$20 or so"
APPROXIMATE = re.compile(
    r"\b(?:about|around|roughly|approximately|approx|ish|give or take|or so|ballpark)\b"
    r"(?:\s+(?:about|around|like))?\s*\$?\s*\d|\d\s*(?:dollars?|bucks|usd)?\s*(?:or so|give or take)\b",
    re.I,
)
BUDGET_SUFFIX = re.compile(r"\$\s*(\d+(?:[.,]\d{1,2})?)\s*(?:budget|max|tops|or less)", re.I)
COUPON = re.compile(
    r"\b(?:(?:promo|discount|coupon|voucher)(?:\s*code)?|code)\b\s*[:=,]?\s*([A-Za-z0-9][A-Za-z0-9_-]{2,31})\b",
    re.IGNORECASE,
)
# "apply SAVE10", "redeem WELCOME5 please": a code named without the word "code" is
# written in capitals and carries a digit
CODE_VERB = re.compile(r"\b(?:apply|use|redeem)\s+(?:the\s+)?([A-Z][A-Z_-]*\d[A-Z0-9_-]*)\b")
APPLY_CODE = re.compile(r"^\s*(?:apply|use|redeem)\s+([A-Z0-9][A-Z0-9_-]{2,31})\s*$")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
# "order 1a2b3c4d", "order #1042", "order number 55555", "#1042": a number that names an
# order (never "order 2 packs of …")
ORDER_NO = re.compile(
    r"\border\s*(?:#|number|no\.?|id)?\s*:?\s*#?([0-9a-f]{6,36}|\d{1,12})\b"
    r"(?!\s*(?:x\b|packs?\b|of\b|boxes\b|bottles\b|bags\b|rolls\b|units?\b|pcs\b|pieces\b))"
    r"|(?<![\w&])#\s*([0-9a-f]{6,36}|\d{1,12})\b",
    re.I,
)
LATEST_ORDER = re.compile(
    r"\b(?:last|latest|most recent|newest|recent|previous)\s+(?:order|purchase|delivery)\b", re.I
)
AMOUNT = re.compile(r"\$\s*(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s*(?:dollars?|bucks)", re.I)


WHAT_NEXT = (
    "Sorry, I could not read that. What would you like to do? You can name a product and "
    "how many, ask about an order, or ask what is in your cart."
)


class Impossible(Exception):
    """A request no order can carry out (a quantity of zero, below zero or above what one
    order holds): the parser answers it with `question`."""

    def __init__(self, question: str) -> None:
        super().__init__(question)
        self.question = question


def checked_quantity(quantity: int, what: str) -> int:
    """`quantity` when one order can hold it, else `Impossible` with the question to ask."""
    if quantity > MAX_QUANTITY:
        raise Impossible(
            f"One order can hold at most {MAX_QUANTITY:,} of an item, so I cannot order "
            f"{quantity:,} {what}. How many would you like (1 to {MAX_QUANTITY})?"
        )
    if quantity <= 0:
        raise Impossible(f"How many {what} would you like? Please give a number of 1 or more.")
    return quantity


TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}  # fmt: skip
UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_SPELLED = (
    r"(?:(?:a|one|two|three|four|five|six|seven|eight|nine)\s+hundred(?:\s+and)?\s*)?"
    r"(?:(?:" + "|".join(TENS) + r")(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|" + "|".join(sorted(UNITS, key=len, reverse=True)) + r")?"
)
# "twenty bucks", "a hundred dollars", "forty-five dollars": spelled-out money as digits
MONEY_WORDS = re.compile(
    r"\b((?=[a-z])" + _SPELLED + r"|(?:a|one|two|three|four|five)\s+hundred)\s+(dollars?|bucks)\b",
    re.I,
)


def words_to_number(words: str) -> int:
    """'forty-five' -> 45, 'a hundred and twenty' -> 120."""
    total = 0
    current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word in ("and", ""):
            continue
        if word == "hundred":
            total += max(current, 1) * 100
            current = 0
        elif word == "a":
            current = 1
        else:
            current += TENS.get(word) or UNITS.get(word, 0)
    return total + current


FOREIGN = frozenset({
    "quiero", "comprar", "necesito", "hola", "gracias", "pedido", "dónde", "donde", "carrito",
    "je", "voudrais", "acheter", "bonjour", "merci", "commande", "où", "panier", "besoin",
    "ich", "möchte", "kaufen", "bitte", "bestellung", "hallo", "danke", "warenkorb", "brauche",
    "quero", "obrigado", "obrigada", "preciso", "vorrei", "comprare", "grazie", "ordine",
    "por", "favor", "una", "unos", "des", "une", "ein", "eine", "und", "mein", "meine", "mi",
    "mis", "el", "los", "las", "le", "les", "de", "du", "pour", "para", "con", "mit", "für",
})  # fmt: skip
OTHER_LANGUAGE = (
    "I can only help in English for now. In English I can find products and order them "
    "(always after your yes), change your cart, check orders and handle returns."
)
CHECKOUT_WORDS = re.compile(r"\b(?:check ?out|checkout|pay|place (?:the|my|an) order)\b")
# "check out my cart", "buy what's in my cart", "ok let's check out", "proceed to payment"
CHECKOUT_CART = re.compile(
    r"\b(?:check ?out|checkout|proceed to (?:check ?out|checkout|payment)|pay(?: for)?(?: it| them| everything)?(?: now)?"
    r"|place (?:my|the|an) order|complete (?:my|the) (?:order|purchase)"
    r"|(?:buy|order|purchase|get|pay for) (?:what'?s|what is|everything|all|the (?:stuff|things|items)|whatever'?s?|whatever is)"
    r"(?: that'?s| that is| is)? in (?:my|the) (?:cart|basket|bag)"
    r"|(?:buy|order|purchase|pay for) (?:my|the) (?:cart|basket)|(?:buy|order|purchase) (?:it|them|everything) now"
    r"|(?:approve|confirm|place) (?:the |my )?order in (?:my|the) (?:cart|basket))\b"
)
CHECKOUT_LEFTOVER = {
    "ok", "okay", "let's", "lets", "let", "us", "now", "please", "i", "want", "to", "would",
    "like", "i'd", "can", "you", "go", "ahead", "and", "ready", "i'm", "im", "my", "the", "cart",
    "basket", "so", "alright", "great", "thanks", "then", "just", "time", "we", "are", "done",
    "that's", "all", "it", "with", "everything", "in", "through", "do", "a", "sure", "yes",
    "yeah", "cool", "good", "perfect", "shopping", "think", "guess", "could", "should", "using",
}  # fmt: skip
ADD_ONLY = re.compile(
    r"\b(?:add|put|throw|toss|stick|pop|place)\b[^.?!]*\b(?:cart|basket|bag|trolley)\b"
    r"|\b(?:to|into) (?:my|the) (?:cart|basket|trolley)\b|^\s*(?:please |can you |could you )?add\b"
    r"|\bcheck ?out later\b|\b(?:not|don'?t|do not) (?:buy|order|check ?out|checkout|pay)(?:ing)?(?: it| them)? (?:yet|now|right now)\b"
    r"|\bwithout (?:buying|paying|checking out|ordering)\b|\bfor later\b|\bsave (?:it|them) for later\b"
)
UNSUPPORTED = [
    (re.compile(r"\b(?:admin|administrator|root|database|server|api)\s+(?:password|credentials?|keys?|access)\b|\bpasswords? (?:of|for) (?:the )?(?:admin|shop|store|system)"),
     "I can't share or change anything about the shop's systems; I can help you shop, check your orders and manage your cart."),
    (re.compile(r"\b(?:someone|somebody|another (?:person|customer)|other people)(?: else)?'?s? (?:saved )?(?:card|payment|credit card|account|address)"),
     "I can only pay with your own saved card and ship to your own address."),
    (re.compile(r"\b(?:approve|confirm|accept) (?:every|all|any) (?:future |later |next )?(?:orders?|purchases?)|\bauto(?:matically)?[- ]?approve"),
     "I ask for your yes before every order; I can't approve future orders for you."),
    (re.compile(r"\bgift ?cards?\b|\bgift certificates?\b|\be-?gift\b"),
     "I can't sell or redeem gift cards."),
    (re.compile(r"\bsubscri(?:be|ption)s?\b|\bauto-?ship\b|\brecurring\b|\bevery (?:week|month|two weeks)\b|\b(?:weekly|monthly) deliver"),
     "I can't set up subscriptions or repeat deliveries; I can place one order at a time."),
    (re.compile(r"\bprice ?match\w*|\bmatch (?:the|their|a|this|that) (?:price|deal)|\bbeat (?:the|their|a|this) price|\bcheaper (?:at|on) (?:amazon|walmart|target|ebay|costco)"),
     "I can't match other shops' prices; I can find the cheapest option we carry."),
    (re.compile(r"(?:€|£|¥|₹)|\b(?:euros?|eur|gbp|pounds sterling|british pounds|quid|yen|cad|canadian dollars?|aud|australian dollars?|pesos?|rupees?|inr|mxn|bitcoin|btc|crypto)\b"),
     "Prices and payments are in US dollars (USD) only."),
    (re.compile(r"\b(?:ship|deliver|send|shipping|delivery)\b[^.?!]*\b(?:to|in)\s+(?:canada|mexico|the uk|uk|england|london|germany|france|europe|australia|japan|india|china|brazil|overseas|abroad|international(?:ly)?|toronto|vancouver|paris|berlin|sydney|tokyo)\b|\binternational(?:ly)? (?:shipping|delivery)\b"),
     "We ship only to addresses in the United States."),
]  # fmt: skip
# "send it to Denver, CO", "ship a lamp to my office in Denver": a destination is named
SEND_TO = re.compile(r"\b(?:ship|send|deliver|mail)\w*\b[^.?!]*?\bto\b")
# a destination that is someone else's or another place than the account's address
SEND_TO_SOMEONE = re.compile(
    r"\b(?:ship|send|deliver|mail)\w*\b[^.?!]*?\bto\s+((?:my|our|a|the)\s+(?:office|work(?:place)?"
    r"|job|school|dorm|college|friend|mom|mother|dad|father|parents|sister|brother|grand(?:ma|pa|mother|father|parents)"
    r"|aunt|uncle|cousin|neighbou?r|boss|colleague|co-?worker|girlfriend|boyfriend|wife|husband"
    r"|partner|son|daughter|kids?|niece|nephew|vacation home|cabin|hotel)s?\b|work\b)"
)
PROMOTIONS = re.compile(
    r"\b(?:any|what|which|current|active|ongoing)\b[^.?!]*\b(?:promotions?|promos?|deals|sales|specials|discounts|coupons?(?: codes?)?)\b"
    r"|\b(?:promotions?|promos?|deals|sales|specials|discounts)\b[^.?!]*\b(?:going on|running|right now|today|this week|active|available|on offer)\b"
)  # fmt: skip
CHARGES = re.compile(
    r"\b(?:was|were|am|have|has|did|got|been|get|why|being)\s+(?:i\s+|you\s+|my card\s+|me\s+)?(?:been\s+)?(?:double[- ])?(?:charged|billed)\b"
    r"|\bcharges? (?:on|to) my (?:card|account|statement)\b|\bhow much did i (?:pay|spend)\b"
    r"|\b(?:double|twice)[- ]charged\b|\bcharged (?:me )?twice\b|\bwhat (?:did|have) (?:i|you) (?:pay|paid|charge)"
)
LIST_ORDERS = re.compile(
    r"\b(?:show|list|see|view|what are|check|give me|pull up|look up)\b[^.?!]*\bmy (?:\w+ )?(?:orders|purchases)\b"
    r"|\border history\b|\bmy (?:past|previous|recent|last few|old) (?:orders|purchases)\b"
    r"|\bwhat (?:did|have) i (?:order|ordered|buy|bought|purchase|purchased)\b|\ball (?:of )?my orders\b"
    r"|^\s*(?:my )?orders\s*\??$"
)
EMPTY_CART = re.compile(
    r"\b(?:empty|clear|wipe|reset|clean out)\b[^.?!]*\b(?:cart|basket|bag|trolley)\b"
    r"|\b(?:remove|delete|take out|get rid of|drop)\s+(?:everything|all(?: (?:the )?items| of it| of them)?)\b(?:\s+(?:from|in|out of)\s+(?:my |the )?(?:cart|basket|bag))?"
    r"|\bstart (?:over|again) with (?:my|the|an empty) (?:cart|basket)\b"
)
PRICE_QUESTION = re.compile(
    r"\bhow much (?:is|are|would|will|does|do|for)\b|\bwhat(?:'s| is| would be| will be) the (?:price|cost|total|tax|shipping)\b"
    r"|\bwhat would\b[^.?!]*\bcost\b|\bprice of\b|\bcost of\b|\bwith tax\b|\bincluding (?:tax|shipping)\b"
)
# what makes a price question one about the whole cost (tax, shipping, a total) and the
# phrases around a place ("shipped to", "delivered to")
QUOTE_WORDS = re.compile(
    r"\b(?:(?:with|plus|including|incl\.?|after|and|before) )?(?:sales )?tax(?:es)?(?: and shipping)?\b"
    r"|\b(?:shipped|shipping|sent|delivered|delivery|deliver|ship|send)(?: (?:cost|costs|fee|fees|charge))?(?: (?:to|in))?\b"
    r"|\b(?:all in|out the door|in total|the total|total cost|total price|grand total|total)\b"
)
QUESTION_WORDS = re.compile(
    r"\b(?:how|much|would|cost|costs|price|prices|what|whats|what's|is|be|will|does|do|the|a"
    r"|an|with|come|comes|to|out|for|plus|it|are|can|could|you|i|me|if|that|this|quote|estimate"
    r"|roughly|about|exactly|be|get|my|be|order)\b"
)
# words of wanting: a message with one is a request, not a question about a price
BUYING = re.compile(
    r"\b(?:buy|order|purchase|add|get me|i need|i want|i'?ll take|can i (?:get|have)"
    r"|could i (?:get|have)|can you (?:get|grab|order)|i'?d like|pick up"
    r"|make (?:that|it|this) work|find me)\b"
)
# a question about what something costs ("under $20 including shipping" is a budget)
COST_QUESTION = re.compile(
    r"\bhow much\b|\bwhat(?:'s| is| would| will| does| do)?\b[^.?!]*\b(?:cost|costs|price|total"
    r"|come to|comes to|tax|taxes|shipping)\b|\b(?:price|cost) of\b"
)
# words after "code" that are no code ("check out without a code then")
NOT_CODES = frozenset({
    "for", "the", "and", "please", "is", "then", "now", "it", "that", "this", "too", "again",
    "instead", "first", "here", "there", "anyway", "either", "or", "on", "at", "in", "pls",
    "codes", "available", "today", "running",
})  # fmt: skip
# going on without a coupon: "without it", "without the code", "skip the coupon"
WITHOUT_CODE = re.compile(
    r"\b(?:without|w/o|minus)\s+(?:it|that|this|(?:the|a|any|that|this|my|your)\s+(?:code|coupon|discount|promo(?: code)?))\b"
    r"|\b(?:skip|forget|drop|never ?mind|no)\s+(?:the|that|this|my)?\s*(?:code|coupon|discount|promo(?: code)?)\b"
)
QUOTE_HOW = (
    "Tax and shipping depend on the address: I work them out on the quote I show before "
    "anything is charged. Tell me what to put in your cart (it is not bought until you say "
    "yes), or ask me for a product's price."
)


def _other_language(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    if latin / len(letters) < 0.5:
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    foreign = sum(1 for w in words if w in FOREIGN)
    return foreign >= 2 and foreign * 3 >= len(words)


def cents(text: str) -> int:
    value = text.replace(",", ".")[:15]
    if "." in value:
        whole, frac = value.split(".", 1)
        return int(whole or 0) * 100 + int((frac + "0")[:2])
    return int(value) * 100


def number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


# chat shorthand, spelled out before anything else reads the message
INFORMAL = {
    "teh": "the", "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks",
    "ty": "thanks", "wanna": "want to", "gonna": "going to", "gimme": "give me",
    "lemme": "let me", "k": "ok", "kk": "ok", "asap": "", "rn": "now", "tho": "though",
    "w/": "with", "kan": "can", "cn": "can", "sum": "some", "n": "and", "nd": "and",
    "sz": "size", "pkg": "pack", "those": "", "these": "", "pk": "pack", "bc": "because", "cuz": "because",
}  # fmt: skip
# the words that decide what a message asks for; a misspelling one letter off (a letter
# left out, added or swapped with its neighbour) still reads as the word
KEYWORDS = ("cancel", "return", "refund", "checkout", "remove", "order", "orders", "delete")


def _normalise_word(word: str) -> str:
    lowered = word.lower()
    if lowered in INFORMAL:
        return INFORMAL[lowered]
    if len(lowered) >= 5 and lowered.isalpha() and lowered not in KEYWORDS:
        for keyword in KEYWORDS:
            if _one_letter_off(lowered, keyword):
                return keyword
    return word


ASIDE = re.compile(r"\[[^\]]*\]|\([^)]*\bassistant\b[^)]*\)", re.I)


def _clean(text: str) -> str:
    # "[note to assistant: …]": a bracketed aside to the assistant is no part of the request
    text = ASIDE.sub(" ", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"([!?.])\1+", r"\1", text)  # "hey!!" -> "hey!"
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # "1,000" -> "1000"
    text = re.sub(  # "$20ish" -> "about $20"
        r"(\$\s*\d+(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:dollars?|bucks))\s*-?\s*ish\b",
        r"about \1",
        text,
        flags=re.I,
    )
    text = re.sub(r"(?<=\d)\s*-?\s*ish\b", "", text, flags=re.I)
    text = re.sub(r"~\s*(?=\$?\s*\d)", "about ", text)  # "~$20" -> "about $20"
    text = MONEY_WORDS.sub(lambda m: f"{words_to_number(m.group(1))} {m.group(2)}", text)
    text = re.sub(r"[A-Za-z0-9/]+", lambda m: _normalise_word(m.group(0)), text)
    return re.sub(r"\s+", " ", text).strip()


UNREADABLE = (
    "I couldn't make sense of that request. Could you say it another way, for example "
    "'two packs of AA batteries under $30'?"
)


def _bare(text: str) -> str:
    return re.sub(r"[^a-z' ]", "", text.lower()).strip()


class OfflineParser:
    """Deterministic rules; `parse` never raises and always returns an intent."""

    name = "offline"

    def parse(self, text: str, *, awaiting_confirmation: bool = False) -> ParsedMessage:
        try:
            return self._parse(text, awaiting_confirmation=awaiting_confirmation)
        except Impossible as exc:
            return ParsedMessage(intent=Unclear(question=exc.question), notes=[exc.question])
        except (ValidationError, ValueError, OverflowError, RecursionError):
            # a reading the typed intents refuse (a number out of every range, say) is a
            # question, never a failed turn
            return ParsedMessage(
                intent=Unclear(question=WHAT_NEXT), notes=["the message could not be read"]
            )

    def _parse(self, text: str, *, awaiting_confirmation: bool) -> ParsedMessage:
        notes: list[str] = [
            "ignored instructions aimed at the assistant: " + m.group(0)[:200]
            for m in ASIDE.finditer(text)
            if "assistant" in m.group(0).lower()
        ]
        original = _clean(text)
        if not original:
            return ParsedMessage(intent=Unclear(question="What would you like to do?"))
        if OUT_OF_SCOPE.search(original):
            return ParsedMessage(intent=Unclear(question=SCOPE), notes=["out of scope"])
        without_injection, dropped = self._drop_injections(original)
        if dropped:
            notes.append("ignored instructions aimed at the assistant: " + "; ".join(dropped))
        lowered = without_injection.lower()
        bare = _bare(without_injection)

        if not awaiting_confirmation and re.fullmatch(
            r"(?:please )?cancel (?:it|that|this|that one)(?: please)?", bare.strip(" !.")
        ):
            return ParsedMessage(intent=CancelOrder(), notes=notes)  # nothing awaits a no
        if _other_language(original):
            return ParsedMessage(intent=Unsupported(reason=OTHER_LANGUAGE), notes=notes)
        if not re.search(r"[a-z0-9]", bare):
            return ParsedMessage(intent=Unclear(question="What would you like to do?"), notes=notes)
        if WITHOUT_CODE.search(lowered):
            # "go ahead without it", "just check out without the code": a yes to going on
            # without a coupon (or a checkout of the cart without one)
            rest = _bare(WITHOUT_CODE.sub(" ", lowered)).strip(" ,.!")
            rest = re.sub(r"^(?:ugh|fine|well|oh|hmm|just|then)\b[ ,]*", "", rest).strip()
            rest = re.sub(r"\b(?:then|just|please|instead|anyway)\b", " ", rest).strip()
            if not rest or (
                isinstance(self._yes_no(rest), Confirm) and not CHECKOUT_WORDS.search(rest)
            ):
                return ParsedMessage(intent=Confirm(), notes=[*notes, "without the coupon"])
            without_injection = re.sub(WITHOUT_CODE.pattern, " ", without_injection, flags=re.I)
            lowered = without_injection.lower()
            bare = _bare(without_injection)
        if awaiting_confirmation or (len(bare.split()) <= 4 and not CHECKOUT_WORDS.search(bare)):
            answer = self._yes_no(bare)
            if isinstance(answer, Confirm) and re.search(r"\d", without_injection):
                answer = None  # "yeah, 3 of them": a number makes it an edit, not a yes
            if answer is not None and not dropped:
                return ParsedMessage(intent=answer, notes=notes)
            if isinstance(answer, Confirm) and dropped:
                notes.append("an approval mixed with instructions to the assistant is not taken")

        try:
            intent = self._intent(without_injection, lowered, notes)
        except ValidationError:
            # a value out of every intent's bounds (a price beyond any cart, a code too
            # long): one question instead of a failed turn
            return ParsedMessage(intent=Unclear(question=UNREADABLE), notes=notes)
        return ParsedMessage(intent=intent, notes=notes)

    # -- pieces -----------------------------------------------------------------------

    @staticmethod
    def _drop_injections(text: str) -> tuple[str, list[str]]:
        dropped = [m.group(0).strip() for m in INJECTION.finditer(text)]
        return INJECTION.sub(" ", text).strip(" ,.;"), dropped

    @staticmethod
    def _yes_no(bare: str) -> Confirm | Decline | None:
        phrase = bare.strip(" !.")
        if phrase in YES:
            return Confirm()
        for y in ("yes", "yeah", "yep", "ok", "okay", "sure"):
            if phrase.startswith(y + " "):
                # "ok make that 4", "yes but only two": a yes with an edit is the edit
                if EDIT_AFTER_YES.search(phrase[len(y) :]):
                    return None
                return Confirm()
        if (
            phrase in NO
            or any(phrase.startswith(n + " ") for n in ("no", "nope", "nah", "cancel", "stop"))
            or any(phrase.endswith(" " + n) for n in ("forget it", "never mind", "nevermind"))
        ):
            if "order" in phrase and phrase.startswith("cancel"):
                return None  # "cancel my order" is a request, not an answer
            return Decline()
        return None

    def _intent(self, text: str, lowered: str, notes: list[str]) -> Intent:
        coupon = self._coupon(text)
        order_ref = self._order_ref(lowered)

        if m := APPLY_CODE.match(text.strip()):
            return ApplyCoupon(code=m.group(1).upper())
        if _other_language(lowered):
            return Unsupported(reason=OTHER_LANGUAGE)
        if PROMOTIONS.search(lowered) and not coupon:
            return ListPromotions()
        for pattern, reason in UNSUPPORTED:
            if pattern.search(lowered):
                return Unsupported(reason=reason)
        if CHARGES.search(lowered):
            return ListOrders(about="charges")
        if LIST_ORDERS.search(lowered) and not UUID.search(lowered) and order_ref is None:
            return ListOrders()
        if EMPTY_CART.search(lowered):
            return EmptyCart()
        if (found := CHECKOUT_CART.search(lowered)) and not ADD_ONLY.search(lowered):
            rest = [
                w
                for w in re.findall(
                    r"[a-z']+",
                    self._strip_spans(lowered[: found.start()] + " " + lowered[found.end() :]),
                )
                if w not in CHECKOUT_LEFTOVER
            ]
            if not rest:
                return Checkout(
                    constraints=self._constraints(lowered, budget=self._budget(lowered)),
                    coupon_code=coupon,
                )
        if (
            re.search(
                r"\b(where(?:'?s| is| are)|track|status of|has .* (?:shipped|arrived)|when will .* arrive|order status"
                r"|(?:did|has|have) (?:my|the|it|that|this) (?:\w+ )?(?:go(?:ne)? through|get placed|work)"
                r"|what'?s (?:happening|going on|up) with|any (?:news|update) on|update on)\b",
                lowered,
            )
            and ("order" in lowered or order_ref is not None)
        ) or re.search(r"\bwhere(?:'s| is) my (?:stuff|package|parcel|delivery)\b", lowered):
            return OrderStatus(order_ref=order_ref)
        if re.search(
            r"\b(?:has|have|did|is|are|when (?:will|does|do|is|are|did|should))\b[^.?!]*"
            r"\b(?:shipped|arrived?|delivered|on (?:its|their) way|out for delivery|get here)\b",
            lowered,
        ) and not re.search(r"\b(?:can|could|do) you (?:ship|deliver)\b", lowered):
            return OrderStatus(order_ref=order_ref)
        if re.search(r"\bcancel\b.*\border\b", lowered):
            return CancelOrder(order_ref=order_ref)
        if re.search(
            r"\b(return|refund|send back|money back)\b|\bget (?:\S+ ){0,3}back (?:on|for|from)\b",
            lowered,
        ):
            return self._refund(text, lowered, order_ref)
        if re.search(
            r"\b(what'?s|what is|show|view|see|check)\b.*\b(cart|basket|bag)\b", lowered
        ) or lowered.strip(" ?.!") in {"cart", "my cart", "basket"}:
            return ViewCart()
        if re.search(
            r"\b(same as last time|same as (?:my |the )?(?:last|previous|latest) (?:order|time|one)|the usual|reorder|(?:order|buy|get) (?:it|that|them|those) again|again like last time|same again)\b",
            lowered,
        ):
            return Reorder(constraints=self._constraints(lowered, budget=self._budget(lowered)))
        if m := re.search(
            r"\b(?:make (?:it|that|them)|(?:change|set|update) (?:it|that|the (?P<item>[a-z0-9 -]+?)) to|"
            r"i (?:only )?(?:need|want) (?P<n2>"
            + NUM
            + r") instead|actually,? (?P<n3>"
            + NUM
            + r"))\s*(?P<n>"
            + NUM
            + r")?\b",
            lowered,
        ):
            quantity = None
            for group in ("n", "n2", "n3"):
                if m.group(group):
                    quantity = number(m.group(group))
                    break
            if quantity is not None:
                if quantity > MAX_QUANTITY:
                    checked_quantity(quantity, m.group("item") or "of it")
                return ChangeQuantity(item=m.group("item"), quantity=quantity)
        if re.search(r"\b(remove|take out|delete|drop|get rid of)\b|\btake .+ out\b", lowered):
            items = self._items(
                re.sub(
                    r"\b(remove|take out|take|out|delete|drop|get rid of|from (?:my |the )?(?:cart|basket))\b",
                    " ",
                    lowered,
                ),
                notes,
            )
            if items:
                return RemoveItems(items=items)
            return Unclear(question="Which item should I remove from your cart?")

        budget = self._budget(lowered)
        constraints = self._constraints(lowered, budget=budget)
        wants_checkout = not ADD_ONLY.search(lowered)
        if re.fullmatch(
            r"\s*(?:(?:please|ok|now|let'?s|i want to|i'd like to|go to|i'?m ready to|ready to)\s+)*(check ?out|pay|pay now|place (?:my|the) order|buy (?:it|them|everything)|complete (?:my|the) (?:order|purchase))(?:\s+(?:now|please))?(?:\s+(?:with|using))?\s*[.!]?\s*",
            self._strip_spans(lowered),
        ):
            return Checkout(constraints=constraints, coupon_code=coupon)

        if (quote := self._price_quote(lowered, notes)) is not None:
            return quote
        if (open_request := self._open_request(lowered, budget)) is not None:
            return open_request
        if SEND_TO.search(lowered) and (elsewhere := find_place(lowered)):
            # a purchase goes to the address on the account; another place is never read
            # as product words, nor bought for silently to the wrong address
            return Unsupported(
                reason=f"I can only send orders to the address saved on your account, not to "
                f"{elsewhere[0].label()}; change it there first. I can tell you what it would "
                f"cost shipped to {elsewhere[0].label()}: ask “what would … cost shipped there?”."
            )
        if (someone := SEND_TO_SOMEONE.search(lowered)) is not None:
            return Unsupported(
                reason="I can only send orders to the address saved on your account, not to "
                f"{someone.group(1)}; change it there first, or have it sent to you."
            )
        search_only = bool(
            re.search(
                r"\b(show me|do you (?:have|sell|carry)|look(?:ing)? for|search(?: for)?|find me|any|what .* do you have|browse|compare|options for)\b",
                lowered,
            )
        ) and not re.search(r"\b(buy|order|purchase|add|get me|i need|i want)\b", lowered)
        if search_only and budget is not None and re.search(r"\blook(?:ing)? for\b", lowered):
            search_only = False  # "looking for a wireless mouse, $20ish": one to propose
        items = self._items(self._strip_spans(lowered), notes)
        if not items and re.search(r"\b(?:do you have|does|do|come|comes|have)\b", lowered):
            # "do you have them in large?": a size or colour of the item in focus
            probe = self._item(re.sub(r"[?!.,]", " ", self._strip_spans(lowered)) + " zzitem")
            asked = {
                k: v
                for k, v in (probe.attributes if probe else {}).items()
                if k in ("size", "color", "length")
            }
            if asked:
                return Search(query="it", attributes=asked)
        if not items:
            if coupon:
                return ApplyCoupon(code=coupon)
            if re.search(r"\b(check ?out|pay)\b", lowered):
                return Checkout(constraints=constraints, coupon_code=coupon)
            return Unclear(
                question="What would you like to buy? You can name a product and how many."
            )
        buying = BUYING.search(lowered)
        # "under $30 with tax and shipping" is a budget, not a question about the price
        price_question = (
            bool(PRICE_QUESTION.search(lowered))
            and not buying
            and (budget is None or bool(COST_QUESTION.search(lowered)))
        )
        # "which shampoo is the cheapest?", "is the train set ok for a 2 year old?": a
        # question about products is answered with what the catalog has, never a purchase
        question = not buying and bool(
            lowered.rstrip().endswith("?")
            or re.match(r"\s*(?:which|what|is|are|does|do|can|how|will|would)\b", lowered)
        )
        price_question = price_question or question
        if price_question and not items:
            return Unclear(question=QUOTE_HOW)
        if search_only or price_question:
            first = items[0]
            if price_question:
                words = re.sub(
                    r"\b(?:shipped|shipping|sent|delivered|deliver|ship)(?:\s+to)?\s+[a-z]+(?:\s+[a-z]+)?\s*$"
                    r"|\b(?:how|much|would|cost|costs|tax|taxes|shipped|shipping|price|total|including"
                    r"|what|whats|what's|is|be|will|does|do|the|a|an|with|come|comes|to|out|for|plus"
                    r"|which|are|ok|okay|good|fine|safe|year|years|old|any|there|it|best|better"
                    r"|can|you|recommend|suggest|should|i|get|available|availability|stocked|stock)\b",
                    " ",
                    first.query,
                ).split()
                if not words:
                    return Unclear(question=QUOTE_HOW)
                first = first.model_copy(update={"query": " ".join(words)})
            return Search(
                query=first.query,
                max_price_cents=first.max_unit_price_cents or budget,
                cheapest=first.cheapest,
                attributes={
                    k: v for k, v in first.attributes.items() if k in ("size", "color", "length")
                },
            )
        vague = [i for i in items if set(i.query.split()) <= VAGUE | FILLER | PLACES]
        if vague:
            places = [w for w in vague[0].query.split() if w in PLACES]
            where = f" for your {places[0]}" if places else ""
            themed = [w for w in vague[0].query.split() if w in PLACES | RECIPIENTS]
            return Unclear(
                question=f"What would you like{where}? A product name helps me find it.",
                suggest=" ".join(themed) or None,
                budget_cents=budget,
            )
        wanting = buying or re.search(
            r"\b(?:need|want|looking|get|give|send|ship|grab|find|have|take|like|please|pls)\b"
            r"|\d|\$",
            lowered,
        )
        return Buy(
            items=items, constraints=constraints, coupon_code=coupon, checkout=wants_checkout,
            explicit=bool(wanting),
        )  # fmt: skip

    def _price_quote(self, lowered: str, notes: list[str]) -> PriceQuote | Unclear | None:
        """A question about what things would cost with tax or shipping, to a place or to
        the person's address: a quote of those items, never a purchase (None: not one)."""
        asking = COST_QUESTION.search(lowered) or lowered.rstrip().endswith("?")
        if BUYING.search(lowered) or not asking:
            return None
        found = find_place(lowered)
        about_quote = QUOTE_WORDS.search(lowered)
        if found is None and not about_quote:
            return None
        rest = lowered
        if found is not None:
            start, end = found[1]
            rest = lowered[:start] + " " + lowered[end:]
        rest = QUOTE_WORDS.sub(" ", rest)
        items = []
        for item in self._items(self._strip_spans(rest), notes):
            words = QUESTION_WORDS.sub(" ", item.query).split()
            if words:
                items.append(item.model_copy(update={"query": " ".join(words)}))
        if not items:
            return Unclear(question=QUOTE_HOW) if found is None else None
        return PriceQuote(items=items, ship_to=found[0] if found else None)

    def _open_request(self, lowered: str, budget: int | None) -> Unclear | None:
        """ "a gift for my dad under $40", "something for a rainy day", "ideas for a
        picnic": what it is for (None: not an open request)."""
        found = OPEN_REQUEST.search(self._strip_spans(lowered))
        if found is None:
            return None
        words = re.findall(r"[a-z][a-z-]*", re.sub(r"'s\b", "", found.group("for")))
        theme = [w for w in words if w not in FILLER and w not in OPEN_FILLER]
        if not theme:
            return None
        recipient = next((w for w in theme if w in RECIPIENTS), None)
        place = next((w for w in theme if w in PLACES), None)
        if recipient and recipient not in ("him", "her"):
            question = f"What is your {recipient} into? Tell me and I'll look for it."
        elif place:
            question = f"What would you like for your {place}?"
        else:
            question = "What kind of thing should I look for?"
        return Unclear(question=question, suggest=" ".join(theme)[:200], budget_cents=budget)

    @staticmethod
    def _coupon(text: str) -> str | None:
        for m in COUPON.finditer(text):
            code = m.group(1)
            if code.lower() in NOT_CODES:
                continue
            return code.upper()
        named = CODE_VERB.search(text)
        return named.group(1) if named else None

    @staticmethod
    def _order_ref(lowered: str) -> str | None:
        if m := UUID.search(lowered):
            return m.group(0)
        if m := ORDER_NO.search(lowered):
            return m.group(1) or m.group(2)
        if LATEST_ORDER.search(lowered):
            return LATEST
        return None

    @staticmethod
    def _budget(lowered: str) -> int | None:
        for found in BUDGET.finditer(lowered):
            if not found.group(2):  # "each": a per-item cap, not a budget
                return cents(found.group(1))
        if suffix := BUDGET_SUFFIX.search(lowered):
            return cents(suffix.group(1))
        if have := BUDGET_HAVE.search(lowered):
            amount = next(g for g in have.groups() if g)
            return cents(re.sub(r"[^\d.,]", "", amount))
        return None

    @staticmethod
    def _per_item_cap(chunk: str) -> int | None:
        for m in BUDGET.finditer(chunk):
            if m.group(2):
                return cents(m.group(1))
        return None

    @staticmethod
    def _constraints(lowered: str, *, budget: int | None) -> Constraints:
        ship_to = (
            "home"
            if re.search(
                r"\b(ship|send|deliver)(?:ed)?\b.*\b(?:home|address)\b|\bto my (?:home|house|place)\b",
                lowered,
            )
            else None
        )
        substitutions = not re.search(
            r"\b(no substitut\w*|exact(?:ly)? (?:that|this|those)|only that brand|don'?t substitute|no alternatives?)\b",
            lowered,
        )
        approximate = budget is not None and bool(APPROXIMATE.search(lowered))
        return Constraints(
            budget_cents=budget, budget_approximate=approximate,
            substitutions_allowed=substitutions, ship_to=ship_to,
        )  # fmt: skip

    @staticmethod
    def _strip_spans(lowered: str) -> str:
        text = BUDGET.sub(
            lambda m: " each-cap " + str(cents(m.group(1))) + " " if m.group(2) else " ", lowered
        )
        text = BUDGET_SUFFIX.sub(" ", text)
        text = BUDGET_HAVE.sub(" ", text)
        text = re.sub(r"\b(?:but|though|however)\s*(?=[,.;]|$)", " ", text)
        text = re.sub(r"\b(?:or so|give or take|ballpark)\b", " ", text)
        text = COUPON.sub(" ", text)
        text = re.sub(
            r"\b(?:apply|use|redeem)\s+(?:the\s+)?[a-z][a-z_-]*\d[a-z0-9_-]*\b", " ", text
        )
        text = re.sub(
            r"\b(?:and )?(?:please )?(?:ship|send|deliver)(?:ed)?(?: it| them| everything)? (?:to )?(?:me|(?:my |our |the )?(?:(?:home |saved |usual |shipping )?address|home|house|place))\b",
            " ",
            text,
        )
        text = re.sub(r"\b(no substitut\w*|don'?t substitute|no alternatives?)\b", " ", text)
        text = re.sub(
            r"\b(?:something|anything) (?:similar|else|like it) (?:is |would be )?(?:fine|ok|good)"
            r"(?: if (?:it'?s|it is|they'?re|they are) (?:gone|out(?: of stock)?|sold out))?",
            " ",
            text,
        )
        text = re.sub(r"\b(to|in|into) (?:my|the) (?:cart|basket)\b", " ", text)
        text = re.sub(
            r"\b(?:and |then |so )?(?:i'?ll |i will |we'?ll |let'?s )?(?:check ?out|checkout|pay)"
            r"(?: (?:now|later|afterwards|soon|myself))?\b",
            " ",
            text,
        )
        return re.sub(r"\s+", " ", text)

    def _items(self, text: str, notes: list[str]) -> list[ItemRequest]:
        text = re.sub(rf"\b(?:a|one) pair of (?=(?:[\w'-]+ ){{0,4}}{PAIRED}\b)", "1 ", text)
        for phrase, value in NUMBER_PHRASES:
            text = re.sub(rf"\b{phrase}\b", str(value), text)
        text = re.sub(rf",\s*(?=(?:in )?(?:a )?{CONTAINERS} of \d)", " ", text)
        # "AA batteries, not AAA": what the person rules out is no product word
        text = re.sub(r"\b(?:but )?(?:not|never|except)\s+(?:the\s+|any\s+)?[a-z0-9-]+", " ", text)
        text = re.sub(
            r"\b(?:best|top|highest)[- ]rated\b|\b(?:most popular|best[- ]selling|best ?sellers?)\b",
            " toprated ",
            text,
        )
        text = re.sub(r"\bwhat'?s\b|\bwhats\b", " ", text)
        # what a request is for or depends on is no product word: "dog treats for my
        # puppy", "bath towels (grey if you have them)", "envelopes for work"
        text = re.sub(r"\s*[()]\s*", " ", text)
        text = re.sub(r"(?:^|(?<=[.!?]\s))[^,;.!?:]*:\s*", " ", text)  # "I need a few basics: "
        text = re.sub(
            r"(?<!something )(?<!anything )(?<!stuff )(?<!gift )(?<!present )(?<!things )"
            r"\b(?:for|4) (?:(?:my|our|his|her|their|a|an) \d+[- ](?:year|yr|month)s?[- ]old"
            r"|my|our|his|her|their|work|school|college|him|them|me)\b(?:(?!\band\b)[^,;.!?])*"
            r"|\bif (?:you|it|they|possible|available|any|in stock)\b(?:(?!\band\b)[^,;.!?])*"
            r"|\b(?:nothing|something|not) (?:too )?(?:fancy|special|expensive)\b"
            r"|\b(?:can|could) you make (?:that|it|this) work\b",
            " ",
            text,
        )
        chunks = re.split(
            r",|;|(?<=[a-z0-9])[.!?](?:\s|$)|\band\b|\bplus\b|&(?= \d| a | an | some )|\balso\b"
            r"|\bwith\b(?= \d| a | an )",
            text,
        )
        items: list[ItemRequest] = []
        loose_cap: int | None = None
        for chunk in chunks:
            if items and (more := self._more_about(chunk, items[-1])) is not None:
                items[-1] = more  # ", x2", ", silver", ", 3m", ", the house blend one"
                continue
            item = self._item(chunk)
            if item is not None:
                items.append(item)
            elif m := re.search(r"each-cap (\d+)", chunk):
                loose_cap = int(m.group(1))  # "…, max $20 each": applies to every item
        if loose_cap is not None:
            items = [
                i
                if i.max_unit_price_cents is not None
                else i.model_copy(update={"max_unit_price_cents": loose_cap})
                for i in items
            ]
        return items

    def _more_about(self, chunk: str, last: ItemRequest) -> ItemRequest | None:
        """A fragment that only adds to the item before it: a count ("x2"), an attribute
        ("silver", "3m", "size large") or a description ending in "one" ("the house blend
        one"). None when the fragment is an item of its own."""
        text = chunk.strip(" .!?")
        if m := re.match(rf"\s*({GENDER})\s*", text):
            # ", women's medium": who it is for goes with the item, and the rest too
            last = last.model_copy(update={"query": f"{last.query} {m.group(1)}"[:200]})
            text = text[m.end() :].strip()
            if not text:
                return last
            return self._more_about(text, last) or last
        if m := re.fullmatch(r"(?:x\s*(\d+)|(\d+)\s*x)", text):
            return last.model_copy(update={"quantity": int(m.group(1) or m.group(2))})
        if m := re.fullmatch(r"([a-z]+) size", text):  # ", letter size", ", king size"
            return last.model_copy(update={"attributes": {**last.attributes, "size": m.group(1)}})
        if (bare := re.fullmatch(r"(?:the |a |an )?([a-z0-9 '-]+?) ones?", text)) and (
            added := self._attributes_of(bare.group(1), last)
        ):
            return added  # "the 8-pack ones", "the black one"
        if m := re.fullmatch(r"(?:the |a |an )?([a-z0-9 '-]+?) ones?", text):
            extra = [w for w in m.group(1).split() if w not in FILLER and w not in last.query]
            if extra and len(extra) <= 4:
                return last.model_copy(update={"query": f"{last.query} {' '.join(extra)}"[:200]})
            return None
        return self._attributes_of(text, last)

    def _attributes_of(self, text: str, last: ItemRequest) -> ItemRequest | None:
        probe = self._item(f"{text} zzitem")
        if probe is None or probe.query != "zzitem" or probe.brand or probe.cheapest:
            return None
        if not (probe.attributes or probe.pack_size or probe.quantity != 1):
            return None
        update: dict[str, object] = {"attributes": {**probe.attributes, **last.attributes}}
        if probe.quantity != 1 and last.quantity == 1:
            update["quantity"] = probe.quantity
        if probe.pack_size and not last.pack_size:
            update["pack_size"] = probe.pack_size
        return last.model_copy(update=update)

    def _item(self, chunk: str) -> ItemRequest | None:
        cap = None
        if m := re.search(r"each-cap (\d+)", chunk):
            cap = int(m.group(1))
            chunk = chunk.replace(m.group(0), " ")
        cheapest = bool(
            re.search(r"\b(cheapest|least expensive|lowest price|budget option|cheap)\b", chunk)
        )
        chunk = re.sub(
            r"\b(the )?(cheapest|least expensive|lowest price|budget option|cheap)\b( one)?",
            " ",
            chunk,
        )
        if m := re.search(r"\s(?:x\s?(\d{1,4})|(\d{1,4})\s?x)\s*$", chunk):
            chunk = f"{m.group(1) or m.group(2)} {chunk[: m.start()]}"  # "toothpaste x3"
        best_rated = "toprated" in chunk
        chunk = chunk.replace("toprated", " ")
        largest = bool(LARGEST.search(chunk))
        chunk = LARGEST.sub(" ", chunk)
        attributes: dict[str, str] = {}
        # "13 gallon", "1000 pieces", "2 lb": a measure of the thing, never a count of it
        if m := MEASURE.search(chunk):
            unit = UNIT_WORDS.get(m.group(2), m.group(2))
            attributes["measure"] = f"{m.group(1)} {unit}"
            chunk = chunk.replace(m.group(0), " ")
        quantity = 1
        pack_size = None
        # "-3 batteries", "minus 2 cables": a count below zero is asked about, never dropped
        negative = False
        if m := re.search(rf"(?:^|\s)(?:-\s*|minus\s+|negative\s+)(?={NUM}\b)", chunk):
            negative = True
            chunk = chunk[: m.start()] + " " + chunk[m.end() :]
        # "2 packs of 4 AA batteries", "two 8-packs of AA", "a 12 pack of", "pack of 8"
        if m := re.search(rf"\b{COUNTED_CONTAINERS}\s+of(?:\s+(?P<p>\d+)\b)?", chunk):
            quantity = number(m.group("q") or "1") or 1
            if m.group("p"):
                pack_size = int(m.group("p"))
            chunk = chunk.replace(m.group(0), " ")
        elif m := re.search(rf"\b(?P<q>{NUM})\s+(?P<p>\d+)[- ]?(?:packs?|pk)\b(?:\s+of)?", chunk):
            quantity = number(m.group("q")) or 1
            pack_size = int(m.group("p"))
            chunk = chunk.replace(m.group(0), " ")
        elif (m := re.search(r"\b(?P<p>\d+)[- ]?(?:packs?|pk|count|ct)\b(?:\s+of)?", chunk)) or (
            m := re.search(rf"\b(?:in )?(?:a )?{CONTAINERS}\s+of\s+(?P<p>\d+)\b", chunk)
        ):
            pack_size = int(m.group("p"))
            chunk = chunk.replace(m.group(0), " ")
        if m := re.search(rf"(?:^|\s)(?P<q>{NUM})(?:\s*x)?\s+(?=[a-z]|\d+[a-z])", chunk):
            value = number(m.group("q"))
            if value is not None and quantity == 1:
                quantity = value
                chunk = chunk[: m.start("q")] + " " + chunk[m.end() :]
        if m := re.search(
            r"\bsize\s+(\d{1,2}(?:\.5)?|xxs|xs|s|m|l|xl|xxl|small|medium|large)\b", chunk
        ):
            attributes["size"] = SIZES.get(m.group(1), m.group(1).upper())
            chunk = chunk.replace(m.group(0), " ")
        if m := re.search(
            r"\b(\d+(?:\.\d+)?)\s*(m|meters?|metres?|ft|feet|foot|cm|in|inch(?:es)?)\b", chunk
        ):
            unit = {
                "meter": "m",
                "meters": "m",
                "metre": "m",
                "metres": "m",
                "feet": "ft",
                "foot": "ft",
                "inch": "in",
                "inches": "in",
            }.get(m.group(2), m.group(2))
            attributes["length"] = f"{m.group(1)}{unit}"
            chunk = chunk.replace(m.group(0), " ")
        words = chunk.split()
        for word in list(words):
            if word in COLOURS:
                attributes["color"] = "grey" if word == "gray" else word
                words.remove(word)
            elif word in SIZES and len(words) > 1:
                attributes["size"] = SIZES[word]
                words.remove(word)
        brand = None
        text = " ".join(words)
        if m := re.search(r"\b(?:by|from|brand)\s+([a-z][a-z0-9&'-]+)", text):
            brand = m.group(1)
            text = text.replace(m.group(0), " ")
        query_words = [w.strip(".!?'\":,;()") for w in text.split()]
        query_words = [w for w in query_words if w and w not in FILLER and not w.isdigit()]
        while query_words and query_words[0] in {"a", "an", "one", "x"}:
            query_words.pop(0)
        if not query_words:
            return None
        query = " ".join(query_words)
        if negative:
            quantity = -quantity
        checked_quantity(quantity, query)
        if pack_size is not None and not 1 <= pack_size <= MAX_QUANTITY:
            raise Impossible(
                f"I cannot find a pack of {pack_size:,} {query}. Which pack size would you like?"
            )
        return ItemRequest(
            query=query[:200],
            quantity=quantity,
            pack_size=pack_size,
            brand=brand,
            attributes=attributes,
            max_unit_price_cents=cap,
            cheapest=cheapest,
            best_rated=best_rated,
            largest=largest,
        )

    def _refund(self, text: str, lowered: str, order_ref: str | None) -> Refund:
        amount = None
        if m := AMOUNT.search(lowered):
            amount = cents(m.group(1) or m.group(2))
        reason = "customer request"
        if m := re.search(r"\b(?:because|since|as|reason:?)\s+(.+)$", text, re.I):
            reason = m.group(1).strip(" .")[:200]
        body = re.sub(
            r"\b(i want to|i'd like to|please|can you|could you|return|refund|send back|money back|my|the|for|from|last|latest|recent|order|because .*|since .*)\b",
            " ",
            ORDER_NO.sub(" ", UUID.sub(" ", lowered)),
        )
        body = AMOUNT.sub(" ", body)
        items = [] if amount else self._items(body, [])
        items = [i for i in items if i.query not in {"it", "everything", "all", "whole", "entire"}]
        return Refund(order_ref=order_ref, items=items, amount_cents=amount, reason=reason)


def parse_all(texts: Iterable[str]) -> list[ParsedMessage]:
    parser = OfflineParser()
    return [parser.parse(t) for t in texts]
