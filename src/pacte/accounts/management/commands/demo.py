"""``pacte demo seed --customers N [--seed S] [--json] [--staff]``: synthetic customers for the demo."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from faker import Faker

from pacte.accounts.models import User
from pacte.accounts.services import email_pseudonym, user_register
from pacte.commerce.services import catalogue_demo_seed
from pacte.consent.services import consent_set
from pacte.messaging.selectors import mail_purpose_list

DEMO_PASSWORD = "demo-pacte-2026"  # noqa: S105 - the published demo password, printed by the command
STAFF_EMAIL = "staff@demo.pacte.invalid"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "x"


def _person(fake: Any, country: str, rng: random.Random, index: int) -> dict[str, Any]:
    first, last = fake.first_name(), fake.last_name()
    person: dict[str, Any] = {
        "name": f"{first} {last}",
        # The index makes every address unique whatever Faker draws.
        "email": f"{_ascii(first)}.{_ascii(last)}.{index}@{fake.safe_domain_name()}",  # never a real mailbox
        "phone": fake.phone_number(),
        "address": {
            "lines": [fake.street_address().replace("\n", ", ")],
            "postcode": fake.postcode(),
            "city": fake.city(),
            "country": country,
        },
        "kind": "individual",
    }
    if rng.random() < 0.2:
        person["kind"] = "employer"
        person["organisation"] = {
            "legal_name": fake.company(),
            "registration_number": str(rng.randrange(100_000_000, 999_999_999)),
        }
    return person


def people_generate(*, count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` synthetic people (half fr_FR, half en_GB), reproducibly from ``seed``."""
    fakers = {"fr_FR": Faker("fr_FR"), "en_GB": Faker("en_GB")}
    for offset, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + offset)
    rng = random.Random(seed)
    return [
        _person(fakers["fr_FR"], "FR", rng, i) if i % 2 == 0 else _person(fakers["en_GB"], "GB", rng, i)
        for i in range(count)
    ]


def customers_seed(*, count: int, seed: int = 1, staff: bool = False) -> list[dict[str, Any]]:
    """Create ``count`` verified demo customers (and a staff user) and return the people created."""
    password_hash = make_password(DEMO_PASSWORD)
    people = people_generate(count=count, seed=seed)
    mail_purposes = [pid for pid, _label in mail_purpose_list()]
    rng = random.Random(seed)
    created = []
    for person in people:
        if User.objects.filter(email=email_pseudonym(person["email"])).exists():
            continue  # seeding twice is harmless
        organisation = None
        if person["kind"] == "employer":
            organisation = {**person["organisation"], "postal_address": person["address"], "authority": True}
        user = user_register(
            email=person["email"],
            password=None,
            password_hash=password_hash,
            name=person["name"],
            birth_date=None,
            kind=person["kind"],
            phone=person["phone"],
            postal_address=person["address"],
            organisation=organisation,
            source="demo",
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        # About a third of the demo customers agreed to each mailing list (as if at sign-up).
        person["consents"] = [pid for pid in mail_purposes if rng.random() < 0.33]
        for purpose in person["consents"]:
            consent_set(subject_id=user.subject_id, purpose=purpose, granted=True, source="signup")
        created.append(person)
    if staff and not User.objects.filter(email=email_pseudonym(STAFF_EMAIL)).exists():
        user = user_register(
            email=STAFF_EMAIL,
            password=None,
            password_hash=password_hash,
            name="Demo Staff",
            birth_date=None,
            is_staff=True,
            source="demo",
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return created


def _shop_seed(count: int, seed: int) -> Any:
    """Give the first demo customers paid orders, saved items and testimonials (billing's demo flow)."""
    from django.conf import settings

    from pacte.billing.flows.demo import shop_demo_seed

    emails = [email_pseudonym(person["email"]) for person in people_generate(count=count, seed=seed)]
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    shop = shop_demo_seed(customers=[users[email] for email in emails if email in users])
    if shop.orders and "django_tasks_db" in settings.TASKS["default"]["BACKEND"]:
        # The sandbox's notifications (and the orders' mails) wait in the task queue: handle them now,
        # as `pacte serve`'s worker would, so that the orders are paid and invoiced out of the box.
        from django.core.management import call_command

        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    return shop


class Command(BaseCommand):
    help = "Demo data: `pacte demo seed --customers N [--seed S] [--json] [--staff]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser("seed", help="Create synthetic customers with verified e-mail addresses.")
        seed.add_argument("--customers", type=int, default=20)
        seed.add_argument("--seed", type=int, default=1)
        seed.add_argument("--json", action="store_true", help="Print every generated person as JSON.")
        seed.add_argument("--staff", action="store_true", help=f"Also create the staff user {STAFF_EMAIL}.")

    def handle(self, *args: Any, **options: Any) -> None:
        people = customers_seed(count=options["customers"], seed=options["seed"], staff=options["staff"])
        products = catalogue_demo_seed()  # the shop's few services and two plans
        shop = _shop_seed(options["customers"], options["seed"])
        if options["json"]:
            self.stdout.write(
                json.dumps({"password": DEMO_PASSWORD, "people": people}, ensure_ascii=False, indent=1)
            )
            return
        everyone = people_generate(count=options["customers"], seed=options["seed"])
        self.stdout.write(f"Added {products} products to the shop's catalogue (/shop/).")
        self.stdout.write(
            f"Placed {len(shop.orders)} demo orders, {shop.paid_through_sandbox} paid through the sandbox"
            f" gateway (each with its invoice); {shop.saved_items} items saved for later;"
            f" {shop.testimonials} testimonials published (/testimonials/)."
        )
        self.stdout.write(
            f"Created {len(people)} demo customers ({len(everyone) - len(people)} already there)."
            f" Sign in at /accounts/login/ with the demo password {DEMO_PASSWORD} as:"
        )
        for person in everyone:
            kind = "for an employer" if person["kind"] == "employer" else "individual"
            self.stdout.write(f"  {person['email']}  ({person['name']}, {kind})")
        if options["staff"]:
            self.stdout.write(
                f"  {STAFF_EMAIL}  (staff, same password; sets up two-factor authentication at first sign-in)"
            )
