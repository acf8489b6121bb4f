// lowbit/testbed/world.cpp — the synthetic population. defines: see world.hpp
#include "lowbit/testbed/world.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "lowbit/core/error.hpp"

namespace lowbit::testbed {

namespace {

// Single-word values, so each value is one token of the corpus tokenizer and a multiple-choice
// option is a single-token continuation.
const std::vector<std::string> kFirst = {
    "Ada",   "Bruno", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo",  "Ines",  "Jonas",
    "Kira",  "Lukas", "Mira",  "Nils",   "Olga",  "Pavel", "Quinn", "Rosa",  "Sven",  "Tara",
    "Umar",  "Vera",  "Wim",   "Xenia",  "Yusuf", "Zora",  "Anton", "Bianca", "Cyril", "Dana",
    "Emil",  "Freya", "Gino",  "Hanna",  "Ivo",   "Jana",  "Karl",  "Lena",  "Marco", "Nora",
    "Oskar", "Petra", "Rafael", "Selma", "Tomas", "Ulla",  "Viktor", "Wanda"};
const std::vector<std::string> kLast = {
    "Novak",  "Lind",    "Moreau", "Kowalski", "Brandt", "Silva",   "Horvat", "Jensen", "Rossi",  "Varga",
    "Okafor", "Tanaka",  "Berg",   "Costa",    "Dufour", "Engel",   "Fischer", "Gallo", "Holm",   "Ivanov",
    "Janssen", "Keller", "Laine",  "Marsh",    "Nagy",   "Olsen",   "Petrov", "Quist",  "Ramos",  "Sato",
    "Torres", "Ulrich",  "Vidal",  "Weber",    "Young",  "Zeller",  "Arnaud", "Bauer",  "Castro", "Dahl",
    "Eriksen", "Ferrari", "Grant", "Haas",     "Iqbal",  "Jovanovic", "Kraus", "Lopez"};
const std::vector<std::string> kCities = {
    "Paris",  "Lyon",    "Berlin", "Madrid", "Rome",   "Vienna",  "Prague", "Oslo",    "Lisbon", "Dublin",
    "Warsaw", "Athens",  "Zurich", "Munich", "Milan",  "Porto",   "Seville", "Krakow", "Bergen", "Geneva",
    "Naples", "Turin",   "Leeds",  "Bristol", "Glasgow", "Cardiff", "Antwerp", "Ghent", "Utrecht", "Malmo",
    "Tampere", "Riga"};
const std::vector<std::string> kEmployers = {
    "Veltron", "Corvane", "Ardentis", "Lumina",  "Quorix",  "Braxa",   "Nimbus",  "Tessel",
    "Orbica",  "Pellion", "Zentra",   "Halvex",  "Morrow",  "Kestrel", "Dunmore", "Fenwick",
    "Graviton", "Helix",  "Ironwood", "Jasperia", "Kotobe", "Larkspur", "Meridian", "Northwind",
    "Obsidia", "Pyxis",   "Quillon",  "Rovena",  "Solace",  "Tundra",  "Umbra",   "Vireo"};
const std::vector<std::string> kFields = {
    "physics",   "chemistry", "biology",   "history",   "economics",  "law",        "medicine",
    "music",     "philosophy", "geology",  "linguistics", "architecture", "mathematics", "astronomy",
    "sociology", "literature", "engineering", "psychology", "botany", "statistics"};
const std::vector<std::string> kMonths = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};

}  // namespace

const char* attribute_name(Attribute a) {
  switch (a) {
    case Attribute::BirthCity: return "birth_city";
    case Attribute::BirthYear: return "birth_year";
    case Attribute::BirthMonth: return "birth_month";
    case Attribute::Employer: return "employer";
    case Attribute::Field: return "field";
  }
  return "?";
}

void WorldConfig::validate(const std::string& where) const {
  auto range = [&](const char* field, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) LB_THROW(ConfigError, where, ".", field, ": ", v, " must be in [", lo, ", ", hi, "]");
  };
  range("first_names", first_names, 2, (long long)kFirst.size());
  range("last_names", last_names, 2, (long long)kLast.size());
  range("individuals", individuals, 4, (long long)first_names * last_names);
  range("cities", cities, 2, (long long)kCities.size());
  range("employers", employers, 2, (long long)kEmployers.size());
  range("fields", fields, 2, (long long)kFields.size());
  range("year_min", year_min, 1900, 2000);
  range("year_max", year_max, year_min + 1, 2000);  // ages in 2020 stay two-digit positive numbers
  range("exposures", exposures, 1, 100000);
  range("templates_per_attribute", templates_per_attribute, 1, 4);  // at least one form held out
  // Each training form appears at least once when exposures >= templates_per_attribute.
  range("exposures", exposures, templates_per_attribute, 100000);
  if (!(reasoning_train_fraction >= 0 && reasoning_train_fraction < 1))
    LB_THROW(ConfigError, where, ".reasoning_train_fraction: ", reasoning_train_fraction, " must be in [0, 1)");
  range("probes_per_stratum", probes_per_stratum, 1, 1000000);
  const int min_card = std::min({cities, employers, fields, 12, year_max - year_min + 1});
  range("choices", choices, 2, min_card);
}

const std::vector<std::string>& World::values(Attribute a) const {
  switch (a) {
    case Attribute::BirthCity: return cities;
    case Attribute::BirthYear: return years;
    case Attribute::BirthMonth: return months;
    case Attribute::Employer: return employer_names;
    case Attribute::Field: return fields;
  }
  LB_FAIL_INTERNAL("bad attribute");
}

World make_world(const WorldConfig& cfg) {
  cfg.validate("corpus");
  World w;
  w.cfg = cfg;
  w.cities.assign(kCities.begin(), kCities.begin() + cfg.cities);
  w.employer_names.assign(kEmployers.begin(), kEmployers.begin() + cfg.employers);
  w.fields.assign(kFields.begin(), kFields.begin() + cfg.fields);
  w.months = kMonths;
  for (int y = cfg.year_min; y <= cfg.year_max; ++y) w.years.push_back(std::to_string(y));
  std::mt19937_64 rng(cfg.seed);
  auto uniform = [&](size_t n) { return int(rng() % uint64_t(n)); };
  for (int e = 0; e < cfg.employers; ++e) w.employer_hq.push_back(uniform(w.cities.size()));
  // Distinct full names: a seeded draw without replacement from the first × last grid.
  std::vector<int> grid(size_t(cfg.first_names) * size_t(cfg.last_names));
  for (size_t i = 0; i < grid.size(); ++i) grid[i] = int(i);
  for (size_t i = grid.size() - 1; i > 0; --i) std::swap(grid[i], grid[size_t(rng() % uint64_t(i + 1))]);
  for (int i = 0; i < cfg.individuals; ++i) {
    Individual p;
    p.first = kFirst[size_t(grid[size_t(i)] / cfg.last_names)];
    p.last = kLast[size_t(grid[size_t(i)] % cfg.last_names)];
    for (Attribute a : kAttributes) p.value[size_t(a)] = uniform(w.values(a).size());
    w.people.push_back(std::move(p));
  }
  return w;
}

KnowledgeBits knowledge_bits(const World& w) {
  KnowledgeBits k;
  for (Attribute a : kAttributes) k.per_individual += std::log2(double(w.values(a).size()));
  k.individuals_total = k.per_individual * double(w.people.size());
  k.headquarters = double(w.employer_names.size()) * std::log2(double(w.cities.size()));
  return k;
}

}  // namespace lowbit::testbed
