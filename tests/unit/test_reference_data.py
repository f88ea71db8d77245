"""Reference and demo data: regions, categories, names, the service catalogue, org names."""

import random
import re

import pytest

from backend.demo.catalogue import SERVICES, ServiceDef, eligible_services, service_by_code
from backend.demo.names import (
    KAZAKH_FEMALE_NAMES,
    KAZAKH_MALE_NAMES,
    KAZAKH_SURNAMES,
    RUSSIAN_FEMALE_NAMES,
    RUSSIAN_MALE_NAMES,
    RUSSIAN_SURNAMES,
    feminine_surname,
    patronymic,
    transliterate,
)
from backend.demo.orgs import (
    LEGAL_FORMS,
    PROVIDER_KIND_NAMES,
    PROVIDER_KINDS,
    SECTOR_DEFS,
    SECTORS,
    employer_name,
    provider_name,
    with_legal_form,
)
from backend.reference.categories import CATEGORIES, category_by_code
from backend.reference.regions import REGIONS, TOTAL_POPULATION, region_by_code

# ISO 3166-2 codes as listed in shared/domain.md, "Regions (since 2022)".
DOMAIN_REGION_CODES = (
    "KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-33", "KZ-35", "KZ-39",
    "KZ-43", "KZ-47", "KZ-55", "KZ-59", "KZ-61", "KZ-62", "KZ-63", "KZ-71", "KZ-75", "KZ-79",
)
LATIN = re.compile(r"[A-Za-z]")
CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")
KAZAKH_ONLY_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - deterministic demo data, not security


def _three(kk: str, ru: str, en: str) -> None:
    for text in (kk, ru, en):
        assert text.strip() == text
        assert text
    assert not CYRILLIC.search(en), en


class TestRegions:
    def test_codes_match_domain_exactly(self) -> None:
        codes = tuple(region.code for region in REGIONS)
        assert codes == DOMAIN_REGION_CODES
        assert len(set(codes)) == 20

    def test_seventeen_oblasts_three_cities(self) -> None:
        kinds = [region.kind for region in REGIONS]
        assert kinds.count("oblast") == 17
        assert {r.code for r in REGIONS if r.kind == "city"} == {"KZ-71", "KZ-75", "KZ-79"}

    def test_names_in_three_languages(self) -> None:
        for region in REGIONS:
            _three(region.name_kk, region.name_ru, region.name_en)
            _three(region.center_kk, region.center_ru, region.center_en)

    def test_kazakh_names_have_no_latin_letters(self) -> None:
        for region in REGIONS:
            assert not LATIN.search(region.name_kk), region.name_kk
            assert not LATIN.search(region.center_kk), region.center_kk
            assert not LATIN.search(region.name_ru), region.name_ru

    def test_oblast_names_follow_each_language(self) -> None:
        for region in REGIONS:
            if region.kind == "oblast":
                assert region.name_kk.endswith(" облысы")
                assert "область" in region.name_ru
                assert region.name_en.endswith(" Region")
            else:
                assert region.name_kk == region.center_kk
                assert region.name_en == region.center_en

    def test_examples(self) -> None:
        abai = region_by_code("KZ-10")
        assert (abai.name_kk, abai.name_en) == ("Абай облысы", "Abai Region")
        assert abai.center_en == "Semey"
        astana = region_by_code("KZ-71")
        assert (astana.name_kk, astana.name_ru, astana.name_en) == ("Астана", "Астана", "Astana")
        assert region_by_code("KZ-19").center_kk == "Қонаев"

    def test_populations_are_plausible(self) -> None:
        assert 19_500_000 <= TOTAL_POPULATION <= 21_000_000
        by_code = {region.code: region.population for region in REGIONS}
        assert max(by_code, key=by_code.__getitem__) == "KZ-75"  # Almaty
        assert min(by_code, key=by_code.__getitem__) == "KZ-62"  # Ulytau
        assert all(100_000 < population < 3_000_000 for population in by_code.values())


class TestCategories:
    def test_codes_unique_snake_case(self) -> None:
        codes = [category.code for category in CATEGORIES]
        assert len(codes) == len(set(codes))
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)

    def test_names_in_three_languages(self) -> None:
        for category in CATEGORIES:
            _three(category.name_kk, category.name_ru, category.name_en)
            assert KAZAKH_ONLY_LETTERS.search(category.name_kk), category.name_kk

    def test_confirmed_for_2026(self) -> None:
        confirmed = {category.code for category in CATEGORIES if category.confirmed_2026}
        assert {
            "child", "pregnant_non_working", "parent_child_under_3", "maternity_leave", "carer",
            "pensioner", "prisoner",
        } <= confirmed
        assert "student" not in confirmed

    def test_local_budget_payers(self) -> None:
        assert category_by_code("unemployed").payer == "local_budget"
        assert category_by_code("welfare_d_e").payer == "local_budget"
        assert category_by_code("child").payer == "state"
        assert category_by_code("temporary_document").payer == "state"


