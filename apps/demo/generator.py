"""Synthetic, clinically plausible demo data for the whole registry, written with PostgreSQL COPY.

Everything here is made up: names come from fixed lists, e-mail addresses are at example.org and mobile
numbers are in the 555-01xx range that North American numbering keeps for fiction. The same seed and the
same `today` give the same data: each patient draws from its own random.Random seeded with (seed, patient
number), so patient D0000042 is the same whatever the batch size or the number of patients asked for, and a
second run with --force (which numbers on from the highest demo MRN) gives new patients and new public ids.

The rows are built in Python, following the rules the services apply one record at a time:
- blocks carry a diary whose peak relief makes ~70% of them positive under the protocol's threshold;
- an ablation's qualifying block is what `qualifying_block_pick` would choose (the latest positive block of
  the same patient, nerve and side whose clinic-local date is 0..qualifying_block_days before the ablation);
- an ablation gets one follow-up per time point of the protocol, dated by `follow_up_dates`;
- a survey response's follow-up is the one whose window holds its clinic-local completion date (else none).
Primary keys are taken from the tables' sequences, so the database and the rows agree.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.audit.services import history_in_bulk, history_record_created
from apps.blocks.models import Diagnosis, DiagnosticBlock, DiaryEntry, Guidance, Side
from apps.clinic.models import Nerve, Protocol, TimePoint
from apps.clinic.rules import percent_reduction
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp, QualifyingSource
from apps.cryoablations.services import follow_up_dates
from apps.patients.models import Channel, Language, Patient, Sex, patient_search_name
from apps.surveys.models import PGIC, CollectedVia, SurveyResponse
from apps.surveys.services import counted_responses_refresh

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published demo credential, documented in the command's help
DEFAULT_PATIENTS = 500
DEFAULT_SEED = 1
BATCH_PATIENTS = 2_000  # patients generated and copied per transaction: memory stays flat at any size
ID_CHUNK = 20_000  # primary keys fetched from a sequence per round trip
HISTORY_DAYS = 730  # blocks fall in the two years before `today`

MRN_PREFIX = "D"
MRN_DIGITS = 7

# username, first name, last name, role. `admin` is also is_staff (the Django admin), never a superuser.
DEMO_USERS = [
    ("staff", "Alex", "Rivera", Role.STAFF),
    ("physician", "Jordan", "Hale", Role.PHYSICIAN),
    ("dr_okafor", "Chidi", "Okafor", Role.PHYSICIAN),
    ("dr_lindqvist", "Elin", "Lindqvist", Role.PHYSICIAN),
    ("dr_moreno", "Rafael", "Moreno", Role.PHYSICIAN),
    ("admin", "Morgan", "Blake", Role.ADMIN),
]
PHYSICIANS = ["physician", "dr_okafor", "dr_lindqvist", "dr_moreno"]

FEMALE_NAMES = [
    "Zoë", "Iñés", "María", "Sofía", "Lucía", "Chloé", "Renée", "Noémie", "Agnès", "Beatriz", "Siobhán", "Ana",
    "Elena", "Margaret", "Linda", "Grace", "Hannah", "Aisha", "Mei", "Priya", "Olga", "Brigitte", "Ingrid",
    "Fatima", "Emily", "Sarah", "Laura", "Dorothy", "Janet", "Karen", "Ruth", "Helen", "Carmen", "Rosa",
]  # fmt: skip
MALE_NAMES = [
    "José", "André", "Jürgen", "François", "Łukasz", "Søren", "Ramón", "Émile", "Raúl", "Joaquín", "Björn",
    "Tomás", "James", "Robert", "Michael", "David", "Daniel", "Thomas", "Kwame", "Hiroshi", "Omar", "Ivan",
    "Mateo", "Liam", "Noah", "Samuel", "Peter", "George", "Arjun", "Walter", "Frank", "Luis", "Carlos",
]  # fmt: skip
OTHER_NAMES = ["Alex", "Sam", "Robin", "Jamie", "Noa", "Ariel", "Kai", "Andrea"]
SPANISH_SURNAMES = [
    "García", "Peña", "Núñez", "Fernández", "Gómez", "Martínez", "Rodríguez", "López", "Pérez", "Sánchez",
    "Díaz", "Hernández", "Jiménez", "Álvarez", "Ortega", "Castillo", "Vargas", "Ibáñez", "Muñoz", "Romero",
]  # fmt: skip
OTHER_SURNAMES = [
    "Müller", "Schröder", "Lefèvre", "Dubois", "Brontë", "Østergaard", "Çelik", "Yılmaz", "Kovač", "Nowak",
    "Jensen", "Kowalski", "O'Brien", "Nguyen", "Kim", "Chen", "Patel", "Singh", "Smith", "Johnson", "Williams",
    "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin",
    "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers",
    "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood",
    "Watson", "Brooks", "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster",
]  # fmt: skip
# New York City area codes; 555-0100..0199 is reserved for fiction and passes phonenumbers.is_valid_number.
AREA_CODES = ["212", "646", "917", "347", "718", "929"]

DIARY_MINUTES = [15, 30, 60, 120, 240]
BLOCK_COUNTS = {1: 18, 2: 24, 3: 24, 4: 17, 5: 10, 6: 5, 7: 2}  # mean 3.0 blocks a patient
ABLATION_COUNTS = {0: 10, 1: 68, 2: 22}  # per patient with a positive block: ~1.0 a patient overall
POSITIVE_SHARE = 0.70
UNSCHEDULED_SHARE = 0.04  # ablations that also get a response outside every window
NO_QUALIFYING_SHARE = 0.04  # ablations done on clinical judgement, on a side with no positive block
RESPONSE_SHARE = [0.85, 0.80, 0.75, 0.70, 0.65]  # by time point, earliest first: ~75% overall, dropping off


@dataclass(frozen=True)
class NerveProfile:
    """How a clinic blocks one nerve: what it suspects, which sides, guidance, needle, injectate, exam."""

    weight: int
    diagnoses: dict[str, int]
    sides: dict[str, int]
    guidance: dict[str, int]
    needles: dict[str, int]
    volumes: dict[str, int]
    exam: str = ""  # "superior" or "middle" cluneal, "tinel": which examination findings get recorded


_CLUNEAL_SIDES = {Side.LEFT: 40, Side.RIGHT: 40, Side.BILATERAL: 20}
_LIMB_SIDES = {Side.LEFT: 50, Side.RIGHT: 50}
_NEEDLE = {"25-gauge spinal": 85, "27-gauge": 10, "22-gauge spinal": 5}
NERVE_PROFILES = {
    "superior_cluneal": NerveProfile(
        42,
        {Diagnosis.SUPERIOR_CLUNEAL: 100},
        _CLUNEAL_SIDES,
        {Guidance.ULTRASOUND: 92, Guidance.LANDMARK: 8},
        _NEEDLE,
        {"1.0": 90, "2.0": 10},
        exam="superior",
    ),
    "middle_cluneal": NerveProfile(
        18,
        {Diagnosis.MIDDLE_CLUNEAL: 85, Diagnosis.SI_JOINT: 15},
        _CLUNEAL_SIDES,
        {Guidance.ULTRASOUND: 95, Guidance.FLUOROSCOPY: 5},
        _NEEDLE,
        {"1.0": 90, "2.0": 10},
        exam="middle",
    ),
    "genicular_superior_lateral": NerveProfile(
        6,
        {Diagnosis.GENICULAR: 100},
        _LIMB_SIDES,
        {Guidance.ULTRASOUND: 85, Guidance.FLUOROSCOPY: 15},
        _NEEDLE,
        {"1.0": 60, "2.0": 40},
    ),  # fmt: skip
    "genicular_superior_medial": NerveProfile(
        6,
        {Diagnosis.GENICULAR: 100},
        _LIMB_SIDES,
        {Guidance.ULTRASOUND: 85, Guidance.FLUOROSCOPY: 15},
        _NEEDLE,
        {"1.0": 60, "2.0": 40},
    ),  # fmt: skip
    "genicular_inferior_medial": NerveProfile(
        6,
        {Diagnosis.GENICULAR: 100},
        _LIMB_SIDES,
        {Guidance.ULTRASOUND: 85, Guidance.FLUOROSCOPY: 15},
        _NEEDLE,
        {"1.0": 60, "2.0": 40},
    ),  # fmt: skip
    "medial_branch": NerveProfile(
        14,
        {Diagnosis.FACET: 100},
        {Side.LEFT: 35, Side.RIGHT: 35, Side.BILATERAL: 30},
        {Guidance.FLUOROSCOPY: 70, Guidance.ULTRASOUND: 30},
        {"22-gauge spinal": 60, "25-gauge spinal": 40},
        {"0.5": 80, "1.0": 20},
    ),
    "suprascapular": NerveProfile(
        4, {Diagnosis.OTHER: 100}, _LIMB_SIDES, {Guidance.ULTRASOUND: 100}, _NEEDLE, {"1.0": 50, "2.0": 50}
    ),
    "tibial": NerveProfile(
        4,
        {Diagnosis.TARSAL_TUNNEL: 100},
        _LIMB_SIDES,
        {Guidance.ULTRASOUND: 90, Guidance.LANDMARK: 10},
        _NEEDLE,
        {"1.0": 100},
        exam="tinel",
    ),
}
INJECTATES = {("lidocaine", "2.00"): 80, ("lidocaine", "1.00"): 10, ("bupivacaine", "0.50"): 10}
BLOCK_NOTES = {
    "": 88,
    "Tolerated well.": 5,
    "Reproduced the usual pain on needle contact.": 3,
    "Dual comparative block: second injection.": 2,
    "Brief vasovagal episode, resolved.": 2,
}
DEVICES = {("CryoConsole 300 (demo)", "1.3 mm cryoprobe"): 60, ("CryoConsole 300 (demo)", "14 G cryoprobe"): 40}
COMPLICATIONS = {
    "": 93,
    "Transient bruising at the probe site.": 4,
    "Skin blanching over the probe track, resolved in a week.": 2,
    "Post-procedure soreness for three days.": 1,
}


def _weighted(rng: random.Random, table: dict) -> object:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass
class SeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    first_mrn: str = ""
    last_mrn: str = ""
    survey_open_mrn: str = ""  # the patient whose first follow-up is due on `today` (DemoGenerator.patient)
    seconds: float = 0.0


@dataclass
class _Block:
    id: int
    nerve: str
    side: str
    performed_at: datetime  # clinic-local, aware
    baseline: int
    positive: bool
    peak: object  # Decimal | None


@dataclass
class _Batch:
    """Rows of one batch of patients, in the column order of COPY_COLUMNS."""

    patients: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    diary: list = field(default_factory=list)
    ablations: list = field(default_factory=list)
    follow_ups: list = field(default_factory=list)
    responses: list = field(default_factory=list)


COPY_COLUMNS = {
    "patients": (Patient, [
        "id", "public_id", "mrn", "first_name", "last_name", "date_of_birth", "sex", "email", "mobile_phone",
        "preferred_channel", "language", "timezone", "reminder_consent", "is_active", "opted_out_at",
        "email_undeliverable_at", "phone_invalid_at", "search_name", "created_at", "updated_at",
    ]),
    "blocks": (DiagnosticBlock, [
        "id", "public_id", "patient_id", "performed_at", "physician_id", "nerve_id", "side", "guidance", "needle",
        "needle_gauge", "drug", "concentration_percent", "volume_ml", "baseline_nrs", "suspected_diagnosis",
        "trigger_point_cm_from_midline", "trigger_point_mm_caudal_to_psis", "tinel_sign", "worse_with_posture",
        "compression_symptoms", "notes", "external_id", "created_at", "updated_at",
    ]),
    "diary": (DiaryEntry, ["id", "block_id", "minutes_after", "nrs", "source", "recorded_at"]),
    "ablations": (Cryoablation, [
        "id", "public_id", "patient_id", "performed_on", "physician_id", "nerve_id", "side", "device", "probe",
        "cycles", "freeze_seconds", "guidance", "baseline_nrs", "complications", "qualifying_block_id",
        "qualifying_source", "external_id", "created_at", "updated_at",
    ]),
    "follow_ups": (FollowUp, [
        "id", "public_id", "ablation_id", "time_point", "label", "target_date", "window_start", "window_end",
    ]),
    "responses": (SurveyResponse, [
        "id", "public_id", "ablation_id", "follow_up_id", "completed_at", "pain_average", "pain_current", "pain_worst",
        "percent_relief", "pgic", "collected_via", "recorded_by_id", "recorded_at",
    ]),
}  # fmt: skip


class _IdPool:
    """Primary keys taken from a table's own sequence a chunk at a time, so rows can reference each other
    before they are copied and later inserts through the ORM never collide with them."""

    def __init__(self, raw_connection, table: str) -> None:
        self.raw = raw_connection
        with self.raw.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self.sequence = cursor.fetchone()[0]
        self.ids: list[int] = []
        self.chunk = 500  # grows to ID_CHUNK: a small seed does not burn thousands of ids

    def take(self) -> int:
        if not self.ids:
            with self.raw.cursor() as cursor:
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, self.chunk])
                self.ids = [row[0] for row in cursor.fetchall()]
            self.ids.reverse()
            self.chunk = min(ID_CHUNK, self.chunk * 4)
        return self.ids.pop()


def demo_users_ensure() -> tuple[dict[str, User], int]:
    """The demo users (password DEMO_PASSWORD) in their role groups; existing users are left as they are.
    Returns the users by username and how many were created."""
    from django.contrib.auth.models import Group

    from apps.accounts.roles import sync_role_groups

    if Group.objects.filter(name__in=[role.value for role in Role]).count() < len(Role):
        sync_role_groups()  # normally done by migrate's post_migrate; harmless to repeat
    users, created = {}, 0
    for username, first_name, last_name, role in DEMO_USERS:
        user, is_new = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.org",
                "is_staff": role == Role.ADMIN,
                "is_superuser": False,
            },
        )
        if is_new:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role.value))
            created += 1
        users[username] = user
    return users, created


class DemoGenerator:
    """Builds the rows of one patient at a time; see the module docstring for the rules it follows."""

    def __init__(
        self,
        *,
        seed: int,
        today: date,
        protocol: Protocol,
        time_points: Sequence[TimePoint],
        nerves: dict[str, int],
        physicians: list[int],
        staff_id: int,
        pools: dict[str, _IdPool],
    ) -> None:
        self.seed = seed
        self.today = today
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.threshold = protocol.block_threshold_percent
        self.window_minutes = protocol.evaluation_window_minutes
        self.qualifying_days = protocol.qualifying_block_days
        self.time_points = list(time_points)
        self.physicians = physicians
        self.staff_id = staff_id
        self.pools = pools
        self.nerve_ids = {code: nerve_id for code, nerve_id in nerves.items() if code in NERVE_PROFILES}
        if not self.nerve_ids:
            raise ValueError("None of the demo's nerve codes is in the catalog; run migrate first.")
        self.nerve_weights = {code: NERVE_PROFILES[code].weight for code in self.nerve_ids}
        # Diary scores that make a block positive (at most pos_max) or negative (at least neg_min), per baseline.
        self.pos_max = {b: max((n for n in range(b + 1) if self._positive(b, n)), default=-1) for b in range(11)}
        self.neg_min = {b: min((n for n in range(11) if not self._positive(b, n)), default=11) for b in range(11)}
        windows = [(tp.window_start_day, tp.window_end_day) for tp in self.time_points]
        last = max((end for _, end in windows), default=0)
        # Days after an ablation that fall in no follow-up window: when an unscheduled response is completed.
        self.unscheduled_days = [d for d in range(1, last + 60) if not any(start <= d <= end for start, end in windows)]

    def _positive(self, baseline: int, score: int) -> bool:
        reduction = percent_reduction(baseline, score)
        return reduction is not None and reduction >= self.threshold

    def _local(self, day: date, minutes_of_day: int) -> datetime:
        return datetime(day.year, day.month, day.day, minutes_of_day // 60, minutes_of_day % 60, tzinfo=self.zone)

    def patient(
        self,
        number: int,
        batch: _Batch,
        *,
        blocks: int | None = None,
        ablations: int | None = None,
        survey_open: bool = False,
    ):
        """Append the rows of patient `number`. `blocks`/`ablations` force a history length (benchmarks).
        `survey_open`: a patient reached by email whose first follow-up is due today, unanswered, after a
        positive block (the demo's patient for "Send now" and "Copy link", and for the invitation `make run`'s
        worker prints)."""
        rng = random.Random(f"painreg-demo/{self.seed}/{number}")
        patient_id = self.pools["patients"].take()
        sex = _weighted(rng, {Sex.FEMALE: 55, Sex.MALE: 43, Sex.OTHER: 1, Sex.UNKNOWN: 1})
        first_name = rng.choice(FEMALE_NAMES if sex == Sex.FEMALE else MALE_NAMES if sex == Sex.MALE else OTHER_NAMES)
        spanish = rng.random() < 0.25
        last_name = rng.choice(SPANISH_SURNAMES if spanish else OTHER_SURNAMES)
        language = Language.SPANISH if rng.random() < (0.5 if spanish else 0.03) else Language.ENGLISH
        email = f"patient{number}@example.org" if rng.random() < 0.9 else ""
        mobile = f"+1{rng.choice(AREA_CODES)}55501{rng.randrange(100):02d}" if rng.random() < 0.85 else ""
        channels = {Channel.NONE: 15}
        if email:
            channels[Channel.EMAIL] = 40
        if mobile:
            channels[Channel.SMS] = 45
        channel = _weighted(rng, channels)
        if survey_open:
            email, channel = email or f"patient{number}@example.org", Channel.EMAIL
        age_days = rng.randint(25 * 365 + 7, 85 * 365 + 20)
        patient_physician = rng.choice(self.physicians)

        block_count = blocks or _weighted(rng, BLOCK_COUNTS)
        first_day = self.today - timedelta(days=2)  # blocks up to the day before yesterday: never in the future
        ablation_day = self.today - timedelta(days=self.time_points[0].target_day)
        if survey_open:  # the last block a week before the ablation, so that it qualifies
            first_day = ablation_day - timedelta(days=7)
        gaps = [rng.randint(7, 120) for _ in range(block_count - 1)]
        span = sum(gaps)
        if span > HISTORY_DAYS - 10:
            gaps = [max(1, g * (HISTORY_DAYS - 10) // span) for g in gaps]
            span = sum(gaps)
        day = first_day - timedelta(days=span + (0 if survey_open else rng.randint(0, HISTORY_DAYS - 2 - span)))
        procedures = [(self._nerve(rng), None)]
        if rng.random() < 0.25 or block_count > 10:
            procedures += [(self._nerve(rng), None) for _ in range(2 if block_count > 10 else 1)]
        procedures = [(code, _weighted(rng, NERVE_PROFILES[code].sides)) for code, _ in procedures]
        pain_level = {procedure: rng.randint(5, 9) for procedure in procedures}

        registered = self._local(day - timedelta(days=rng.randint(0, 30)), rng.randint(8 * 60, 17 * 60))
        patient_blocks: list[_Block] = []
        previous = None
        for index in range(block_count):
            if index:
                day += timedelta(days=gaps[index - 1])
            procedure = procedures[0] if rng.random() < 0.7 else rng.choice(procedures)
            performed_at = self._local(day, rng.randint(7 * 60 + 30, 16 * 60 + 30))
            if previous is not None and performed_at <= previous:
                performed_at = previous + timedelta(minutes=45)
            previous = performed_at
            baseline = min(9, max(5, pain_level[procedure] + rng.choice((-1, 0, 0, 0, 1))))
            physician = patient_physician if rng.random() < 0.8 else rng.choice(self.physicians)
            positive = survey_open and index == block_count - 1
            patient_blocks.append(
                self._block(rng, batch, patient_id, procedure, performed_at, baseline, physician, positive=positive)
            )

        registered = min(registered, patient_blocks[0].performed_at - timedelta(hours=1))
        batch.patients.append(
            (
                patient_id, _uuid(rng), f"{MRN_PREFIX}{number:0{MRN_DIGITS}d}", first_name, last_name,
                self.today - timedelta(days=age_days), sex, email, mobile, channel, language,
                settings.TIME_ZONE, rng.random() < 0.8 or survey_open, rng.random() < 0.97 or survey_open,
                None, None, None,
                patient_search_name(first_name, last_name), registered, registered,
            )
        )  # fmt: skip
        if survey_open:
            anchor = patient_blocks[-1]
            self._ablation(
                rng, batch, patient_id, patient_blocks, patient_physician, ablation_day, anchor.nerve, anchor.side,
                anchor.baseline, unanswered_on=self.today,
            )  # fmt: skip
        else:
            self._ablations(rng, batch, patient_id, patient_blocks, patient_physician, ablations)

    def _nerve(self, rng: random.Random) -> str:
        return _weighted(rng, self.nerve_weights)

    def _block(self, rng, batch, patient_id, procedure, performed_at, baseline, physician, positive=False) -> _Block:
        nerve, side = procedure
        profile = NERVE_PROFILES[nerve]
        block_id = self.pools["blocks"].take()
        drug, concentration = _weighted(rng, INJECTATES)
        cm = mm = tinel = posture = compression = None
        if profile.exam in ("superior", "middle"):
            # Superior cluneal: tender where the nerve crosses the iliac crest, ~7 cm from the midline.
            # Middle cluneal: under the long posterior sacroiliac ligament, ~35 mm caudal to the PSIS.
            if profile.exam == "superior":
                cm = f"{rng.uniform(5.5, 8.5):.1f}"
            else:
                cm, mm = f"{rng.uniform(2.5, 4.5):.1f}", f"{rng.uniform(20, 50):.1f}"
            tinel, posture, compression = rng.random() < 0.65, rng.random() < 0.7, rng.random() < 0.55
        elif profile.exam == "tinel":
            tinel = rng.random() < 0.7

        minutes = sorted(rng.sample(DIARY_MINUTES, rng.randint(3, 5)))
        positive = (positive or rng.random() < POSITIVE_SHARE) and self.pos_max[baseline] >= 0
        if positive:
            low = max(0, self.pos_max[baseline] - 3)
            peak_score = rng.randint(low, self.pos_max[baseline])
        else:
            peak_score = rng.randint(min(self.neg_min[baseline], 10), min(10, max(baseline, self.neg_min[baseline])))
        # Local anaesthetic: relief peaks within the first hour, then the usual pain comes back.
        early = [i for i, m in enumerate(minutes) if m <= 60]
        peak_index = rng.choice(early) if early else 0
        scores = [0] * len(minutes)
        scores[peak_index] = peak_score
        for i in range(peak_index - 1, -1, -1):
            scores[i] = min(10, scores[i + 1] + rng.choice((0, 0, 1, 2)))
        for i in range(peak_index + 1, len(minutes)):
            scores[i] = min(10, max(scores[i - 1], scores[i - 1] + rng.choice((0, 1, 1, 2))))
        for minute, score in zip(minutes, scores, strict=True):
            source = DiaryEntry.Source.PATIENT if minute > 60 and rng.random() < 0.4 else DiaryEntry.Source.STAFF
            recorded = performed_at + timedelta(minutes=minute + rng.randint(0, 10))
            batch.diary.append((self.pools["diary"].take(), block_id, minute, score, source, recorded))

        # The result under the protocol, exactly as DiagnosticBlock.assess judges it.
        counted = [s for m, s in zip(minutes, scores, strict=True) if 0 <= m <= self.window_minutes]
        peak = max((percent_reduction(baseline, s) for s in counted), default=None) if baseline else None
        is_positive = peak is not None and peak >= self.threshold

        created = performed_at + timedelta(minutes=rng.randint(5, 30))
        # Drawn in the order the row lists them, so a seed gives the same data as before needle_gauge existed.
        public_id, guidance, needle = _uuid(rng), _weighted(rng, profile.guidance), _weighted(rng, profile.needles)
        batch.blocks.append(
            (
                block_id, public_id, patient_id, performed_at, physician, self.nerve_ids[nerve], side,
                guidance, needle, int(needle.split("-")[0]), drug, concentration,
                _weighted(rng, profile.volumes), baseline, _weighted(rng, profile.diagnoses), cm, mm, tinel,
                posture, compression, _weighted(rng, BLOCK_NOTES), None, created,
                max(created, performed_at + timedelta(minutes=minutes[-1] + 15)),
            )
        )  # fmt: skip
        return _Block(block_id, nerve, side, performed_at, baseline, is_positive, peak)

    def _qualifying_block(self, blocks: list[_Block], nerve: str, side: str, performed_on: date) -> _Block | None:
        """qualifying_block_pick on the generated rows: the latest (by time, then id) positive block of the
        same nerve and side whose clinic-local date is 0..qualifying_block_days before the ablation."""
        earliest = performed_on - timedelta(days=self.qualifying_days)
        candidates = [
            b
            for b in blocks
            if b.nerve == nerve and b.side == side and b.positive and earliest <= b.performed_at.date() <= performed_on
        ]
        return max(candidates, key=lambda b: (b.performed_at, b.id), default=None)

    def _ablations(self, rng, batch, patient_id, blocks: list[_Block], physician: int, count: int | None) -> None:
        positives = [b for b in blocks if b.positive]
        if not positives:
            return
        count = min(len(positives), _weighted(rng, ABLATION_COUNTS) if count is None else count)
        last_day = self.today - timedelta(days=1)  # never today: its time of day could still be ahead
        planned, seen = [], set()
        for anchor in rng.sample(positives, count):
            nerve, side = anchor.nerve, anchor.side
            if rng.random() < NO_QUALIFYING_SHARE and side != Side.BILATERAL:
                # Clinical judgement: the other side, treated without a block of its own.
                side = Side.RIGHT if side == Side.LEFT else Side.LEFT
            anchor_day = anchor.performed_at.date()
            performed_on = anchor_day + timedelta(days=rng.randint(1, min(60, (last_day - anchor_day).days)))
            if (nerve, side, performed_on) not in seen:
                seen.add((nerve, side, performed_on))
                planned.append((performed_on, nerve, side, anchor.baseline))
        for performed_on, nerve, side, block_baseline in sorted(planned):
            self._ablation(rng, batch, patient_id, blocks, physician, performed_on, nerve, side, block_baseline)

    def _ablation(
        self, rng, batch, patient_id, blocks, physician, performed_on, nerve, side, block_baseline, unanswered_on=None
    ):
        """`unanswered_on`: the follow-ups whose window holds that day get no answer."""
        ablation_id = self.pools["ablations"].take()
        qualifying = self._qualifying_block(blocks, nerve, side, performed_on)
        baseline = min(10, max(1, block_baseline + rng.choice((-1, 0, 0, 0, 1))))
        device, probe = _weighted(rng, DEVICES)
        created = self._local(performed_on, rng.randint(9 * 60, 16 * 60))
        if rng.random() < 0.2:
            physician = rng.choice(self.physicians)
        batch.ablations.append(
            (
                ablation_id, _uuid(rng), patient_id, performed_on, physician, self.nerve_ids[nerve], side, device,
                probe, 3 if rng.random() < 0.2 else 2, _weighted(rng, {90: 20, 120: 70, 150: 10}),
                Guidance.ULTRASOUND if rng.random() < 0.93 else Guidance.FLUOROSCOPY, baseline,
                _weighted(rng, COMPLICATIONS), qualifying.id if qualifying else None,
                QualifyingSource.RULE if qualifying else "", None, created, created,
            )
        )  # fmt: skip

        # Relief is likelier after a block with strong relief (Cohen 2020, Table 8), and wears off over months.
        peak = qualifying.peak if qualifying else None
        responder_odds = 0.3 if peak is None else 0.75 if peak >= 80 else 0.65 if peak >= 70 else 0.35
        effect = rng.uniform(0.5, 0.95) if rng.random() < responder_odds else rng.uniform(-0.1, 0.45)
        collector = _weighted(rng, {CollectedVia.PHONE: 65, CollectedVia.CLINIC: 35})

        def answer(day: date, follow_up_id: int | None) -> None:
            days = (day - performed_on).days
            # Full effect from a month to four, then nerve regrowth: about two thirds of it left at a year.
            durability = (
                0.85 + 0.15 * days / 30 if days < 30 else 1.0 if days <= 120 else max(0.5, 1 - (days - 120) / 700)
            )
            pain = round(baseline * (1 - effect * durability) + rng.gauss(0, 0.7))
            pain = min(10, max(0, pain))
            relief = min(100, max(0, 5 * round((100 * (baseline - pain) / baseline + rng.gauss(0, 8)) / 5)))
            pgic = (
                PGIC.VERY_MUCH_IMPROVED if relief >= 75 else PGIC.MUCH_IMPROVED if relief >= 50
                else PGIC.MINIMALLY_IMPROVED if relief >= 25 else PGIC.NO_CHANGE if relief >= 5
                else _weighted(rng, {PGIC.NO_CHANGE: 60, PGIC.MINIMALLY_WORSE: 30, PGIC.MUCH_WORSE: 10})
            )  # fmt: skip
            via = collector if rng.random() < 0.8 else rng.choice((CollectedVia.PHONE, CollectedVia.CLINIC))
            if via == CollectedVia.CLINIC:
                minute = rng.randint(8 * 60, 17 * 60)
            else:  # some evening calls: after 19:00 in New York the UTC date is already the next day
                minute = rng.randint(9 * 60, 18 * 60) if rng.random() < 0.9 else rng.randint(19 * 60, 21 * 60 + 30)
            completed = self._local(day, minute)
            batch.responses.append(
                (
                    self.pools["responses"].take(), _uuid(rng), ablation_id, follow_up_id, completed, pain,
                    min(10, max(0, pain + rng.choice((-1, 0, 0, 1)))), min(10, pain + rng.randint(0, 3)),
                    relief, pgic, via, self.staff_id, completed + timedelta(minutes=rng.randint(1, 20)),
                )
            )  # fmt: skip

        last_day = self.today - timedelta(days=1)
        for index, time_point in enumerate(self.time_points):
            follow_up_id = self.pools["follow_ups"].take()
            target, start, end = follow_up_dates(performed_on, time_point)
            batch.follow_ups.append(
                (follow_up_id, _uuid(rng), ablation_id, time_point.code, time_point.label, target, start, end)
            )
            share = RESPONSE_SHARE[min(index, len(RESPONSE_SHARE) - 1)]
            open_then = unanswered_on is not None and start <= unanswered_on <= end
            if start < self.today and not open_then and rng.random() < share:
                # Most answers come near the target date; none after yesterday.
                room = (min(end, last_day) - start).days
                offset = round(rng.triangular(0, room, min(room, (target - start).days))) if room else 0
                answer(start + timedelta(days=offset), follow_up_id)
        if rng.random() < UNSCHEDULED_SHARE:
            days = [d for d in self.unscheduled_days if performed_on + timedelta(days=d) <= last_day]
            if days:
                answer(performed_on + timedelta(days=rng.choice(days)), None)


def _copy(cursor, key: str, rows: list) -> None:
    model, columns = COPY_COLUMNS[key]
    with cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _next_number() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(substr(mrn, 2)::bigint) FROM patients_patient WHERE mrn ~ %s",
            [f"^{MRN_PREFIX}[0-9]{{{MRN_DIGITS}}}$"],
        )
        highest = cursor.fetchone()[0]
    return (highest or 0) + 1


def seed_demo(
    *,
    patients: int,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    long_history: bool = False,
    batch_size: int = BATCH_PATIENTS,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Add `patients` demo patients with their blocks, ablations, follow-ups and survey answers, numbered on
    from the highest demo MRN. `today` (default: the clinic's today, never later) anchors every date.
    `long_history` adds one more patient with ~40 blocks and ~15 ablations. Each batch is its own
    transaction; nothing is checked about what the database already holds (the command does that)."""
    started = time.perf_counter()
    real_today = timezone.localdate()
    today = today or real_today
    if today > real_today:
        raise ValueError(f"today ({today}) is after the clinic's date ({real_today}): records would be in the future.")
    users, users_created = demo_users_ensure()
    protocol = protocol_get()
    result = SeedResult(counts={key: 0 for key in COPY_COLUMNS})
    result.counts["users created"] = users_created
    first = number = _next_number()
    total = patients + (1 if long_history else 0)
    connection.ensure_connection()
    raw = connection.connection  # the psycopg connection, for COPY
    pools = {key: _IdPool(raw, model._meta.db_table) for key, (model, _) in COPY_COLUMNS.items()}
    generator = DemoGenerator(
        seed=seed,
        today=today,
        protocol=protocol,
        time_points=list(protocol.time_points.all()),
        nerves=dict(Nerve.objects.values_list("code", "id")),
        physicians=[users[name].pk for name in PHYSICIANS],
        staff_id=users["staff"].pk,
        pools=pools,
    )
    while number < first + total:
        batch = _Batch()
        end = min(first + total, number + batch_size)
        for n in range(number, end):
            if long_history and n == first + total - 1:
                generator.patient(n, batch, blocks=40, ablations=15)
            else:
                generator.patient(n, batch, survey_open=n == first)
        # The change history of the batch's rows is written set-based once they hold their final values (the
        # registry import's way: apps.audit.services.history_in_bulk), not by a trigger per row.
        models = [model for model, _ in COPY_COLUMNS.values()]
        with transaction.atomic(), history_in_bulk(*models, updates=True), raw.cursor() as cursor:
            # Through Django's execute wrappers: they set the history's ignore list and context for the
            # transaction, so for the COPYs of the raw cursor too.
            connection.cursor().execute("SELECT 1")
            for key in COPY_COLUMNS:
                rows = getattr(batch, key)
                _copy(cursor, key, rows)
                result.counts[key] += len(rows)
            answered = {row[3] for row in batch.responses if row[3] is not None}
            counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk__in=answered))
            for key, (model, _) in COPY_COLUMNS.items():
                history_record_created(model=model, ids=[row[0] for row in getattr(batch, key)])
        number = end
        if progress:
            progress(number - first, total)
    # Fresh planner statistics after a bulk load; outside a transaction VACUUM too, which clears the row versions
    # that counted_responses_refresh left behind (they would otherwise slow the worklist's index scans).
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for model, _ in COPY_COLUMNS.values():
            cursor.execute(f"{command} {model._meta.db_table}")
    if total:
        result.first_mrn = f"{MRN_PREFIX}{first:0{MRN_DIGITS}d}"
        result.last_mrn = f"{MRN_PREFIX}{first + total - 1:0{MRN_DIGITS}d}"
        result.survey_open_mrn = result.first_mrn
    result.seconds = time.perf_counter() - started
    return result
