"""A realistic medical-service catalogue for the demo generator.

Codes follow the shape of Kazakhstan's tariff classifier (a letter for the group, then
three-digit blocks) but are demo codes, not the official ones:
A01 primary care, A02 specialist consultations, A03 screenings, B01 laboratory,
C01 instrumental diagnostics, D01 treatment and rehabilitation, E01 emergency care.

Packages: ГОБМП (guaranteed volume of free care: primary care, emergency care and
socially significant diseases, for everyone) and ОСМС (the insurance package: specialist
consultations on referral, screenings, diagnostics, rehabilitation, day hospital, planned
inpatient care and children's dental care, for the insured only).

Tariffs are plausible 2025 ranges in KZT, `yearly_rate` the expected number of services
per eligible person per year (an eligible person has the right sex and age).
"""

from dataclasses import dataclass
from typing import Literal

Package = Literal["gobmp", "osms"]
ServiceCategory = Literal[
    "primary_care",
    "specialist",
    "screening",
    "diagnostics",
    "laboratory",
    "rehabilitation",
    "day_hospital",
    "inpatient",
    "dental",
    "emergency",
]
Sex = Literal["M", "F"]

MAX_AGE = 120


@dataclass(frozen=True, slots=True)
class ServiceDef:
    """One kind of medical service, who may receive it and what it costs."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    package: Package
    category: ServiceCategory
    sex: Sex | None
    min_age: int
    max_age: int
    tariff_kzt_min: int
    tariff_kzt_max: int
    yearly_rate: float

    def is_eligible(self, sex: Sex, age: int) -> bool:
        """Whether a person of this sex and age (in full years) may receive the service."""
        if self.sex is not None and self.sex != sex:
            return False
        return self.min_age <= age <= self.max_age


def _s(
    code: str,
    names: tuple[str, str, str],
    package: Package,
    category: ServiceCategory,
    ages: tuple[int, int],
    tariff: tuple[int, int],
    yearly_rate: float,
    sex: Sex | None = None,
) -> ServiceDef:
    return ServiceDef(
        code, names[0], names[1], names[2], package, category, sex,
        ages[0], ages[1], tariff[0], tariff[1], yearly_rate,
    )


_ADULT = (18, MAX_AGE)
_ALL = (0, MAX_AGE)

_PRIMARY_AND_EMERGENCY: tuple[ServiceDef, ...] = (
    _s("A01.001.000", ("Жалпы практика дәрігерінің (терапевтің) қабылдауы",
                       "Приём врача общей практики (терапевта)",
                       "General practitioner (therapist) visit"),
       "gobmp", "primary_care", _ADULT, (2_500, 4_000), 2.5),
    _s("A01.002.000", ("Педиатрдың қабылдауы", "Приём педиатра", "Pediatrician visit"),
       "gobmp", "primary_care", (0, 17), (2_500, 4_000), 4.0),
    _s("A01.003.000", ("Мейіргердің қабылдауы", "Приём медицинской сестры", "Nurse visit"),
       "gobmp", "primary_care", _ALL, (1_200, 2_000), 1.5),
    _s("A01.004.000", ("Дәрігерді үйге шақыру", "Вызов врача на дом", "Doctor's home visit"),
       "gobmp", "primary_care", _ALL, (3_500, 6_000), 0.15),
    _s("E01.001.000", ("Жедел медициналық жәрдем шақыру",
                       "Вызов скорой медицинской помощи",
                       "Emergency ambulance call"),
       "gobmp", "emergency", _ALL, (15_000, 30_000), 0.3),
    _s("D01.010.000", ("Туберкулезді стационарлық емдеу",
                       "Стационарное лечение туберкулёза",
                       "Inpatient tuberculosis treatment"),
       "gobmp", "inpatient", _ALL, (400_000, 1_200_000), 0.0004),
    _s("D01.011.000", ("Онкологиялық аурулар кезіндегі химиотерапия",
                       "Химиотерапия при онкологических заболеваниях",
                       "Chemotherapy for cancer"),
       "gobmp", "day_hospital", _ADULT, (150_000, 900_000), 0.003),
)

_SPECIALISTS: tuple[ServiceDef, ...] = (
    _s("A02.001.000", ("Кардиолог консультациясы", "Консультация кардиолога",
                       "Cardiologist consultation"),
       "osms", "specialist", _ADULT, (6_000, 12_000), 0.15),
    _s("A02.002.000", ("Эндокринолог консультациясы", "Консультация эндокринолога",
                       "Endocrinologist consultation"),
       "osms", "specialist", _ALL, (6_000, 12_000), 0.1),
    _s("A02.003.000", ("Невролог консультациясы", "Консультация невролога",
                       "Neurologist consultation"),
       "osms", "specialist", _ALL, (6_000, 12_000), 0.15),
    _s("A02.004.000", ("Офтальмолог консультациясы", "Консультация офтальмолога",
                       "Ophthalmologist consultation"),
       "osms", "specialist", _ALL, (5_000, 10_000), 0.2),
    _s("A02.005.000", ("Оториноларинголог (ЛОР) консультациясы",
                       "Консультация оториноларинголога (ЛОР)",
                       "Ear, nose and throat (ENT) consultation"),
       "osms", "specialist", _ALL, (5_000, 10_000), 0.2),
    _s("A02.006.000", ("Акушер-гинеколог консультациясы",
                       "Консультация акушера-гинеколога",
                       "Obstetrician-gynecologist consultation"),
       "osms", "specialist", (14, MAX_AGE), (5_500, 11_000), 0.5, sex="F"),
    _s("A02.007.000", ("Уролог консультациясы", "Консультация уролога",
                       "Urologist consultation"),
       "osms", "specialist", _ADULT, (5_500, 11_000), 0.08, sex="M"),
    _s("A02.008.000", ("Хирург консультациясы", "Консультация хирурга",
                       "Surgeon consultation"),
       "osms", "specialist", _ALL, (5_500, 11_000), 0.12),
    _s("A02.009.000", ("Травматолог-ортопед консультациясы",
                       "Консультация травматолога-ортопеда",
                       "Trauma and orthopedic surgeon consultation"),
       "osms", "specialist", _ALL, (5_500, 13_000), 0.12),
)

# Target groups of the national screening programme; screenings belong to ОСМС.
_SCREENINGS: tuple[ServiceDef, ...] = (
    _s("A03.001.000", ("Жатыр мойны обырын ерте анықтауға арналған скрининг",
                       "Скрининг на раннее выявление рака шейки матки",
                       "Cervical cancer screening"),
       "osms", "screening", (30, 70), (3_000, 8_000), 0.25, sex="F"),
    _s("A03.002.000", ("Сүт безі обырын ерте анықтауға арналған скрининг (маммография)",
                       "Скрининг на раннее выявление рака молочной железы (маммография)",
                       "Breast cancer screening (mammography)"),
       "osms", "screening", (40, 70), (5_000, 12_000), 0.5, sex="F"),
    _s("A03.003.000", ("Колоректалды обырды ерте анықтауға арналған скрининг",
                       "Скрининг на раннее выявление колоректального рака",
                       "Colorectal cancer screening"),
       "osms", "screening", (50, 70), (1_500, 4_000), 0.5),
    _s("A03.004.000", ("Жүрек-қантамыр аурулары мен қант диабетін ерте анықтауға "
                       "арналған скрининг",
                       "Скрининг на раннее выявление болезней системы кровообращения "
                       "и сахарного диабета",
                       "Cardiovascular disease and diabetes screening"),
       "osms", "screening", (40, 70), (2_000, 5_000), 0.5),
    _s("A03.005.000", ("Глаукоманы ерте анықтауға арналған скрининг",
                       "Скрининг на раннее выявление глаукомы",
                       "Glaucoma screening"),
       "osms", "screening", (40, 70), (1_500, 4_000), 0.5),
    _s("A03.006.000", ("Ерте жастағы балалардың психофизикалық дамуының скринингі",
                       "Скрининг психофизического развития детей раннего возраста",
                       "Child developmental screening"),
       "osms", "screening", (0, 6), (2_000, 5_000), 1.0),
)

_DIAGNOSTICS_AND_LABORATORY: tuple[ServiceDef, ...] = (
    _s("C01.001.000", ("Электрокардиография (ЭКГ)", "Электрокардиография (ЭКГ)",
                       "Electrocardiogram (ECG)"),
       "osms", "diagnostics", _ALL, (1_500, 3_500), 0.3),
    _s("C01.002.000", ("Іш қуысы ағзаларының ультрадыбыстық зерттеуі",
                       "Ультразвуковое исследование органов брюшной полости",
                       "Abdominal ultrasound"),
       "osms", "diagnostics", _ALL, (4_000, 9_000), 0.15),
    _s("C01.003.000", ("Кеуде қуысы ағзаларының рентгенографиясы",
                       "Рентгенография органов грудной клетки",
                       "Chest X-ray"),
       "osms", "diagnostics", _ALL, (2_500, 6_000), 0.15),
    _s("C01.004.000", ("Компьютерлік томография", "Компьютерная томография", "CT scan"),
       "osms", "diagnostics", _ALL, (15_000, 35_000), 0.03),
    _s("C01.005.000", ("Магнитті-резонанстық томография",
                       "Магнитно-резонансная томография",
                       "MRI scan"),
       "osms", "diagnostics", _ALL, (25_000, 45_000), 0.02),
    _s("C01.006.000", ("Эзофагогастродуоденоскопия (ЭГДС)",
                       "Эзофагогастродуоденоскопия (ЭГДС)",
                       "Upper GI endoscopy (gastroscopy)"),
       "osms", "diagnostics", _ADULT, (8_000, 18_000), 0.03),
    _s("B01.001.000", ("Жалпы қан талдауы", "Общий анализ крови", "Complete blood count"),
       "gobmp", "laboratory", _ALL, (800, 2_000), 1.0),
    _s("B01.002.000", ("Жалпы зәр талдауы", "Общий анализ мочи", "Urinalysis"),
       "gobmp", "laboratory", _ALL, (600, 1_500), 0.8),
    _s("B01.003.000", ("Қанның биохимиялық талдауы", "Биохимический анализ крови",
                       "Blood chemistry panel"),
       "osms", "laboratory", _ALL, (2_500, 7_000), 0.3),
    _s("B01.004.000", ("Гликозилденген гемоглобин (HbA1c)",
                       "Гликированный гемоглобин (HbA1c)",
                       "Glycated hemoglobin (HbA1c)"),
       "osms", "laboratory", _ADULT, (2_000, 4_500), 0.1),
)

_TREATMENT: tuple[ServiceDef, ...] = (
    _s("D01.001.000", ("Медициналық оңалту курсы", "Курс медицинской реабилитации",
                       "Medical rehabilitation course"),
       "osms", "rehabilitation", _ALL, (80_000, 250_000), 0.01),
    _s("D01.002.000", ("Күндізгі стационарда емделу", "Лечение в дневном стационаре",
                       "Day hospital treatment"),
       "osms", "day_hospital", _ALL, (40_000, 150_000), 0.03),
    _s("D01.003.000", ("Жоспарлы стационарлық емдеу", "Плановое стационарное лечение",
                       "Planned inpatient treatment"),
       "osms", "inpatient", _ALL, (150_000, 400_000), 0.05),
    _s("D01.004.000", ("Балаларға стоматологиялық көмек", "Стоматологическая помощь детям",
                       "Dental care for children"),
       "osms", "dental", (0, 17), (4_000, 12_000), 0.5),
)

SERVICES: tuple[ServiceDef, ...] = (
    _PRIMARY_AND_EMERGENCY
    + _SPECIALISTS
    + _SCREENINGS
    + _DIAGNOSTICS_AND_LABORATORY
    + _TREATMENT
)


def service_by_code(code: str) -> ServiceDef:
    """Return the service with this code; raise KeyError if there is none."""
    for service in SERVICES:
        if service.code == code:
            return service
    raise KeyError(code)


def eligible_services(sex: Sex, age: int) -> tuple[ServiceDef, ...]:
    """The services that a person of this sex and age may receive."""
    return tuple(service for service in SERVICES if service.is_eligible(sex, age))