class TestNames:
    def test_pool_sizes_and_uniqueness(self) -> None:
        for pool, minimum in (
            (KAZAKH_MALE_NAMES, 60), (KAZAKH_FEMALE_NAMES, 60), (RUSSIAN_MALE_NAMES, 40),
            (RUSSIAN_FEMALE_NAMES, 40), (KAZAKH_SURNAMES, 80), (RUSSIAN_SURNAMES, 50),
        ):
            assert len(pool) >= minimum
            assert len(set(pool)) == len(pool)
            assert all(name and not LATIN.search(name) for name in pool)

    @pytest.mark.parametrize(
        ("male", "female"),
        [
            ("Ахметов", "Ахметова"), ("Серікбаев", "Серікбаева"), ("Иванов", "Иванова"),
            ("Соловьёв", "Соловьёва"), ("Ильин", "Ильина"), ("Ғабдуллин", "Ғабдуллина"),
            ("Ковальский", "Ковальская"), ("Серікұлы", "Серікқызы"), ("Ткаченко", "Ткаченко"),
            ("Ким", "Ким"), ("Шульц", "Шульц"),
        ],
    )
    def test_feminine_surname(self, male: str, female: str) -> None:
        assert feminine_surname(male) == female

    @pytest.mark.parametrize(
        ("father", "sex", "style", "expected"),
        [
            ("Серік", "M", "kk", "Серікұлы"), ("Серік", "F", "kk", "Серікқызы"),
            ("Иван", "M", "ru", "Иванович"), ("Иван", "F", "ru", "Ивановна"),
            ("Ерлан", "M", "ru", "Ерланович"), ("Ерлан", "F", "ru", "Ерлановна"),
            ("Сергей", "M", "ru", "Сергеевич"), ("Николай", "F", "ru", "Николаевна"),
            ("Игорь", "M", "ru", "Игоревич"), ("Юрий", "F", "ru", "Юрьевна"),
            ("Дмитрий", "M", "ru", "Дмитриевич"), ("Евгений", "M", "ru", "Евгеньевич"),
            ("Павел", "M", "ru", "Павлович"), ("Михаил", "F", "ru", "Михайловна"),
            ("Илья", "M", "ru", "Ильич"), ("Илья", "F", "ru", "Ильинична"),
            ("Никита", "F", "ru", "Никитична"), ("Абылай", "M", "ru", "Абылаевич"),
        ],
    )
    def test_patronymic(self, father: str, sex: str, style: str, expected: str) -> None:
        assert patronymic(father, sex, style) == expected

    def test_patronymic_rejects_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            patronymic("Серік", "X", "kk")
        with pytest.raises(ValueError):
            patronymic("Серік", "M", "en")
        with pytest.raises(ValueError):
            patronymic("", "M", "ru")

    @pytest.mark.parametrize(
        ("cyrillic", "latin"),
        [
            ("Айгерім", "Aigerim"), ("Нұрлан", "Nurlan"), ("Жұмабаев", "Zhumabayev"),
            ("Ерлан", "Yerlan"), ("Шыңғыс", "Shyngys"), ("Қайрат", "Kairat"),
            ("Сергей", "Sergey"), ("Наталья", "Natalya"), ("Фёдоров", "Fyodorov"),
            ("ЖҰМАБАЕВ", "ZHUMABAYEV"), ("Ахметов А. С.", "Akhmetov A. S."),
        ],
    )
    def test_transliterate(self, cyrillic: str, latin: str) -> None:
        assert transliterate(cyrillic) == latin

    def test_every_pool_name_transliterates_to_ascii(self) -> None:
        pools = KAZAKH_MALE_NAMES + KAZAKH_FEMALE_NAMES + RUSSIAN_MALE_NAMES
        pools += RUSSIAN_FEMALE_NAMES + KAZAKH_SURNAMES + RUSSIAN_SURNAMES
        for name in pools:
            latin = transliterate(name)
            assert latin.isascii() and latin[0].isupper(), (name, latin)


SEX_OF = {
    "Cervical cancer screening": "F",
    "Breast cancer screening (mammography)": "F",
    "Obstetrician-gynecologist consultation": "F",
    "Urologist consultation": "M",
}


