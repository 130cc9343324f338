"""Writes bench/data/personal_data.jsonl: invented escalation intakes, labelled, for
bench/bench_personal_data.py. Every person, address and number here is invented: NHS numbers
from the reserved test range 999 000 0000 - 999 999 9999 (with a valid check digit), phone
numbers from Ofcom's drama ranges (01632 960xxx, 07700 900xxx, 0113 496 0xxx), postcodes
and streets made up. Half the intakes identify nobody, and are written to be hard to tell
from those that do: the professionals' own names, decision dates, ages, agency references,
the published front-door numbers, organisations named after people or places.

    .venv/bin/python bench/data/make_personal_data.py      # rewrites the file (seeded: the same each time)
"""
from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "personal_data.jsonl"
rng = random.Random(20261124)

FIRST = ["Jamie", "Kerry", "Leanne", "Tyler", "Kayden", "Amira", "Tomasz", "Chloe", "Darren", "Aaliyah", "Mohammed",
         "Olivia", "Harvey", "Precious", "Oluwaseun", "Priya", "Lily-Mae", "Connor", "Bethany", "Kwame", "Zainab",
         "Reece", "Sophie", "Dylan", "Mia", "Jayden", "Agnieszka", "Ruby", "Callum", "Demi", "Imran", "Ellie",
         "Ashton", "Courtney", "Nathaniel", "Freya", "Kacper", "Aisha", "Liam", "Skye"]
LAST = ["Smith", "Hughes", "Nowak", "Price", "Walsh", "Begum", "Khan", "Okafor", "Jones", "Patel", "Kowalski",
        "Brown", "O'Neill", "McAllister", "Davies", "Evans", "Thompson", "Ahmed", "Mensah", "Wright", "Turner",
        "Clarke-Ward", "Hussain", "Baker", "Green", "Fletcher", "Lewandowska", "Adeyemi", "Rossi", "Campbell"]
PRO_FIRST = ["Casey", "Drew", "Morgan", "Riley", "Sam", "Alex", "Jo", "Priti", "Hannah", "Gareth", "Nadia", "Owen"]
PRO_LAST = ["Tester", "Sample", "Example", "Placeholder", "Demo", "Trial", "Mock", "Specimen"]
STREETS = ["Acacia Avenue", "Mill Lane", "Orchard Close", "Willow Crescent", "Station Road", "Church Street",
           "Beacon Rise", "Hollybush Grove", "Kingfisher Drive", "Foxglove Way", "Juniper Court", "Larch Gardens"]
