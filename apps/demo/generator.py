"""Synthetic, clinically plausible demo data for the whole registry, written with PostgreSQL COPY.

Everything here is made up: names come from fixed lists, e-mail addresses are at example.org and mobile
numbers are in the 555-01xx range that North American numbering keeps for fiction. The same seed and the
same `today` give the same data: each patient draws from its own random.Random seeded with (seed, patient
number), so patient D0000042 is the same whatever the batch size or the number of patients asked for, and a
second run with --force (which numbers on from the highest demo MRN) gives new patients and new public ids.

The rows are written as the registry import writes its own, by its bulk writer (apps/registry/bulk.py), a batch of
patients at a time in three stages, so that what the database derives it derives for the demo too:
- patients, blocks and their diaries (aimed at ~70% positive blocks under the protocol's threshold); the blocks'
  triggers derive each one's peak relief, and whether it is positive is read back (bulk.blocks_assessed);
- ablations after positive blocks, their qualifying block picked by the rule in SQL, the import's statement
  (bulk.qualifying_blocks_pick: apps/reports/sql.py's QUALIFYING_BLOCKS_PICK);
- one follow-up per time point of the protocol, dated by `follow_up_dates`, and answers, likelier to relieve after a
  qualifying block of high peak relief (read back too); a survey response's follow-up is the one whose window holds
  its clinic-local completion date (else none), and each follow-up is written with the answer it counts
  (bulk.counted_responses_pick: surveys.services.counted_response_key); the follow-up facts and durability steps
  are the reports' triggers'.
Primary keys are taken from the tables' sequences, so rows can name each other before they are copied.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.accounts.models import Role, User
from apps.accounts.roles import sync_role_groups
from apps.adverse_events.models import AdverseEvent, Relatedness, Severity
from apps.audit.services import history_in_bulk, history_record_created
from apps.blocks.models import Diagnosis, DiagnosticBlock, DiaryEntry, Guidance, Side
from apps.clinic.models import Nerve, Protocol, Site, TimePoint
from apps.clinic.rules import percent_reduction
from apps.clinic.selectors import protocol_get
from apps.clinic.services import user_sites_set
from apps.cryoablations.models import Cryoablation, FollowUp, Kind
from apps.cryoablations.services import follow_up_dates, supersession_refresh
from apps.instruments.definitions import BASELINE, SHIPPED_CODES
from apps.instruments.models import CollectedVia as AnswerVia
from apps.instruments.models import InstrumentAnswer, InstrumentVersion
from apps.instruments.selectors import instruments_with_versions
from apps.medications.models import MedicationStatement, Opioid
from apps.patients.models import SMS_CONSENT_VERSION, Channel, Language, Patient, Sex, patient_search_name
from apps.registry import bulk
from apps.registry.bulk import IdPool
from apps.surveys.models import PGIC, CollectedVia, SurveyResponse

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published demo credential, documented in the command's help
DEFAULT_PATIENTS = 500
DEFAULT_SEED = 1
BATCH_PATIENTS = 2_000  # patients generated and copied per transaction: memory stays flat at any size
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
    diagnoses: dict[Diagnosis, int]
    sides: dict[Side, int]
    guidance: dict[Guidance, int]
    needles: dict[str, int]
    volumes: dict[str, int]
    exam: str = ""  # "superior" or "middle" cluneal, "tinel": which examination findings get recorded


_CLUNEAL_SIDES = {Side.LEFT: 40, Side.RIGHT: 40, Side.BILATERAL: 20}
_LIMB_SIDES = {Side.LEFT: 50, Side.RIGHT: 50}
_NEEDLE = {"25-gauge spinal": 85, "27-gauge": 10, "22-gauge spinal": 5}
# The three genicular nerves of the knee, blocked alike.
_GENICULAR = NerveProfile(
    6,
    {Diagnosis.GENICULAR: 100},
    _LIMB_SIDES,
    {Guidance.ULTRASOUND: 85, Guidance.FLUOROSCOPY: 15},
    _NEEDLE,
    {"1.0": 60, "2.0": 40},
)
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
    "genicular_superior_lateral": _GENICULAR,
    "genicular_superior_medial": _GENICULAR,
    "genicular_inferior_medial": _GENICULAR,
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
# The treatments after a positive block: mostly cryoablation and conventional radiofrequency.
KINDS: dict[str, float] = {
    Kind.CRYOABLATION: 45,
    Kind.RF_CONVENTIONAL: 30,
    Kind.RF_COOLED: 10,
    Kind.RF_PULSED: 6,
    Kind.PNS_TEMPORARY: 6,
    Kind.PNS_PERMANENT: 3,
}
PNS_DEVICES: dict[str, str] = {Kind.PNS_TEMPORARY: "SPRINT PNS (demo)", Kind.PNS_PERMANENT: "StimRouter (demo)"}
TEMPORARY_LEADS_DAYS = 60
# A treatment whose relief fades is repeated (of the same nerve and side, any kind), 8 to 14 months later.
REPEAT_SHARE = 0.25
REPEAT_DAYS = (240, 420)
# Harms: a few treatments have one, mostly mild and related; a few answers report a new problem.
ADVERSE_EVENT_SHARE = 0.05
# Treatments whose patient answers PEG-3, PHQ-2 and GAD-2 (at the visit, then with the pain surveys).
INSTRUMENT_SHARE = 0.6
HARMS = {
    "cryo": {"numbness": 40, "skin_injury": 25, "neuritis": 20, "increased_pain": 15},
    "rf": {"neuritis": 40, "increased_pain": 30, "numbness": 20, "skin_injury": 10},
    "pns": {"lead_migration": 40, "infection": 20, "lead_fracture": 15, "skin_injury": 15, "increased_pain": 10},
}
HARM_NOTES = {
    "numbness": "Numb patch over the buttock, improving.",
    "skin_injury": "Small skin burn at the entry site, dressed.",
    "neuritis": "Burning pain along the nerve for two weeks; gabapentin started.",
    "increased_pain": "Pain worse than before for ten days.",
    "lead_migration": "Lead moved on imaging; stimulation lost, lead repositioned.",
    "infection": "Redness at the lead exit site; oral antibiotics.",
    "lead_fracture": "Lead fractured on removal; tip left in place.",
}
NEW_PROBLEM_SHARE = 0.03
NEW_PROBLEMS = (
    "Numb patch where the needle went in",
    "Burning pain down the back of my leg",
    "Bruise and soreness for a few days",
    "The area feels hot and red",
)
# A patient's new problem older than this was reviewed by staff (made an adverse event); newer ones wait on the queue.
NEW_PROBLEM_REVIEWED_AFTER_DAYS = 21
# Opioids (their MME is the database's rule): about a third of the treated patients take one on the day of their first
# treatment, started months or years before. A month to four after it, a responder often tapers to half the dose or
# stops; a non-responder mostly stays on it. Doses: the usual daily totals (the fentanyl patch in mcg an hour).
OPIOID_SHARE = 0.35
OPIOIDS: dict[str, tuple[float, tuple[int, ...]]] = {
    Opioid.OXYCODONE: (30, (10, 15, 20, 30, 40)),
    Opioid.HYDROCODONE: (28, (10, 15, 20, 30)),
    Opioid.TRAMADOL: (20, (50, 100, 200)),
    Opioid.MORPHINE: (8, (15, 30, 60)),
    Opioid.FENTANYL_TRANSDERMAL: (4, (12, 25)),
    Opioid.TAPENTADOL: (5, (100, 200)),
    Opioid.BUPRENORPHINE: (5, (8, 16)),
}
OPIOID_CHANGE = {
    True: {"stop": 35, "taper": 40, "none": 25},  # after a response
    False: {"stop": 5, "taper": 15, "none": 80},
}
COMPLICATIONS = {
    "": 93,
    "Transient bruising at the probe site.": 4,
    "Skin blanching over the probe track, resolved in a week.": 2,
    "Post-procedure soreness for three days.": 1,
}


def _weighted[T](rng: random.Random, table: Mapping[T, float]) -> T:
    """One of the table's keys, drawn with the odds of its weight."""
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


