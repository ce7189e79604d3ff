#include "modelcard/modelcard.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "core/input_file.hpp"
#include "core/units.hpp"
#include "modelcard/ecram_table.hpp"

namespace ecramsim {

namespace {

struct Token {
  std::string text;
  int line = 0;
};

/// Removes a `;` comment and surrounding blanks.
std::string stripComment(const std::string& raw) {
  std::string s = raw.substr(0, raw.find(';'));
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

/// Splits on blanks, commas and parentheses; '=' becomes a token of its own.
void tokenize(const std::string& text, int line, std::vector<Token>& out) {
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back({cur, line});
    cur.clear();
  };
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '(' || c == ')') {
      flush();
    } else if (c == '=') {
      flush();
      out.push_back({"=", line});
    } else {
      cur += c;
    }
  }
  flush();
}

/// One `.model` statement after joining continuation lines.
struct Statement {
  std::vector<Token> tokens;
  int line = 0;
};

std::vector<Statement> statements(const std::string& text, const std::string& filename) {
  std::vector<Statement> out;
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  bool open = false;  // the last statement may take continuation lines
  while (std::getline(in, raw)) {
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    const std::string s = stripComment(raw);
    if (s.empty() || s.front() == '*') continue;
    if (s.front() == '+') {
      if (!open) throw InputError({filename, line}, "", "continuation line '+' follows no .model");
      tokenize(s.substr(1), line, out.back().tokens);
      continue;
    }
    const std::string lower = toLower(s);
    if (lower == ".end") {
      open = false;
      continue;
    }
    if (lower.rfind(".model", 0) != 0 ||
        (lower.size() > 6 && !std::isspace(static_cast<unsigned char>(lower[6])))) {
      throw InputError(
          {filename, line}, "",
          "expected '.model NAME ecram (key=value ...)', found '" + echoToken(s) + "'");
    }
    out.push_back({{}, line});
    tokenize(s, line, out.back().tokens);
    open = true;
  }
  return out;
}

double parseValue(const CardEntry& e) {
  const auto value = parseSpiceNumber(e.text);
  if (!value) throw InputError(e.where, e.key, "malformed number '" + echoToken(e.text) + "'");
  return *value;
}

}  // namespace

void validateCard(const ModelCard& card) {
  const auto& p = card.params;
  if (!(p.gmax > p.gmin)) {
    // Name the key that was given last (or gmax when neither was given).
    std::string key = "gmax";
    SourceLocation where = card.where;
    if (auto g = card.given.find("gmax"); g != card.given.end()) where = g->second;
    if (auto g = card.given.find("gmin"); g != card.given.end() &&
                                          (!card.isGiven("gmax") || g->second.line > where.line)) {
      key = "gmin";
      where = g->second;
    }
    throw InputError(where, key,
                     "gmax=" + formatShort(p.gmax) + " must exceed gmin=" + formatShort(p.gmin));
  }
}

void setCardParam(ModelCard& card, const std::string& key, const std::string& valueText,
                  const SourceLocation& where) {
  const ParamSpec* spec = findParam(key);
  if (spec == nullptr) {
    throw InputError(where, key, "unknown parameter of model type ecram (see 'ecramsim model show')");
  }
  const double value = parseValue({key, valueText, where});
  if (!inRange(*spec, value)) {
    throw InputError(where, std::string(spec->key),
                     "value " + echoToken(valueText) +
                         (valueText == formatShort(value) ? "" : " (" + formatShort(value) + ")") +
                         " " + std::string(spec->unit) + " is outside the allowed range " +
                         rangeText(*spec));
  }
  card.params.*spec->member = value;
  card.given[std::string(spec->key)] = where;
}

ModelCard buildEcramCard(const std::string& name, const SourceLocation& where,
                         const std::vector<CardEntry>& entries) {
  ModelCard card;
  card.name = toLower(name);
  card.where = where;
  card.params = defaultEcramParams();
  for (const auto& e : entries) {
    if (card.given.count(toLower(e.key)) > 0) {
      throw InputError(e.where, e.key, "given twice (first at " + card.given[toLower(e.key)].str() + ")");
    }
    setCardParam(card, e.key, e.text, e.where);
  }
  validateCard(card);
  return card;
}

std::vector<ModelCard> parseModelText(const std::string& text, const std::string& filename) {
  std::vector<ModelCard> cards;
  for (const auto& st : statements(text, filename)) {
    const auto& tk = st.tokens;
    const SourceLocation where{filename, st.line};
    if (tk.size() < 3) throw InputError(where, "", "'.model' needs a name and a type");
    const std::string type = toLower(tk[2].text);
    if (type != "ecram") {
      throw InputError(where, "",
                       "model '" + echoToken(tk[1].text) + "' is of type '" +
                           echoToken(tk[2].text) +
                           "'; this file may only hold models of type ecram");
    }
    std::vector<CardEntry> entries;
    for (std::size_t i = 3; i < tk.size();) {
      if (i + 2 < tk.size() && tk[i + 1].text == "=" && tk[i].text != "=") {
        entries.push_back({tk[i].text, tk[i + 2].text, {filename, tk[i].line}});
        i += 3;
        continue;
      }
      throw InputError({filename, tk[i].line}, tk[i].text,
                       "expected key=value, found '" + echoToken(tk[i].text) + "'");
    }
    ModelCard card = buildEcramCard(tk[1].text, where, entries);
    card.sourceText = text;
    for (const auto& other : cards) {
      if (other.name == card.name) {
        throw InputError(where, "",
                         "model '" + echoToken(card.name) + "' is defined twice (first at " +
                             other.where.str() + ")");
      }
    }
    cards.push_back(std::move(card));
  }
  return cards;
}

ModelCard loadModelCard(const std::filesystem::path& file, const std::string& name) {
  auto cards = parseModelText(readInputFile(file, "", "model card file"), file.string());
  if (cards.empty()) throw InputError({file.string(), 0}, "", "no '.model NAME ecram' card found");
  if (name.empty()) {
    if (cards.size() > 1) {
      throw InputError({file.string(), 0}, "",
                       "holds " + std::to_string(cards.size()) + " cards; name one with FILE:NAME");
    }
    return cards.front();
  }
  for (auto& c : cards) {
    if (c.name == toLower(name)) return c;
  }
  throw InputError({file.string(), 0}, "", "no card named '" + echoToken(name) + "'");
}

}  // namespace ecramsim
