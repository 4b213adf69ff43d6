"""Deterministic, realistic Galaxy test data: customers, affiliate links and contacts.

Everything comes from one seeded `random.Random`, so the same `(customers, seed,
bad_fraction)` always gives the same rows. The shapes follow SPEC §2 and
`reference/galaxy-api.md` §3.3:

- `TRDRID`, `AFFILIATES_TRDRID` and `CONTACTID` are lower-case GUIDs (Galaxy keys are
  UUIDs, `galaxy-api.md` §8), so a client that forgets to upper-case ids is caught.
- Revision numbers come from one database-wide counter starting at 1,000,000, shared by
  customers and contacts, unique and ascending, with small gaps (other tables use the
  counter too). Each customer is followed by its contacts.
- About a third of customers are card holders (`ZH_CUSTOMERS_MEMBER_CARDNO` non-empty),
  each with 1-2 affiliate links; about 10% of affiliates are shared by 2-3 customers.
- About `bad_fraction` of customers and of contacts are deliberately bad, spread across
  kinds: customers without `TRDRID`, with all four name columns empty, with a 300-character
  name, with a non-numeric balance; contacts with a malformed e-mail or with no name and
  no e-mail at all. Customers without a `TRDRID` get no contacts (nothing could point at
  them). Only the missing key, the missing names and the nameless contacts are rejected;
  the others sync with a warning (issue 11).
- The quirks of real ERP views, drawn from a second seeded stream (so the rows above do not
  change): about 3% of each amount column holds a text placeholder (`n/a`, `-`, `—`) and
  about 8% a decimal comma (`1.234,56`, `1234,56`, `€ 1.234,56`); about 4% of contacts
  have only a first name, and 0.5% no name but an e-mail; 0.3% of customer names are
  256-299 characters long.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

_T = TypeVar("_T")

FIRST_REVISION = 1_000_000

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "TRDRID",
    "TRDRNAME",
    "COMPTITLE",
    "CUSTCODE",
    "TRDRCODE",
    "TIN",
    "TRDSPHONE1",
    "TRDSSTREET",
    "PREFDESCR",
    "CNTRCODE",
    "CAT_EPAGG",
    "CATEGDISCOUNT",
    "BALANCE",
    "MAXBALANCE",
    "WATT_CY",
    "TURNOVER_YTD",
    "TURNOVER_LTD",
    "TURVOVER_LY",
    "THIRDPARTYREVNUM",
    "SALESNAME",
    "ZH_CUSTOMERS_MEMBER_CARDNO",
)
AFFILIATE_LINK_COLUMNS: tuple[str, ...] = (
    "AFFILIATES_TRDRID",
    "AFF_NAME",
    "AFF_TIN",
    "AFFILIATES_CUST_TRDRID",
)
CONTACT_COLUMNS: tuple[str, ...] = (
    "CONTACTID",
    "TRDRID",
    "FIRSTNAME",
    "LASTNAME",
    "EMAIL",
    "PHONE",
    "MOBILE",
    "JOBTITLE",
    "CONTACTS_REVNUM",
)

BAD_CUSTOMER_KINDS = ("no_trdrid", "empty_names", "long_name", "bad_balance")
BAD_CONTACT_KINDS = ("bad_email", "no_name")
#: Text a view renders for an unknown amount.
AMOUNT_PLACEHOLDERS = ("n/a", "-", "—")


@dataclass
class Dataset:
    """The rows a sandbox starts with."""

    customers: list[dict[str, Any]]
    affiliate_links: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    next_rev: int


def valid_afm(number: str) -> bool:
    """True when `number` is a 9-digit Greek AFM with a correct check digit (not all zeros).

    The rule of `galaxy-api.md` §10: S = sum of d1..d8 weighted 256, 128, ..., 2;
    valid when (S mod 11) mod 10 == d9. No cleaning or padding is done here.
    """
    if len(number) != 9 or not number.isascii() or not number.isdigit():
        return False
    if number == "000000000":
        return False
    return _check_digit(number[:8]) == int(number[8])


def _check_digit(first8: str) -> int:
    total = 0
    for ch in first8:
        total = total * 2 + int(ch)
    # Horner over 8 digits weights d1 by 2^7; the rule weights it by 2^8.
    return (total * 2) % 11 % 10


# Pools of (Greek, Latin) spellings, so e-mails can be built from the Latin form.
# Galaxy stores trader names in capitals without accents (`_greek_upper`).
_SURNAMES = (
    ("Παπαδόπουλος", "Papadopoulos"),
    ("Γεωργίου", "Georgiou"),
    ("Νικολάου", "Nikolaou"),
    ("Ιωάννου", "Ioannou"),
    ("Κωνσταντινίδης", "Konstantinidis"),
    ("Δημητρίου", "Dimitriou"),
    ("Βασιλείου", "Vasileiou"),
    ("Αθανασίου", "Athanasiou"),
    ("Χριστοδούλου", "Christodoulou"),
    ("Μιχαηλίδης", "Michailidis"),
    ("Οικονόμου", "Oikonomou"),
    ("Παπανικολάου", "Papanikolaou"),
    ("Καραγιάννης", "Karagiannis"),
    ("Αλεξίου", "Alexiou"),
    ("Σταυρόπουλος", "Stavropoulos"),
    ("Μακρής", "Makris"),
    ("Λαμπρόπουλος", "Lampropoulos"),
    ("Τσίρος", "Tsiros"),
    ("Ζαχαρίου", "Zachariou"),
    ("Θεοδώρου", "Theodorou"),
)
_FIRST_NAMES = (
    ("Γεώργιος", "Georgios"),
    ("Μαρία", "Maria"),
    ("Νικόλαος", "Nikolaos"),
    ("Ελένη", "Eleni"),
    ("Ιωάννης", "Ioannis"),
    ("Αικατερίνη", "Aikaterini"),
    ("Κωνσταντίνος", "Konstantinos"),
    ("Σοφία", "Sofia"),
    ("Δημήτριος", "Dimitrios"),
    ("Αναστασία", "Anastasia"),
    ("Παναγιώτης", "Panagiotis"),
    ("Δέσποινα", "Despoina"),
    ("Χρήστος", "Christos"),
    ("Ευαγγελία", "Evangelia"),
    ("Αθανάσιος", "Athanasios"),
    ("Βασιλική", "Vasiliki"),
)
_GREEK_COMPANY_WORDS = (
    "ΑΛΦΑ",
    "ΔΕΛΤΑ",
    "ΟΛΥΜΠΟΣ",
    "ΑΙΓΑΙΟ",
    "ΕΡΜΗΣ",
    "ΠΗΓΑΣΟΣ",
    "ΑΣΤΡΟ",
    "ΑΚΡΟΠΟΛΙΣ",
    "ΚΡΗΤΙΚΗ",
    "ΜΑΚΕΔΟΝΙΚΗ",
    "ΙΟΝΙΟΣ",
    "ΦΑΡΟΣ",
)
_GREEK_ACTIVITIES = (
    "ΕΜΠΟΡΙΚΗ",
    "ΤΕΧΝΙΚΗ",
    "ΤΡΟΦΙΜΑ",
    "ΕΝΕΡΓΕΙΑΚΗ",
    "ΚΑΤΑΣΚΕΥΑΣΤΙΚΗ",
    "ΜΕΤΑΦΟΡΙΚΗ",
    "ΞΕΝΟΔΟΧΕΙΑΚΗ",
    "ΦΑΡΜΑΚΕΥΤΙΚΗ",
)
_GREEK_FORMS = ("Α.Ε.", "Ε.Π.Ε.", "Ο.Ε.", "Ε.Ε.", "Ι.Κ.Ε.", "& ΣΙΑ Ο.Ε.")
_LATIN_COMPANY_WORDS = (
    "Alpha",
    "Delta",
    "Olympus",
    "Aegean",
    "Hellas",
    "Nova",
    "Poseidon",
    "Atlas",
    "Orion",
    "Zenith",
)
_LATIN_ACTIVITIES = ("Trading", "Foods", "Logistics", "Energy", "Tech", "Pharma", "Hotels")
_LATIN_FORMS = ("S.A.", "Ltd", "IKE", "P.C.", "Ltd.")
_STREETS = (
    "Λεωφ. Κηφισίας",
    "Ερμού",
    "Πανεπιστημίου",
    "Εγνατίας",
    "Τσιμισκή",
    "Λεωφ. Συγγρού",
    "Αγίου Κωνσταντίνου",
    "Ελ. Βενιζέλου",
    "Kifisias Ave.",
    "Makariou III Ave.",
)
_GR_PREFECTURES = (
    ("ΑΤΤΙΚΗΣ", "210"),
    ("ΘΕΣΣΑΛΟΝΙΚΗΣ", "2310"),
    ("ΑΧΑΪΑΣ", "2610"),
    ("ΗΡΑΚΛΕΙΟΥ", "2810"),
    ("ΛΑΡΙΣΑΣ", "2410"),
    ("ΙΩΑΝΝΙΝΩΝ", "26510"),
    ("ΜΑΓΝΗΣΙΑΣ", "24210"),
    ("ΚΕΡΚΥΡΑΣ", "26610"),
)
_CY_PREFECTURES = (("ΛΕΥΚΩΣΙΑ", "22"), ("ΛΕΜΕΣΟΣ", "25"), ("ΛΑΡΝΑΚΑ", "24"))
_INDUSTRIES = (
    "ΕΜΠΟΡΙΟ",
    "ΒΙΟΜΗΧΑΝΙΑ",
    "ΥΠΗΡΕΣΙΕΣ",
    "ΤΟΥΡΙΣΜΟΣ",
    "ΚΑΤΑΣΚΕΥΕΣ",
    "ΕΣΤΙΑΣΗ",
    "Retail",
    "Wholesale",
)
_CATEGORIES = ("A", "B", "C", "D", "VIP")
_SALESPEOPLE = (
    "ΠΑΠΑΔΟΠΟΥΛΟΣ ΓΙΩΡΓΟΣ",
    "ΝΙΚΟΛΑΟΥ ΜΑΡΙΑ",
    "Ioannou Kostas",
    "ΔΗΜΗΤΡΙΟΥ ΕΛΕΝΗ",
    "Alexiou Nikos",
)
_JOB_TITLES = ("Λογιστής", "Διευθυντής", "Υπεύθυνος Αγορών", "Owner", "Sales Manager", "")
_MAIL_DOMAINS = ("example.gr", "mail.example.com", "company.example.gr", "example.com.cy")
_JUNK_PHONES = ("n/a", "-", "", "ΔΕΝ ΕΧΕΙ")
_BAD_EMAILS = ("{}@", "{}.at.example.gr", "{}@@example.gr", "{} @example.gr", "{}@example")


_UNACCENTED = str.maketrans("ΆΈΉΊΌΎΏΪΫ", "ΑΕΗΙΟΥΩΙΥ")


def _greek_upper(text: str) -> str:
    return text.upper().translate(_UNACCENTED)


# Combinations are built once, so a row costs one pick per column (and rows share their
# string objects, which keeps a million customers in memory affordable).
_GREEK_COMPANIES = [
    (f"{w} {a} {f}", f"{w} {a} ΑΝΩΝΥΜΗ ΕΤΑΙΡΕΙΑ")
    for w in _GREEK_COMPANY_WORDS
    for a in _GREEK_ACTIVITIES
    for f in _GREEK_FORMS
]
_LATIN_COMPANIES = [
    (f"{w} {a} {f}", f"{w} {a}")
    for w in _LATIN_COMPANY_WORDS
    for a in _LATIN_ACTIVITIES
    for f in _LATIN_FORMS
]
_GREEK_PERSONS = [
    (f"{_greek_upper(s[0])} {_greek_upper(f[0])}", "") for s in _SURNAMES for f in _FIRST_NAMES
]
_LATIN_PERSONS = [(f"{s[1]} {f[1]}", "") for s in _SURNAMES for f in _FIRST_NAMES]
_ADDRESSES = [f"{street} {number}" for street in _STREETS for number in range(1, 300)]
_LONG_NAME = ("ΠΟΛΥ ΜΑΚΡΥ ΟΝΟΜΑ " * 20)[:300]
#: A realistic over-long name: a company with its full legal description (256-299 chars).
_LONG_LEGAL = (
    " ΑΝΩΝΥΜΗ ΕΜΠΟΡΙΚΗ ΒΙΟΜΗΧΑΝΙΚΗ ΚΑΙ ΤΕΧΝΙΚΗ ΕΤΑΙΡΕΙΑ ΕΙΣΑΓΩΓΩΝ ΕΞΑΓΩΓΩΝ ΚΑΙ ΑΝΤΙΠΡΟΣΩΠΕΙΩΝ"
    " ΗΛΕΚΤΡΟΛΟΓΙΚΟΥ ΚΑΙ ΜΗΧΑΝΟΛΟΓΙΚΟΥ ΕΞΟΠΛΙΣΜΟΥ ΕΝΕΡΓΕΙΑΚΩΝ ΣΥΣΤΗΜΑΤΩΝ ΚΑΙ ΦΩΤΟΒΟΛΤΑΙΚΩΝ"
    " ΠΑΡΚΩΝ ΜΕ ΔΙΑΚΡΙΤΙΚΟ ΤΙΤΛΟ ΚΑΙ ΥΠΟΚΑΤΑΣΤΗΜΑΤΑ ΣΕ ΑΘΗΝΑ ΘΕΣΣΑΛΟΝΙΚΗ ΠΑΤΡΑ ΗΡΑΚΛΕΙΟ"
)
_POOL_SIZE = 4096
_PHONE_POOL_SIZE = 1024


def _weighted_sums(weights: tuple[int, int, int, int]) -> list[int]:
    """The AFM weighted digit sum of every 4-digit block, for a table look-up per half."""
    return [
        sum(int(d) * w for d, w in zip(f"{n:04d}", weights, strict=True)) for n in range(10_000)
    ]


_AFM_HIGH = _weighted_sums((256, 128, 64, 32))
_AFM_LOW = _weighted_sums((16, 8, 4, 2))


class _Generator:
    """One generation run: the seeded dice, value pools and the revision counter."""

    def __init__(self, seed: int, bad_fraction: float) -> None:
        self.rng = random.Random(seed)
        # Bound once: `random()` is far cheaper than `choice`/`randrange` (which loop in
        # Python), and generation speed matters for 100k-1M customer benchmarks.
        self.random = self.rng.random
        # The ERP views' quirks come from their own stream: adding them changed no other row.
        self.quirk = random.Random(seed * 7919 + 11).random
        self.bad_fraction = bad_fraction
        self.rev = FIRST_REVISION
        self.email_count = 0
        self._phones: dict[str, list[str]] = {}
        # Whole column groups are drawn from seeded pools of combinations: one draw per
        # group instead of one per column (generation speed, see above).
        self.finances = list(
            zip(
                self._amounts(-5000, 50000),  # BALANCE
                self._amounts(0, 100000),  # MAXBALANCE
                self._amounts(0, 500),  # WATT_CY
                self._amounts(0, 200000),  # TURNOVER_YTD
                self._amounts(0, 2000000),  # TURNOVER_LTD
                self._amounts(0, 300000),  # TURVOVER_LY
                strict=True,
            )
        )
        self.profiles = [
            (
                self.pick(_ADDRESSES),
                self.pick(_INDUSTRIES),
                self.pick(_CATEGORIES),
                self.pick(_SALESPEOPLE),
            )
            for _ in range(_POOL_SIZE)
        ]

    def below(self, n: int) -> int:
        """A number in [0, n); n < 2**40 keeps it uniform enough for test data."""
        return int(self.random() * n)

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def next_rev(self) -> int:
        rev = self.rev
        # Small gaps: other Galaxy tables advance the same counter.
        self.rev += 1 if self.random() < 0.7 else 2
        return rev

    def guid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

    def afm(self) -> str:
        first8 = 10_000_000 + self.below(90_000_000)
        check = (_AFM_HIGH[first8 // 10_000] + _AFM_LOW[first8 % 10_000]) % 11 % 10
        if self.random() < 0.02:
            check = (check + 1 + self.below(9)) % 10  # deliberately wrong
        return f"{first8:08d}{check}"

    def phone(self, area: str) -> str:
        pool = self._phones.get(area)
        if pool is None:
            pool = self._phones[area] = [self._new_phone(area) for _ in range(_PHONE_POOL_SIZE)]
        return pool[int(self.random() * _PHONE_POOL_SIZE)]

    def _new_phone(self, area: str) -> str:
        r = self.random()
        if r < 0.02:
            return self.pick(_JUNK_PHONES)
        local = f"{self.below(10**9):09d}"[: 10 - len(area)]
        digits = area + local
        if r < 0.35:
            return f"{area} {local}"
        if r < 0.55:
            return f"+30 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
        if r < 0.7:
            return f"({digits[:3]}) {digits[3:6]}.{digits[6:]}"
        if r < 0.85:
            return digits
        return f"69{self.below(10**8):08d}"

    def _amounts(self, low: float, high: float) -> list[float | str | None]:
        pool: list[float | str | None] = []
        for _ in range(_POOL_SIZE):
            r = self.random()
            value = round(low + (high - low) * self.random(), 2)
            if r < 0.1:
                pool.append(f"{value:.2f}")  # Galaxy views sometimes return numeric strings
            elif r < 0.13:
                pool.append(None)
            else:
                pool.append(self._quirky_amount(value))
        return pool

    def _quirky_amount(self, value: float) -> float | str:
        """`value`, or how a Greek ERP view may render it (see the module docstring)."""
        q = self.quirk()
        if q < 0.03:
            return AMOUNT_PLACEHOLDERS[int(self.quirk() * len(AMOUNT_PLACEHOLDERS))]
        greek = format(value, ",.2f").translate(str.maketrans(",.", ".,"))
        if q < 0.07:
            return greek  # 1.234,56
        if q < 0.10:
            return f"{value:.2f}".replace(".", ",")  # 1234,56
        if q < 0.11:
            return f"€ {greek}"
        return value

    def company_or_person(self) -> tuple[str, str]:
        """(TRDRNAME, COMPTITLE) for a company or a sole trader."""
        r = self.random()
        if r < 0.45:
            return self.pick(_GREEK_COMPANIES)
        if r < 0.65:
            return self.pick(_LATIN_COMPANIES)
        if r < 0.9:
            return self.pick(_GREEK_PERSONS)
        return self.pick(_LATIN_PERSONS)

    def customer(self, n: int) -> dict[str, Any]:
        random_ = self.random
        trdrid: str | None = self.guid()
        name, title = self.company_or_person()
        custcode, trdrcode = f"30-{n:06d}", f"{n:06d}"
        if random_() < 0.03:
            name = ""  # the view falls back on COMPTITLE, CUSTCODE, TRDRCODE
        cyprus = random_() < 0.05
        pref, area = self.pick(_CY_PREFECTURES if cyprus else _GR_PREFECTURES)
        tin: str | None
        if cyprus:
            tin = f"1{self.below(10**7):07d}{self.pick('ABCKLMX')}"
        else:
            tin = self.afm() if random_() < 0.99 else None
        balance, max_balance, watt, turnover_ytd, turnover_ltd, turnover_ly = self.pick(
            self.finances
        )
        address, industry, category, salesname = self.pick(self.profiles)
        if random_() < self.bad_fraction:
            kind = self.pick(BAD_CUSTOMER_KINDS)
            if kind == "no_trdrid":
                trdrid = None if random_() < 0.5 else ""
            elif kind == "empty_names":
                name = title = custcode = trdrcode = ""
            elif kind == "long_name":
                name = _LONG_NAME
            else:
                balance = "N/A"
        if name and self.quirk() < 0.003:
            name = (name + _LONG_LEGAL)[: 256 + int(self.quirk() * 44)].rstrip()
            name = name if len(name) > 255 else name + " Α.Ε."
        card: str | None = ""
        if random_() < 1 / 3:
            card = f"{self.below(10**10):010d}"
        elif random_() < 0.2:
            card = None
        return {
            "TRDRID": trdrid,
            "TRDRNAME": name,
            "COMPTITLE": title,
            "CUSTCODE": custcode,
            "TRDRCODE": trdrcode,
            "TIN": tin,
            "TRDSPHONE1": self.phone(area),
            "TRDSSTREET": address,
            "PREFDESCR": pref,
            "CNTRCODE": "CY" if cyprus else "GR",
            "CAT_EPAGG": industry,
            "CATEGDISCOUNT": category,
            "BALANCE": balance,
            "MAXBALANCE": max_balance,
            "WATT_CY": watt,
            "TURNOVER_YTD": turnover_ytd,
            "TURNOVER_LTD": turnover_ltd,
            "TURVOVER_LY": turnover_ly,
            "THIRDPARTYREVNUM": self.next_rev(),
            "SALESNAME": salesname,
            "ZH_CUSTOMERS_MEMBER_CARDNO": card,
        }

    def affiliate(self, customer_trdrid: str) -> dict[str, Any]:
        name, _ = self.company_or_person()
        return {
            "AFFILIATES_TRDRID": self.guid(),
            "AFF_NAME": name,
            "AFF_TIN": self.afm(),
            "AFFILIATES_CUST_TRDRID": customer_trdrid,
        }

    def contact(self, trdrid: str, previous_email: str | None) -> dict[str, Any]:
        random_ = self.random
        surname, first = self.pick(_SURNAMES), self.pick(_FIRST_NAMES)
        greek = random_() < 0.6
        last_name: str | None = surname[0] if greek else surname[1]
        self.email_count += 1
        local = f"{first[1]}.{surname[1]}{self.email_count}".lower()
        email: str | None = f"{local}@{self.pick(_MAIL_DOMAINS)}"
        r = random_()
        if previous_email and r < 0.03:
            email = previous_email  # e.g. one office address for several people
        elif r < 0.06:
            email = None
        first_name: str | None = first[0] if greek else first[1]
        if random_() < self.bad_fraction:
            if self.pick(BAD_CONTACT_KINDS) == "bad_email":
                email = self.pick(_BAD_EMAILS).format(local)
            else:
                last_name = None if random_() < 0.5 else ""
                first_name = email = None
        q = self.quirk()
        if q < 0.04:
            last_name = None if q < 0.02 else ""  # a first name only
        elif q < 0.045 and email:
            last_name = first_name = None  # only an e-mail
        return {
            "CONTACTID": self.guid(),
            "TRDRID": trdrid,
            "FIRSTNAME": first_name,
            "LASTNAME": last_name,
            "EMAIL": email,
            "PHONE": self.phone("210") if random_() < 0.7 else None,
            "MOBILE": self.phone("69") if random_() < 0.6 else None,
            "JOBTITLE": self.pick(_JOB_TITLES),
            "CONTACTS_REVNUM": self.next_rev(),
        }


def generate(customers: int, seed: int = 1, *, bad_fraction: float = 0.01) -> Dataset:
    """Generate `customers` customers with their affiliate links and contacts.

    Deterministic in `(customers, seed, bad_fraction)`; see the module docstring for the
    proportions.
    """
    # The rows hold no reference cycles; the cyclic collector would only rescan the
    # growing lists again and again (a third of the generation time at 100k customers).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(customers, seed, bad_fraction)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(customers: int, seed: int, bad_fraction: float) -> Dataset:
    gen = _Generator(seed, bad_fraction)
    out_customers: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    # Affiliates open for more customers: [row, remaining customer slots].
    shared_open: list[list[Any]] = []
    last_email: str | None = None
    for n in range(1, customers + 1):
        row = gen.customer(n)
        out_customers.append(row)
        trdrid = row["TRDRID"]
        if not trdrid:
            continue
        if row["ZH_CUSTOMERS_MEMBER_CARDNO"]:
            taken: set[str] = set()
            for _ in range(1 if gen.random() < 0.6 else 2):
                link = _affiliate_link(gen, trdrid, shared_open, taken)
                taken.add(link["AFFILIATES_TRDRID"])
                links.append(link)
        for _ in range(gen.below(4)):
            contact = gen.contact(trdrid, last_email)
            last_email = contact["EMAIL"] or last_email
            contacts.append(contact)
    return Dataset(out_customers, links, contacts, gen.rev)


def _affiliate_link(
    gen: _Generator, trdrid: str, shared_open: list[list[Any]], taken: set[str]
) -> dict[str, Any]:
    """A link of customer `trdrid` to a new affiliate or to an open shared one."""
    if shared_open and gen.random() < 0.15:
        entry = shared_open[-1]
        base = entry[0]
        if base["AFFILIATES_TRDRID"] not in taken:
            entry[1] -= 1
            if entry[1] == 0:
                shared_open.pop()
            return {**base, "AFFILIATES_CUST_TRDRID": trdrid}
    link = gen.affiliate(trdrid)
    if gen.random() < 0.1:
        shared_open.append([link, gen.pick((1, 2))])  # 2 or 3 customers in all
    return link