# The rows copied by the registry's bulk writer (apps.registry.bulk.rows_copy): fields named after the models'
# columns, every column given (so that a seed gives the same data whatever the models' defaults).
class PatientRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    email: str
    mobile_phone: str
    preferred_channel: str
    language: str
    timezone: str
    reminder_consent: bool
    is_active: bool
    opted_out_at: datetime | None
    email_undeliverable_at: datetime | None
    phone_invalid_at: datetime | None
    search_name: str
    created_at: datetime
    updated_at: datetime
    site_id: int
    # SMS consent (apps.sms): recorded at registration for the SMS patients who consent to reminders.
    sms_consent_on: date | None = None
    sms_consent_by_id: int | None = None
    sms_consent_wording: str = ""
    sms_opted_out_at: datetime | None = None


class BlockRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    patient_id: int
    performed_at: datetime
    physician_id: int
    nerve_id: int
    side: str
    guidance: str
    needle: str
    needle_gauge: int
    drug: str
    concentration_percent: Decimal
    volume_ml: Decimal
    baseline_nrs: int
    suspected_diagnosis: str
    trigger_point_cm_from_midline: Decimal | None
    trigger_point_mm_caudal_to_psis: Decimal | None
    tinel_sign: bool | None
    worse_with_posture: bool | None
    compression_symptoms: bool | None
    notes: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class DiaryRow(NamedTuple):
    id: int
    block_id: int
    minutes_after: int
    nrs: int
    source: str
    recorded_at: datetime


class AblationRow(NamedTuple):
    """Written without a qualifying block: the rule's pick is then made in SQL (apps.registry.bulk)."""

    id: int
    public_id: uuid.UUID
    patient_id: int
    performed_on: date
    physician_id: int
    nerve_id: int
    side: str
    device: str
    probe: str
    cycles: int | None
    freeze_seconds: int | None
    guidance: str
    baseline_nrs: int
    complications: str
    qualifying_block_id: int | None
    qualifying_source: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    kind: str
    cannula_gauge: int | None
    active_tip_mm: Decimal | None
    temperature_c: int | None
    lesion_seconds: int | None
    lesions: int | None
    leads: int | None
    removed_on: date | None


class FollowUpRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    ablation_id: int
    time_point: str
    label: str
    target_date: date
    window_start: date
    window_end: date
    counted_response_id: int | None
    superseded_by_id: int | None  # set by the repeat rule once the batch is written (supersession_refresh)


class ResponseRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    ablation_id: int
    follow_up_id: int | None
    completed_at: datetime
    pain_average: int
    pain_current: int
    pain_worst: int
    percent_relief: int
    pgic: int
    collected_via: str
    recorded_by_id: int
    recorded_at: datetime
    new_problem: bool
    new_problem_text: str


class AdverseEventRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    treatment_id: int | None
    block_id: int | None
    occurred_on: date
    category: str
    severity: str
    serious: bool
    relatedness: str
    resolved_on: date | None
    notes: str
    source_response_id: int | None
    recorded_by_id: int
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class MedicationRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    patient_id: int
    opioid: str
    daily_dose: Decimal
    started_on: date
    stopped_on: date | None
    recorded_by_id: int
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class InstrumentAnswerRow(NamedTuple):
    id: int
    public_id: uuid.UUID
    treatment_id: int
    instrument_id: int
    version_id: int
    completed_at: datetime
    answers: Jsonb
    language: str
    score_total: Decimal
    score_items: int
    standard_error: Decimal | None
    collected_via: str
    recorded_by_id: int | None
    recorded_at: datetime


# What a seed writes, in the order it is copied (the answers before the follow-ups that count them).
type RowKey = Literal[
    "patients",
    "blocks",
    "diary",
    "ablations",
    "responses",
    "follow_ups",
    "adverse_events",
    "medications",
    "instrument_answers",
]
ROWS: dict[RowKey, tuple[type[Model], type[NamedTuple]]] = {
    "patients": (Patient, PatientRow),
    "blocks": (DiagnosticBlock, BlockRow),
    "diary": (DiaryEntry, DiaryRow),
    "ablations": (Cryoablation, AblationRow),
    "responses": (SurveyResponse, ResponseRow),
    "follow_ups": (FollowUp, FollowUpRow),
    "adverse_events": (AdverseEvent, AdverseEventRow),
    "medications": (MedicationStatement, MedicationRow),
    "instrument_answers": (InstrumentAnswer, InstrumentAnswerRow),
}


@dataclass
class _Block:
    id: int
    nerve: str
    side: str
    performed_at: datetime  # clinic-local, aware
    baseline: int
    positive: bool = False  # under the protocol, as the database judged it (apps.registry.bulk.blocks_assessed)


@dataclass
class _Patient:
    """A patient being generated, stage by stage: its own random stream goes on from one stage to the next."""

    number: int
    rng: random.Random
    id: int
    physician: int
    blocks: list[_Block]
    survey_open: bool
    ablations: int | None


@dataclass
class _Ablation:
    row: AblationRow
    rng: random.Random
    unanswered_on: date | None  # the follow-ups whose window holds that day get no answer
    repeat_on: date | None = None  # repeated then, as its relief faded: its later windows are superseded


class _Details(TypedDict):
    """A treatment's kind details (AblationRow's columns of the same names)."""

    device: str
    probe: str
    cycles: int | None
    freeze_seconds: int | None
    cannula_gauge: int | None
    active_tip_mm: Decimal | None
    temperature_c: int | None
    lesion_seconds: int | None
    lesions: int | None
    leads: int | None
    removed_on: date | None


class _Rows(TypedDict):
    """A batch's rows, by ROWS key."""

    patients: list[PatientRow]
    blocks: list[BlockRow]
    diary: list[DiaryRow]
    ablations: list[AblationRow]
    responses: list[ResponseRow]
    follow_ups: list[FollowUpRow]
    adverse_events: list[AdverseEventRow]
    medications: list[MedicationRow]
    instrument_answers: list[InstrumentAnswerRow]


@dataclass
class _Batch:
    """The rows of one batch of patients, by ROWS key, and the patients and ablations still being generated."""

    rows: _Rows = field(
        default_factory=lambda: _Rows(
            patients=[],
            blocks=[],
            diary=[],
            ablations=[],
            responses=[],
            follow_ups=[],
            adverse_events=[],
            medications=[],
            instrument_answers=[],
        )
    )
    patients: list[_Patient] = field(default_factory=list)
    ablations: list[_Ablation] = field(default_factory=list)


def demo_users_ensure() -> tuple[dict[str, User], int]:
    """The demo users (password DEMO_PASSWORD) in their role groups; existing users are left as they are.
    Returns the users by username and how many were created."""
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
            user_sites_set(user=user, sites=Site.objects.all())  # the demo's users work at every site
            created += 1
        users[username] = user
    return users, created


