// lowbit/testbed/world.hpp — a seeded synthetic world in the spirit of "Physics of Language
// Models" (synthetic biographies): a population of individuals with independent, uniformly drawn
// attributes, and employers with a headquarters city. Because every value is drawn uniformly and
// independently, the knowledge content in bits is exact: Σ_individuals Σ_attributes log2 |values|
// (+ employers · log2 |cities| for the headquarters table).
// defines: lowbit::testbed::WorldConfig, Attribute, kAttributes, Individual, World, make_world,
//          attribute_name, KnowledgeBits, knowledge_bits
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::testbed {

struct WorldConfig {
  uint64_t seed = 1;
  int individuals = 400;
  int first_names = 40, last_names = 40;  // name pools (full names are unique pairs)
  int cities = 24, employers = 24, fields = 16;
  int year_min = 1950, year_max = 1999;  // birth years, inclusive
  int exposures = 50;                    // biographies per individual in the training text
  int templates_per_attribute = 3;       // of the 5 statement forms per attribute, how many each
                                         // individual is seen with in training (the rest: application probes)
  double reasoning_train_fraction = 0.5; // individuals whose composed facts appear in training
  int probes_per_stratum = 600;
  int choices = 4;                       // options per multiple-choice probe (chance = 1/choices; yes/no: 1/2)
  // ConfigError naming `where`.field when out of range (pool sizes are bounded by the name lists).
  void validate(const std::string& where) const;
};

enum class Attribute { BirthCity, BirthYear, BirthMonth, Employer, Field };
inline constexpr std::array<Attribute, 5> kAttributes = {Attribute::BirthCity, Attribute::BirthYear,
                                                         Attribute::BirthMonth, Attribute::Employer,
                                                         Attribute::Field};
const char* attribute_name(Attribute a);  // "birth_city", "birth_year", ...

struct Individual {
  std::string first, last;
  std::array<int, 5> value{};  // index into World::values(attribute), by kAttributes order
  std::string name() const { return first + " " + last; }
};

struct World {
  WorldConfig cfg;
  std::vector<std::string> cities, employer_names, fields, months, years;
  std::vector<int> employer_hq;  // city index per employer
  std::vector<Individual> people;
  const std::vector<std::string>& values(Attribute a) const;
  int value(const Individual& p, Attribute a) const { return p.value[size_t(a)]; }
  int birth_year(const Individual& p) const { return cfg.year_min + value(p, Attribute::BirthYear); }
};

World make_world(const WorldConfig& cfg);

struct KnowledgeBits {
  double per_individual = 0;        // Σ_attributes log2 |values|
  double individuals_total = 0;     // individuals · per_individual
  double headquarters = 0;          // employers · log2 |cities|
  double total() const { return individuals_total + headquarters; }
};
KnowledgeBits knowledge_bits(const World& w);

}  // namespace lowbit::testbed