TOWNS = ["Tettenhall", "Bilston", "Trowbridge", "Horsham", "Wednesfield", "Chippenham"]
POSTCODES = ["WV10 6QZ", "WV1 1AA", "SN10 2AT", "RH12 1XY", "BA14 8JN", "WV4 5PL", "sn15 1er", "RH13 5QQ"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def nhs() -> str:
    while True:
        digits = [9, 9, 9] + [rng.randrange(10) for _ in range(6)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        if check != 10:
            s = "".join(map(str, digits + [check]))
            return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s, f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def phone() -> str:
    n = rng.randrange(1000)
    return rng.choice([f"07700 900{n:03d}", f"+44 7700 900{n:03d}", f"01632 960{n:03d}", f"(01632) 960 {n:03d}",
                       f"07700900{n:03d}", f"0113 496 0{n:03d}"])


def dob() -> str:
    d, m, y = rng.randrange(1, 28), rng.randrange(1, 13), rng.randrange(2008, 2025)
    return rng.choice([f"{d:02d}/{m:02d}/{y}", f"{d}.{m}.{y % 100:02d}", f"{d} {MONTHS[m - 1]} {y}",
                       f"{d}{'th' if d > 3 else ['st', 'nd', 'rd'][d - 1]} {MONTHS[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}",
                       f"{MONTHS[m - 1]} {y}"])


def full_name() -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return rng.choice([f"{first} {last}", f"{first} {rng.choice(FIRST)} {last}"])


def professionals() -> dict:
    names = rng.sample([f"{f} {l}" for f in PRO_FIRST for l in PRO_LAST], 4)
    return dict(zip(("raised_by", "raiser_manager", "other_party", "other_manager"), names))


# Identifying sentences: (template, kind); {x} is the identifying passage.
IDENTIFYING = [
    ("DOB {x}.", "dob", dob), ("The child (d.o.b. {x}) was not seen.", "dob", dob),
    ("Date of birth: {x}.", "dob", dob), ("She was born on {x} and is now at nursery.", "dob", dob),
    ("Born {x}, he has an EHCP.", "dob", dob),
    ("NHS number {x}.", "nhs", nhs), ("NHS no: {x}", "nhs", nhs), ("His health record ({x}) shows three A&E visits.",
                                                                     "nhs", nhs),
    ("The family live at {x}.", "address", lambda: f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"),
    ("Home visit at {x} was refused.", "address",
     lambda: f"Flat {rng.randrange(1, 30)}, {rng.randrange(1, 90)} {rng.choice(STREETS)}"),
    ("They moved to {x} last month.", "address",
     lambda: f"{rng.randrange(1, 99)}{rng.choice(['', 'a', 'b'])} {rng.choice(STREETS)}, {rng.choice(TOWNS)}"),
    ("Address: {x}", "address", lambda: f"{rng.randrange(1, 99)} {rng.choice(STREETS)}"),
    ("Postcode {x}.", "postcode", lambda: rng.choice(POSTCODES)),
    ("The house is in {x}, near the school.", "postcode", lambda: rng.choice(POSTCODES)),
    ("Mum's mobile is {x}.", "phone", phone), ("Dad can be reached on {x}.", "phone", phone),
    ("Call the grandmother on {x} if needed.", "phone", phone),
    ("The mother, {x}, declined the visit.", "name", full_name), ("{x} was seen with bruising.", "name", full_name),
    ("Mum's partner {x} is on bail.", "name", full_name),
    ("Dad ({x}) refused to engage.", "name", full_name),
    ("{x}", "name", lambda: f"{rng.choice(['Mr', 'Mrs', 'Ms', 'Miss'])} {rng.choice(LAST)} attended the meeting."),
    ("Her brother, {x}, also lives there.", "name", full_name),
    ("School reported that {x} had not attended since Monday.", "name", full_name),
]
# Clean sentences: words that look like the above and are not.
CLEAN = [
    "{other} declined the referral on {date}.", "{raiser} discussed it with {other_manager} on {date}.",
    "Spoke to {other} by phone; no agreement was reached.", "{raiser_manager} agreed the escalation.",
    "The child, aged {age}, attends a local primary school.", "Jamie attends nursery three mornings a week.",
    "Our reference is LCS-{n6}; theirs is {ref2}.", "Case discussed at the strategy meeting on Monday {day} {month}.",
    "MASH were told on 01902 555392 as the policy asks.", "An Early Help Assessment was refused by Health Visiting.",
    "The Child Protection Conference was not convened within 15 working days.",
    "Grace Academy raised concerns about attendance (64%).", "Victoria Park Primary School made a referral.",
    "The Team Around the Family met at the Children's Centre at 14:30.",
    "The family home was visited twice; nobody answered.", "Section 47 enquiries were not started.",
    "West Midlands Police attended under Operation Encompass.", "The Royal Wolverhampton NHS Trust was consulted.",
    "A referral to CAMHS was declined on {date} as below threshold.",
    "Child A and Sibling B were seen together.", "Mum said she would think about it.",
    "The decision of {date} was confirmed in writing on {date2}.", "Costs of £250 were mentioned.",
    "Three missed health appointments since {month} {year}.", "St John's Church runs the food bank they use.",
    "{other_short} said the threshold for a Child in Need assessment was not met.",
    "Ms {other_last} agreed to review the case.", "Email from {raiser} dated {date}.",
    "The IRO, {other_manager}, will be told.", "Mohammed Ali Way is the site of the new Family Hub.",
    "The Designated Safeguarding Lead will call back.", "A Christmas food parcel was arranged.",
]


def clean_sentence(pros: dict) -> str:
    day = rng.randrange(1, 28)
    return rng.choice(CLEAN).format(
        other=pros["other_party"], raiser=pros["raised_by"], other_manager=pros["other_manager"],
        raiser_manager=pros["raiser_manager"], other_short=pros["other_party"].split()[0],
        other_last=pros["other_party"].split()[-1], date=f"{day}/11/2026", date2=f"{day + 1}/11/2026",
        age=rng.randrange(1, 17), n6=rng.randrange(100000, 999999), ref2=f"MOS-{rng.randrange(10000, 99999)}",
        day=day, month=rng.choice(MONTHS), year=rng.choice([2025, 2026]))


def intake(identifying: bool) -> dict:
    pros = professionals()
    fields = {"case_reference": rng.choice(["LCS-", "CH-", "MOS-", "ASC-"]) + str(rng.randrange(10000, 999999)),
              "decision_disputed": clean_sentence(pros), "reasons": " ".join(clean_sentence(pros) for _ in range(2)),
              "outcome_sought": rng.choice(["An early help assessment started.", "A strategy meeting within 5 days.",
                                            "The referral reconsidered by a manager.", "A child protection conference."]),
              "discussions": clean_sentence(pros)}
    labels = []
    if identifying:
        for _ in range(rng.choice([1, 1, 2, 3])):
            if rng.random() < 0.12 and not any(x["field"] == "case_reference" for x in labels):
                words = rng.choice([full_name(), f"{rng.choice(LAST)}, {rng.choice(FIRST)}", rng.choice(FIRST),
                                    full_name().lower()])
                fields["case_reference"] = words
                labels.append({"field": "case_reference", "kind": "name_reference", "words": words})
                continue
            template, kind, make = rng.choice(IDENTIFYING)
            words = make()
            sentence = template.format(x=words)
            if kind == "name" and template == "{x}":
                words = sentence.split(" attended")[0]
            field = rng.choice(["reasons", "reasons", "decision_disputed", "discussions", "outcome_sought"])
            fields[field] = f"{fields[field]} {sentence}"
            labels.append({"field": field, "kind": kind, "words": words})
    return {"fields": fields, "professionals": pros, "identifying": labels}


def main() -> None:
    rows = [intake(identifying=i % 2 == 0) for i in range(240)]
    with OUT.open("w", encoding="utf-8") as f:
        for n, row in enumerate(rows, 1):
            f.write(json.dumps({"id": n, **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} intakes ({sum(1 for r in rows if r['identifying'])} identifying, "
          f"{sum(len(r['identifying']) for r in rows)} passages) written to {OUT}")


if __name__ == "__main__":
    main()