class DemoGenerator:
    """Builds the rows of a batch of patients in three stages (see the module docstring): `patient` (the patient,
    blocks and diaries), `ablations` (once the database has judged the blocks) and `outcomes` (follow-ups and
    answers, once it has picked the ablations' qualifying blocks)."""

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
        sites: list[int],
        pools: dict[str, IdPool],
        kinds: Mapping[str, float] = KINDS,
        instruments: Mapping[str, InstrumentVersion] | None = None,
    ) -> None:
        self.seed = seed
        # The shipped instruments' current versions (PEG-3, PHQ-2, GAD-2), asked at their scheduled time points.
        self.instruments = dict(instruments) if instruments is not None else instrument_versions()
        self.kinds = kinds
        self.today = today
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.time_points = list(time_points)
        self.physicians = physicians
        self.staff_id = staff_id
        # The patients take turns at the active sites (all at the one site of a single clinic).
        self.sites = sites
        if not self.sites:
            raise ValueError("The registry has no active site; run migrate first.")
        self.pools = pools
        self.opioids_drawn: set[int] = set()  # the patients whose opioid use was drawn (at their first treatment)
        self.nerve_ids = {code: nerve_id for code, nerve_id in nerves.items() if code in NERVE_PROFILES}
        if not self.nerve_ids:
            raise ValueError("None of the demo's nerve codes is in the catalog; run migrate first.")
        self.nerve_weights = {code: NERVE_PROFILES[code].weight for code in self.nerve_ids}
        # The diary's aim, per baseline: a lowest score of at most aim_positive relieves the protocol's threshold, of
        # at least aim_negative does not. Only an aim: whether a block is positive, and which block qualifies an
        # ablation, the database decides (apps.registry.bulk).
        relieves = {
            (b, n): (reduction := percent_reduction(b, n)) is not None and reduction >= protocol.block_threshold_percent
            for b in range(11)
            for n in range(11)
        }
        self.aim_positive = {b: max((n for n in range(b + 1) if relieves[b, n]), default=-1) for b in range(11)}
        self.aim_negative = {b: min((n for n in range(11) if not relieves[b, n]), default=11) for b in range(11)}
        windows = [(tp.window_start_day, tp.window_end_day) for tp in self.time_points]
        last = max((end for _, end in windows), default=0)
        # Days after an ablation that fall in no follow-up window: when an unscheduled response is completed.
        self.unscheduled_days = [d for d in range(1, last + 60) if not any(start <= d <= end for start, end in windows)]

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
    ) -> None:
        """Append the rows of patient `number` and its blocks. `blocks`/`ablations` force a history length
        (benchmarks). `survey_open`: a patient reached by email whose first follow-up is due today, unanswered, after
        a positive block (the demo's patient for "Send now" and "Copy link", and for the invitation `make run`'s
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
        batch.rows["patients"].append(
            PatientRow(
                id=patient_id,
                public_id=_uuid(rng),
                mrn=f"{MRN_PREFIX}{number:0{MRN_DIGITS}d}",
                first_name=first_name,
                last_name=last_name,
                date_of_birth=self.today - timedelta(days=age_days),
                sex=sex,
                email=email,
                mobile_phone=mobile,
                preferred_channel=channel,
                language=language,
                timezone=settings.TIME_ZONE,
                reminder_consent=rng.random() < 0.8 or survey_open,
                is_active=rng.random() < 0.97 or survey_open,
                opted_out_at=None,
                email_undeliverable_at=None,
                phone_invalid_at=None,
                search_name=patient_search_name(first_name, last_name),
                created_at=registered,
                updated_at=registered,
                site_id=self.sites[number % len(self.sites)],
            )
        )
        row = batch.rows["patients"][-1]
        if row.preferred_channel == "sms" and row.reminder_consent:
            batch.rows["patients"][-1] = row._replace(
                sms_consent_on=timezone.localdate(registered), sms_consent_wording=SMS_CONSENT_VERSION
            )
        batch.patients.append(
            _Patient(number, rng, patient_id, patient_physician, patient_blocks, survey_open, ablations)
        )

    def _nerve(self, rng: random.Random) -> str:
        return _weighted(rng, self.nerve_weights)

    def _block(
        self,
        rng: random.Random,
        batch: _Batch,
        patient_id: int,
        procedure: tuple[str, Side],
        performed_at: datetime,
        baseline: int,
        physician: int,
        positive: bool = False,
    ) -> _Block:
        nerve, side = procedure
        profile = NERVE_PROFILES[nerve]
        block_id = self.pools["blocks"].take()
        drug, concentration = _weighted(rng, INJECTATES)
        cm = mm = tinel = posture = compression = None
        if profile.exam in ("superior", "middle"):
            # Superior cluneal: tender where the nerve crosses the iliac crest, ~7 cm from the midline.
            # Middle cluneal: under the long posterior sacroiliac ligament, ~35 mm caudal to the PSIS.
            if profile.exam == "superior":
                cm = Decimal(f"{rng.uniform(5.5, 8.5):.1f}")
            else:
                cm, mm = Decimal(f"{rng.uniform(2.5, 4.5):.1f}"), Decimal(f"{rng.uniform(20, 50):.1f}")
            tinel, posture, compression = rng.random() < 0.65, rng.random() < 0.7, rng.random() < 0.55
        elif profile.exam == "tinel":
            tinel = rng.random() < 0.7

        minutes = sorted(rng.sample(DIARY_MINUTES, rng.randint(3, 5)))
        aim_positive = (positive or rng.random() < POSITIVE_SHARE) and self.aim_positive[baseline] >= 0
        if aim_positive:
            low = max(0, self.aim_positive[baseline] - 3)
            peak_score = rng.randint(low, self.aim_positive[baseline])
        else:
            peak_score = rng.randint(
                min(self.aim_negative[baseline], 10), min(10, max(baseline, self.aim_negative[baseline]))
            )
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
            batch.rows["diary"].append(
                DiaryRow(
                    id=self.pools["diary"].take(),
                    block_id=block_id,
                    minutes_after=minute,
                    nrs=score,
                    source=source,
                    recorded_at=recorded,
                )
            )

        created = performed_at + timedelta(minutes=rng.randint(5, 30))
        # Drawn in the order the row lists them, so a seed gives the same data as before needle_gauge existed.
        public_id, guidance, needle = _uuid(rng), _weighted(rng, profile.guidance), _weighted(rng, profile.needles)
        batch.rows["blocks"].append(
            BlockRow(
                id=block_id,
                public_id=public_id,
                patient_id=patient_id,
                performed_at=performed_at,
                physician_id=physician,
                nerve_id=self.nerve_ids[nerve],
                side=side,
                guidance=guidance,
                needle=needle,
                needle_gauge=int(needle.split("-")[0]),
                drug=drug,
                concentration_percent=Decimal(concentration),
                volume_ml=Decimal(_weighted(rng, profile.volumes)),
                baseline_nrs=baseline,
                suspected_diagnosis=_weighted(rng, profile.diagnoses),
                trigger_point_cm_from_midline=cm,
                trigger_point_mm_caudal_to_psis=mm,
                tinel_sign=tinel,
                worse_with_posture=posture,
                compression_symptoms=compression,
                notes=_weighted(rng, BLOCK_NOTES),
                external_id=None,
                created_at=created,
                updated_at=max(created, performed_at + timedelta(minutes=minutes[-1] + 15)),
            )
        )
        return _Block(block_id, nerve, side, performed_at, baseline)

    def ablations(self, patient: _Patient, batch: _Batch, positive: set[int]) -> None:
        """Append the rows of the patient's ablations, after blocks the database judged positive (`positive`: their
        ids); their qualifying blocks are left to the rule, in SQL."""
        rng = patient.rng
        for block in patient.blocks:
            block.positive = block.id in positive
        if patient.survey_open:
            anchor = patient.blocks[-1]
            ablation_day = self.today - timedelta(days=self.time_points[0].target_day)
            plan = [(ablation_day, anchor.nerve, anchor.side, anchor.baseline)]
            unanswered_on = self.today
        else:
            plan = self._ablations_plan(rng, patient.blocks, patient.ablations)
            unanswered_on = None
        for performed_on, nerve, side, block_baseline in plan:
            row = self._ablation_row(rng, patient, performed_on, nerve, side, block_baseline)
            batch.rows["ablations"].append(row)
            # The plan is sorted by date: the first later one of the same nerve and side repeats this one.
            repeat_on = next((d for d, n, s, _ in plan if (n, s) == (nerve, side) and d > performed_on), None)
            batch.ablations.append(_Ablation(row, rng, unanswered_on, repeat_on))

    def _ablations_plan(
        self, rng: random.Random, blocks: list[_Block], count: int | None
    ) -> list[tuple[date, str, str, int]]:
        positives = [b for b in blocks if b.positive]
        if not positives:
            return []
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
        for performed_on, nerve, side, baseline in list(planned):
            room = (last_day - performed_on).days
            if room >= REPEAT_DAYS[0] and rng.random() < REPEAT_SHARE:
                repeat_on = performed_on + timedelta(days=rng.randint(REPEAT_DAYS[0], min(REPEAT_DAYS[1], room)))
                if (nerve, side, repeat_on) not in seen:
                    seen.add((nerve, side, repeat_on))
                    planned.append((repeat_on, nerve, side, baseline))
        return sorted(planned)

    def _ablation_row(
        self, rng: random.Random, patient: _Patient, performed_on: date, nerve: str, side: str, block_baseline: int
    ) -> AblationRow:
        ablation_id = self.pools["ablations"].take()
        baseline = min(10, max(1, block_baseline + rng.choice((-1, 0, 0, 0, 1))))
        created = self._local(performed_on, rng.randint(9 * 60, 16 * 60))
        physician = rng.choice(self.physicians) if rng.random() < 0.2 else patient.physician
        kind = _weighted(rng, self.kinds)
        return AblationRow(
            id=ablation_id,
            public_id=_uuid(rng),
            patient_id=patient.id,
            performed_on=performed_on,
            physician_id=physician,
            nerve_id=self.nerve_ids[nerve],
            side=side,
            guidance=Guidance.ULTRASOUND if rng.random() < 0.93 else Guidance.FLUOROSCOPY,
            baseline_nrs=baseline,
            complications=_weighted(rng, COMPLICATIONS),
            qualifying_block_id=None,
            qualifying_source="",
            external_id=None,
            created_at=created,
            updated_at=created,
            kind=kind,
            **self._details(rng, kind, performed_on),
        )

    def _details(self, rng: random.Random, kind: str, performed_on: date) -> _Details:
        """The kind's details (cryoablations.models.KIND_DETAILS), every other one empty."""
        details = _Details(
            device="",
            probe="",
            cycles=None,
            freeze_seconds=None,
            cannula_gauge=None,
            active_tip_mm=None,
            temperature_c=None,
            lesion_seconds=None,
            lesions=None,
            leads=None,
            removed_on=None,
        )
        if kind == Kind.CRYOABLATION:
            details["device"], details["probe"] = _weighted(rng, DEVICES)
            details["cycles"] = 3 if rng.random() < 0.2 else 2
            details["freeze_seconds"] = _weighted(rng, {90: 20, 120: 70, 150: 10})
        elif kind == Kind.RF_COOLED:
            details["cannula_gauge"], details["active_tip_mm"] = 17, Decimal("4")
            details["temperature_c"], details["lesion_seconds"] = 60, 150
            details["lesions"] = rng.randint(1, 3)
        elif kind in (Kind.RF_CONVENTIONAL, Kind.RF_PULSED):
            details["cannula_gauge"] = _weighted(rng, {18: 40, 20: 30, 22: 30})
            details["active_tip_mm"] = Decimal(_weighted(rng, {"10": 60, "5": 20, "15": 20}))
            details["lesion_seconds"] = _weighted(rng, {90: 50, 120: 30, 150: 20})
            details["lesions"] = rng.randint(1, 4)
            if kind == Kind.RF_CONVENTIONAL:
                details["temperature_c"] = _weighted(rng, {80: 60, 85: 25, 90: 15})
        else:
            details["device"] = PNS_DEVICES[kind]
            details["leads"] = 2 if rng.random() < 0.4 else 1
            removal = performed_on + timedelta(days=TEMPORARY_LEADS_DAYS)
            if kind == Kind.PNS_TEMPORARY and removal < self.today:
                details["removed_on"] = removal
        return details

    def outcomes(self, ablation: _Ablation, batch: _Batch, peak: Decimal | None) -> None:
        """Append the ablation's follow-ups and answers. `peak`: its qualifying block's peak relief, as the database
        derived it (None: no qualifying block, or one that is not evaluable)."""
        rng, row = ablation.rng, ablation.row
        performed_on, baseline = row.performed_on, row.baseline_nrs
        # Relief is likelier after a block with strong relief (Cohen 2020, Table 8), and wears off over months.
        responder_odds = 0.3 if peak is None else 0.75 if peak >= 80 else 0.65 if peak >= 70 else 0.35
        effect = rng.uniform(0.5, 0.95) if rng.random() < responder_odds else rng.uniform(-0.1, 0.45)
        collector = _weighted(rng, {CollectedVia.PHONE: 65, CollectedVia.CLINIC: 35})

        # Some treatments' patients answer the function and mood instruments: at the treatment visit, then with the
        # pain survey at the time points each is scheduled at.
        with_instruments = self.instruments and rng.random() < INSTRUMENT_SHARE
        mood = {code: rng.choice((0, 1, 1, 2, 2, 3, 4, 5, 6)) for code in ("phq2", "gad2")}
        if with_instruments:
            visit = performed_on - timedelta(days=rng.choice((0, 0, 0, 3, 7, 14)))
            if visit < self.today:
                self._instruments(ablation, batch, visit, BASELINE, pain=baseline, mood=mood)

        def answer(day: date, follow_up_id: int | None, time_point: str = "") -> None:
            days = (day - performed_on).days
            # Full effect from a month to four, then nerve regrowth: about two thirds of it left at a year; a treatment
            # that was repeated lost its relief sooner (that is why it was repeated).
            fading = 150 if ablation.repeat_on else 700
            durability = (
                0.85 + 0.15 * days / 30 if days < 30 else 1.0 if days <= 120 else max(0.05, 1 - (days - 120) / fading)
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
            new_problem = rng.random() < NEW_PROBLEM_SHARE
            if via == CollectedVia.CLINIC:
                minute = rng.randint(8 * 60, 17 * 60)
            else:  # some evening calls: after 19:00 in New York the UTC date is already the next day
                minute = rng.randint(9 * 60, 18 * 60) if rng.random() < 0.9 else rng.randint(19 * 60, 21 * 60 + 30)
            completed = self._local(day, minute)
            batch.rows["responses"].append(
                ResponseRow(
                    id=self.pools["responses"].take(),
                    public_id=_uuid(rng),
                    ablation_id=row.id,
                    follow_up_id=follow_up_id,
                    completed_at=completed,
                    pain_average=pain,
                    pain_current=min(10, max(0, pain + rng.choice((-1, 0, 0, 1)))),
                    pain_worst=min(10, pain + rng.randint(0, 3)),
                    percent_relief=relief,
                    pgic=pgic,
                    collected_via=via,
                    recorded_by_id=self.staff_id,
                    recorded_at=completed + timedelta(minutes=rng.randint(1, 20)),
                    new_problem=new_problem,
                    new_problem_text=rng.choice(NEW_PROBLEMS) if new_problem else "",
                )
            )
            if new_problem and (self.today - day).days > NEW_PROBLEM_REVIEWED_AFTER_DAYS:
                self._adverse_event(ablation, batch, day, source_response_id=batch.rows["responses"][-1].id)
            if with_instruments and time_point:
                better = max(0.0, effect * durability)
                now = {code: max(0, round(score * (1 - better) + rng.gauss(0, 0.6))) for code, score in mood.items()}
                self._instruments(ablation, batch, day, time_point, pain=pain, mood=now, at=completed)

        last_day = self.today - timedelta(days=1)
        for index, time_point in enumerate(self.time_points):
            follow_up_id = self.pools["follow_ups"].take()
            target, start, end = follow_up_dates(performed_on, time_point)
            batch.rows["follow_ups"].append(
                FollowUpRow(
                    id=follow_up_id,
                    public_id=_uuid(rng),
                    ablation_id=row.id,
                    time_point=time_point.code,
                    label=time_point.label,
                    target_date=target,
                    window_start=start,
                    window_end=end,
                    counted_response_id=None,  # set once the answers are made (apps.registry.bulk)
                    superseded_by_id=None,
                )
            )
            share = RESPONSE_SHARE[min(index, len(RESPONSE_SHARE) - 1)]
            unanswered = (ablation.unanswered_on is not None and start <= ablation.unanswered_on <= end) or (
                ablation.repeat_on is not None and start > ablation.repeat_on  # superseded: no survey is sent
            )
            if start < self.today and not unanswered and rng.random() < share:
                # Most answers come near the target date; none after yesterday.
                room = (min(end, last_day) - start).days
                offset = round(rng.triangular(0, room, min(room, (target - start).days))) if room else 0
                answer(start + timedelta(days=offset), follow_up_id, time_point.code)
        if rng.random() < UNSCHEDULED_SHARE:
            days = [d for d in self.unscheduled_days if performed_on + timedelta(days=d) <= last_day]
            if days:
                answer(performed_on + timedelta(days=rng.choice(days)), None)
        if rng.random() < ADVERSE_EVENT_SHARE:
            day = min(last_day, performed_on + timedelta(days=rng.randint(0, 14)))
            self._adverse_event(ablation, batch, day, source_response_id=None)
        if row.patient_id not in self.opioids_drawn:  # the patient's first treatment
            self.opioids_drawn.add(row.patient_id)
            if rng.random() < OPIOID_SHARE:
                self._opioids(ablation, batch, responded=effect >= 0.5)

    def _opioids(self, ablation: _Ablation, batch: _Batch, *, responded: bool) -> None:
        rng, row = ablation.rng, ablation.row
        opioid = _weighted(rng, {name: weight for name, (weight, _) in OPIOIDS.items()})
        dose = Decimal(rng.choice(OPIOIDS[opioid][1]))
        started = row.performed_on - timedelta(days=rng.randint(60, 1500))
        change_on = row.performed_on + timedelta(days=rng.randint(30, 120))
        change = _weighted(rng, OPIOID_CHANGE[responded]) if change_on < self.today else "none"
        recorded = self._local(row.performed_on, rng.randint(9 * 60, 17 * 60))

        def statement(daily_dose: Decimal, started_on: date, stopped_on: date | None) -> None:
            batch.rows["medications"].append(
                MedicationRow(
                    id=self.pools["medications"].take(),
                    public_id=_uuid(rng),
                    patient_id=row.patient_id,
                    opioid=opioid,
                    daily_dose=daily_dose,
                    started_on=started_on,
                    stopped_on=stopped_on,
                    recorded_by_id=self.staff_id,
                    external_id=None,
                    created_at=recorded,
                    updated_at=recorded,
                )
            )

        statement(dose, started, None if change == "none" else change_on)
        if change == "taper":  # the new, lower dose from the day the old one stopped (a same-day handover)
            statement(dose / 2, change_on, None)

    def _instruments(
        self,
        ablation: _Ablation,
        batch: _Batch,
        day: date,
        time_point: str,
        *,
        pain: int,
        mood: dict[str, int],
        at: datetime | None = None,
    ) -> None:
        """The instruments scheduled at `time_point` answered on `day` (with the pain survey, at `at`): PEG-3 items
        near the pain score, PHQ-2 and GAD-2 items adding up to about the patient's `mood` score (0..6)."""
        rng, row = ablation.rng, ablation.row
        completed = at or self._local(day, rng.randint(8 * 60, 17 * 60))
        for code, version in self.instruments.items():
            if time_point not in version.instrument.time_points:
                continue
            if code == "peg3":
                values = [min(10, max(0, round(pain + rng.gauss(d, 1.2)))) for d in (0, 0.5, 0.3)]
            else:
                total = min(6, max(0, mood.get(code, 0)))
                first = min(3, max(0, total // 2 + rng.choice((-1, 0, 0, 1))), total)
                values = [first, min(3, total - first)]
            answers = {item_id: value for item_id, value in zip(version.read().item_ids, values, strict=False)}
            score = version.read().score(answers)
            batch.rows["instrument_answers"].append(
                InstrumentAnswerRow(
                    id=self.pools["instrument_answers"].take(),
                    public_id=_uuid(rng),
                    treatment_id=row.id,
                    instrument_id=version.instrument_id,
                    version_id=version.pk,
                    completed_at=completed + timedelta(minutes=1),
                    answers=Jsonb(answers),
                    language="en",
                    score_total=score.total,
                    score_items=score.items,
                    standard_error=score.standard_error,
                    collected_via=AnswerVia.STAFF if at is None else AnswerVia.PATIENT_LINK,
                    recorded_by_id=self.staff_id,
                    recorded_at=completed + timedelta(minutes=2),
                )
            )

    def _adverse_event(self, ablation: _Ablation, batch: _Batch, day: date, *, source_response_id: int | None) -> None:
        rng, row = ablation.rng, ablation.row
        family = "cryo" if row.kind == Kind.CRYOABLATION else "pns" if row.kind.startswith("pns") else "rf"
        category = _weighted(rng, HARMS[family])
        resolved = day + timedelta(days=rng.randint(3, 60))
        created = self._local(max(day, row.performed_on), rng.randint(9 * 60, 17 * 60))
        batch.rows["adverse_events"].append(
            AdverseEventRow(
                id=self.pools["adverse_events"].take(),
                public_id=_uuid(rng),
                treatment_id=row.id,
                block_id=None,
                occurred_on=day,
                category=category,
                severity=_weighted(rng, {Severity.MILD: 70, Severity.MODERATE: 25, Severity.SEVERE: 5}),
                serious=rng.random() < 0.04,
                relatedness=_weighted(
                    rng,
                    {
                        Relatedness.POSSIBLE: 40,
                        Relatedness.PROBABLE: 35,
                        Relatedness.DEFINITE: 15,
                        Relatedness.UNRELATED: 10,
                    },
                ),
                resolved_on=resolved if resolved < self.today else None,
                notes=HARM_NOTES[category],
                source_response_id=source_response_id,
                recorded_by_id=self.staff_id,
                external_id=None,
                created_at=created,
                updated_at=created,
            )
        )


def instrument_versions() -> dict[str, InstrumentVersion]:
    """The shipped instruments' current versions, by code (those loaded)."""
    versions = {instrument.code: version for instrument, version in instruments_with_versions()}
    return {code: versions[code] for code in SHIPPED_CODES if code in versions}


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
    kinds: Mapping[str, float] = KINDS,
) -> SeedResult:
    """Add `patients` demo patients with their blocks, ablations, follow-ups and survey answers, numbered on
    from the highest demo MRN. `today` (default: the clinic's today, never later) anchors every date.
    `long_history` adds one more patient with ~40 blocks and ~15 ablations. `kinds`: the treatments' kinds with
    their weights (the benchmarks compare cryoablation only with the mix). Each batch is its own
    transaction; nothing is checked about what the database already holds (the command does that)."""
    started = time.perf_counter()
    real_today = timezone.localdate()
    today = today or real_today
    if today > real_today:
        raise ValueError(f"today ({today}) is after the clinic's date ({real_today}): records would be in the future.")
    users, users_created = demo_users_ensure()
    protocol = protocol_get()
    result = SeedResult(counts={key: 0 for key in ROWS})
    result.counts["users created"] = users_created
    first = number = _next_number()
    total = patients + (1 if long_history else 0)
    generator = DemoGenerator(
        seed=seed,
        today=today,
        protocol=protocol,
        time_points=list(protocol.time_points.all()),
        nerves=dict(Nerve.objects.values_list("code", "id")),
        physicians=[users[name].pk for name in PHYSICIANS],
        staff_id=users["staff"].pk,
        sites=list(Site.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)),
        pools={key: IdPool(model) for key, (model, _) in ROWS.items()},
        kinds=kinds,
    )
    while number < first + total:
        end = min(first + total, number + batch_size)
        batch = _batch_write(
            generator,
            protocol,
            range(number, end),
            long_history=first + total - 1 if long_history else None,
            survey_open=first,
        )
        for key in ROWS:
            result.counts[key] += len(batch.rows[key])
        number = end
        if progress:
            progress(number - first, total)
    bulk.tables_analyze(vacuum=True, history=True)
    if total:
        result.first_mrn = f"{MRN_PREFIX}{first:0{MRN_DIGITS}d}"
        result.last_mrn = f"{MRN_PREFIX}{first + total - 1:0{MRN_DIGITS}d}"
        result.survey_open_mrn = result.first_mrn
    result.seconds = time.perf_counter() - started
    return result


def _batch_write(
    generator: DemoGenerator, protocol: Protocol, numbers: range, *, long_history: int | None, survey_open: int
) -> _Batch:
    """Generate and write one batch of patients, in one transaction, through the registry's bulk writer: patients,
    blocks and diaries; then the ablations after the blocks the database judged positive, their qualifying blocks
    picked by the rule in SQL; then the follow-ups and answers, each follow-up written once with the answer it
    counts. The change history of the batch's rows is written set-based once they hold their final values (the
    registry import's way: apps.audit.services.history_in_bulk), not by a trigger per row."""
    batch = _Batch()
    models = [model for model, _ in ROWS.values()]
    with transaction.atomic(), history_in_bulk(*models, updates=True):
        for n in numbers:
            if n == long_history:
                generator.patient(n, batch, blocks=40, ablations=15)
            else:
                generator.patient(n, batch, survey_open=n == survey_open)
        first: tuple[RowKey, ...] = ("patients", "blocks", "diary")
        for key in first:
            bulk.rows_copy(ROWS[key][0], batch.rows[key])
        assessed = bulk.blocks_assessed(block_ids=[row.id for row in batch.rows["blocks"]], protocol=protocol)
        positive = {block_id for block_id, (_, is_positive) in assessed.items() if is_positive}
        for patient in batch.patients:
            generator.ablations(patient, batch, positive)
        bulk.rows_copy(Cryoablation, batch.rows["ablations"])
        picked = bulk.qualifying_blocks_pick(
            ablation_ids=[row.id for row in batch.rows["ablations"]], protocol=protocol
        )
        for ablation in batch.ablations:
            block_id = picked.get(ablation.row.id)
            generator.outcomes(ablation, batch, assessed[block_id][0] if block_id else None)
        counted = bulk.counted_responses_pick(batch.rows["responses"])
        follow_ups = batch.rows["follow_ups"]
        batch.rows["follow_ups"] = [row._replace(counted_response_id=counted.get(row.id)) for row in follow_ups]
        last: tuple[RowKey, ...] = ("responses", "follow_ups", "adverse_events", "medications", "instrument_answers")
        for key in last:
            bulk.rows_copy(ROWS[key][0], batch.rows[key])
        supersession_refresh(patient_ids=[patient.id for patient in batch.patients])
        for key, (model, _) in ROWS.items():
            history_record_created(model=model, ids=[row.id for row in batch.rows[key]])
    return batch