class TestCatalogue:
    def test_enough_unique_codes(self) -> None:
        codes = [service.code for service in SERVICES]
        assert len(codes) >= 30
        assert len(codes) == len(set(codes))
        assert all(re.fullmatch(r"[A-Z]\d{2}\.\d{3}\.\d{3}", code) for code in codes)

    def test_names_in_three_languages(self) -> None:
        for service in SERVICES:
            _three(service.name_kk, service.name_ru, service.name_en)

    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.code)
    def test_ranges_are_sane(self, service: ServiceDef) -> None:
        assert 0 <= service.min_age <= service.max_age <= 120
        assert 0 < service.tariff_kzt_min <= service.tariff_kzt_max
        assert 0 < service.yearly_rate < 10

    def test_sex_specific_services(self) -> None:
        by_name = {service.name_en: service for service in SERVICES}
        for name, sex in SEX_OF.items():
            assert by_name[name].sex == sex, name
        for service in SERVICES:
            if service.category == "screening" and service.name_en not in SEX_OF:
                assert service.sex is None, service.name_en

    def test_screening_target_ages(self) -> None:
        ages = {s.name_en: (s.min_age, s.max_age) for s in SERVICES if s.category == "screening"}
        assert ages["Cervical cancer screening"] == (30, 70)
        assert ages["Breast cancer screening (mammography)"] == (40, 70)
        assert ages["Colorectal cancer screening"] == (50, 70)
        assert ages["Cardiovascular disease and diabetes screening"] == (40, 70)
        assert ages["Glaucoma screening"] == (40, 70)
        assert ages["Child developmental screening"] == (0, 6)
        assert all(s.package == "osms" for s in SERVICES if s.category == "screening")

    def test_packages(self) -> None:
        for service in SERVICES:
            if service.category in ("primary_care", "emergency"):
                assert service.package == "gobmp"
            if service.category in ("specialist", "rehabilitation", "dental"):
                assert service.package == "osms"

    def test_tariff_levels(self) -> None:
        therapist = service_by_code("A01.001.000")
        assert 2_000 <= therapist.tariff_kzt_min <= therapist.tariff_kzt_max <= 4_000
        mri = next(s for s in SERVICES if s.name_en == "MRI scan")
        assert (mri.tariff_kzt_min, mri.tariff_kzt_max) == (25_000, 45_000)
        for service in SERVICES:
            if service.category == "specialist":
                assert 5_000 <= service.tariff_kzt_min <= service.tariff_kzt_max <= 13_000

    def test_eligibility(self) -> None:
        man = {s.name_en for s in eligible_services("M", 55)}
        assert "Colorectal cancer screening" in man
        assert "Cervical cancer screening" not in man
        child = {s.category for s in eligible_services("F", 4)}
        assert "dental" in child and "screening" in child
        with pytest.raises(KeyError):
            service_by_code("Z99.999.999")


class TestOrgs:
    def test_sectors(self) -> None:
        assert SECTORS["education"] == 250_000
        assert SECTORS["oil_gas_services"] == 700_000
        assert set(SECTORS) == {sector.code for sector in SECTOR_DEFS}
        for sector in SECTOR_DEFS:
            _three(sector.name_kk, sector.name_ru, sector.name_en)
            assert 150_000 <= sector.median_wage_kzt <= 1_000_000

    def test_legal_form_placement(self) -> None:
        assert with_legal_form("llp", "Алатау Құрылыс", "Alatau Qurylys") == (
            "«Алатау Құрылыс» ЖШС", "ТОО «Алатау Құрылыс»", "Alatau Qurylys LLP",
        )
        assert with_legal_form("jsc", "Б", "B")[:2] == ("«Б» АҚ", "АО «Б»")
        assert with_legal_form("sme_rem", "Б", "B")[:2] == ("«Б» ШЖҚ МКК", "ГКП на ПХВ «Б»")
        assert with_legal_form("ie", "Б", "B") == ("«Б» ЖК", "ИП «Б»", "IE B")
        for form in LEGAL_FORMS:
            _three(form.name_kk, form.name_ru, form.name_en)

    def test_employer_names(self) -> None:
        rng = _rng(7)
        for sector in SECTORS:
            for _ in range(20):
                kk, ru, en = employer_name(rng, sector)
                _three(kk, ru, en)
                assert "«" in kk and "»" in ru
                assert en.isascii(), en
        with pytest.raises(KeyError):
            employer_name(rng, "fishing")

    def test_employer_names_are_deterministic(self) -> None:
        first = [employer_name(_rng(1), "it") for _ in range(3)]
        second = [employer_name(_rng(1), "it") for _ in range(3)]
        assert first == second

    def test_city_polyclinic_example(self) -> None:
        names = provider_name("polyclinic", 5, "Алматы", "Алматы", "Almaty", False, _rng(0))
        assert names == (
            "Алматы қаласының № 5 қалалық емханасы",
            "Городская поликлиника № 5 г. Алматы",
            "City Polyclinic No. 5, Almaty",
        )

    @pytest.mark.parametrize("kind", PROVIDER_KINDS)
    def test_every_kind_in_every_mode(self, kind: str) -> None:
        _three(*PROVIDER_KIND_NAMES[kind])
        rng = _rng(3)
        for private in (False, True):
            for rural in (False, True):
                for number in (1, 2, 7):
                    kk, ru, en = provider_name(
                        kind, number, "Семей", "Семей", "Semey", private, rng, rural=rural
                    )
                    _three(kk, ru, en)
                    assert en.isascii(), en
                    assert not LATIN.search(kk), kk
                    if not private:
                        assert "Семей" in kk and "Семей" in ru and "Semey" in en

    def test_private_medical_center(self) -> None:
        kk, ru, en = provider_name("medical_center", 1, "Тараз", "Тараз", "Taraz", True, _rng(2))
        assert ru.startswith("Медицинский центр «") and kk.endswith("» медициналық орталығы")
        assert en.endswith(" Medical Center")

    def test_provider_name_rejects_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            provider_name("spa", 1, "А", "А", "A", False, _rng(0))
        with pytest.raises(ValueError):
            provider_name("hospital", 0, "А", "А", "A", False, _rng(0))
