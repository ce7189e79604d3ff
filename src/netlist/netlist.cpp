#include "netlist/netlist.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "core/input_file.hpp"
#include "core/units.hpp"

namespace ecramsim::netlist {

namespace {

constexpr int kMaxIncludeDepth = 32;
/// Bounds on what a netlist may expand to: `.include`/`.lib` cards inlined and logical lines
/// after inlining.
constexpr std::size_t kMaxExpansions = 10000;
constexpr std::size_t kMaxLines = 2000000;
/// Fields on an XSPICE `A` line: libngspice 39.3 crashes on 50,000 (20,000 it rejects cleanly).
/// Other lines are not bounded: a PWL source of 100,000 fields runs.
constexpr std::size_t kMaxCodeModelFields = 10000;

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && isSpace(s[b])) ++b;
  while (e > b && isSpace(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

/// First whitespace-separated word, lower case.
std::string keyword(std::string_view text) {
  std::size_t b = 0;
  while (b < text.size() && isSpace(text[b])) ++b;
  std::size_t e = b;
  while (e < text.size() && !isSpace(text[e])) ++e;
  return toLower(text.substr(b, e - b));
}

/// Removes `;` comments and comments that start with a `$` at the start of a word.
std::string stripInlineComment(std::string_view line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ';') {
      return std::string(line.substr(0, i));
    } else if (c == '$' && (i == 0 || isSpace(line[i - 1]))) {
      return std::string(line.substr(0, i));
    }
  }
  return std::string(line);
}

struct PhysicalFile {
  std::string title;
  SourceLocation titleOrigin;
  std::vector<Line> lines;  // logical lines (continuations joined), comments removed
};

/// Joins continuations and removes comments. When `hasTitle`, physical line 1 is the title.
PhysicalFile toLogicalLines(std::string_view text, const std::string& fileName, bool hasTitle) {
  PhysicalFile out;
  std::istringstream in{std::string(text)};
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();  // CRLF line end
    if (raw.find('\0') != std::string::npos) {
      throw InputError({fileName, number}, {}, "NUL byte in the line (a binary file?)");
    }
    if (raw.find('\r') != std::string::npos) {
      throw InputError({fileName, number}, {},
                       "carriage return inside the line (only CRLF or LF line ends are read)");
    }
    if (hasTitle && number == 1) {
      out.title = raw;
      out.titleOrigin = {fileName, 1};
      continue;
    }
    std::string body = trim(raw);
    if (body.empty() || body[0] == '*') continue;
    body = trim(stripInlineComment(body));
    if (body.empty()) continue;
    if (body[0] == '+') {
      if (out.lines.empty()) {
        throw InputError({fileName, number}, {}, "continuation line '+' has no line to continue");
      }
      const std::string rest = trim(std::string_view(body).substr(1));
      if (!rest.empty()) out.lines.back().text += " " + rest;
      continue;
    }
    out.lines.push_back({body, {fileName, number}});
  }
  if (hasTitle && number == 0) throw InputError({fileName, 0}, {}, "netlist is empty");
  return out;
}

/// Removes one pair of surrounding quotes.
std::string unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

class Reader {
 public:
  explicit Reader(const ReadOptions& options) : options_(options) {}

  Netlist readTop(std::string_view text, const std::filesystem::path& fileName) {
    PhysicalFile file = toLogicalLines(text, fileName.string(), true);
    Netlist net;
    net.title = {file.title, file.titleOrigin};
    const bool ended = process(file.lines, fileName, 0, net.body);
    if (!ended) {
      int last = file.lines.empty() ? 1 : file.lines.back().origin.line;
      throw InputError({fileName.string(), last}, ".end", "netlist has no .end line");
    }
    return net;
  }

 private:
  /// Appends the lines of one file (already logical) to `out`, expanding includes. Returns
  /// true when a `.end` was met (and appended).
  bool process(const std::vector<Line>& lines, const std::filesystem::path& fileName, int depth,
               std::vector<Line>& out) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Line& line = lines[i];
      const std::string key = keyword(line.text);
      if (key == ".end") {
        if (depth == 0) out.push_back(line);
        return true;
      }
      if (key == ".include" || key == ".inc") {
        countExpansion(line);
        const auto fields = splitFields(line.text);
        if (fields.size() != 2) {
          throw InputError(line.origin, ".include", "expected `.include FILE`");
        }
        const auto path = resolve(fileName, unquote(fields[1]), line.origin, ".include");
        const PhysicalFile inc = load(path, line.origin, ".include", depth);
        process(inc.lines, path, depth + 1, out);
        continue;
      }
      if (key == ".lib") {
        const auto fields = splitFields(line.text);
        if (fields.size() == 3) {
          countExpansion(line);
          const auto path = resolve(fileName, unquote(fields[1]), line.origin, ".lib");
          const PhysicalFile lib = load(path, line.origin, ".lib", depth);
          const std::vector<Line> section = findSection(lib.lines, fields[2], path, line.origin);
          process(section, path, depth + 1, out);
          continue;
        }
        if (fields.size() == 2) {  // a section definition nobody asked for here: skip it
          std::size_t j = i + 1;
          while (j < lines.size() && keyword(lines[j].text) != ".endl") ++j;
          if (j == lines.size()) {
            throw InputError(line.origin, ".lib",
                             "section " + echoToken(fields[1]) + " has no .endl");
          }
          i = j;
          continue;
        }
        throw InputError(line.origin, ".lib", "expected `.lib FILE SECTION` or `.lib SECTION`");
      }
      if (key == ".endl") continue;
      if (key == ".control") {
        if (!options_.allowControl) {
          throw InputError(line.origin, ".control",
                           ".control blocks are refused: a netlist is data, not a script "
                           "(allow them explicitly to run them)");
        }
        std::size_t j = i;
        while (j < lines.size() && keyword(lines[j].text) != ".endc") out.push_back(lines[j++]);
        if (j == lines.size()) throw InputError(line.origin, ".control", "no matching .endc");
        out.push_back(lines[j]);
        i = j;
        continue;
      }
      if (key == "shell" && !options_.allowControl) {
        throw InputError(line.origin, "shell", "shell commands are refused in netlists");
      }
      if (out.size() >= kMaxLines) {
        throw InputError(line.origin, {},
                         "the netlist expands to more than " + std::to_string(kMaxLines) +
                             " lines (includes or .lib sections pulled in repeatedly?)");
      }
      out.push_back(line);
    }
    return false;
  }

  /// Counts one `.include` or `.lib` expansion; throws past kMaxExpansions (sections that pull
  /// in others several times grow exponentially with nesting).
  void countExpansion(const Line& line) {
    if (++expansions_ > kMaxExpansions) {
      throw InputError(line.origin, keyword(line.text),
                       "more than " + std::to_string(kMaxExpansions) +
                           " .include/.lib expansions (sections pulled in repeatedly?)");
    }
  }

  std::filesystem::path resolve(const std::filesystem::path& including, const std::string& name,
                                const SourceLocation& where, const std::string& card) {
    if (name.empty()) throw InputError(where, card, "missing file name");
    std::filesystem::path p(name);
    if (p.is_relative()) p = including.parent_path() / p;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) {
      throw InputError(
          where, card,
          "cannot find file '" + echoToken(name) + "' (looked for " + p.string() + ")");
    }
    return p;
  }

  PhysicalFile load(const std::filesystem::path& path, const SourceLocation& where,
                    const std::string& card, int depth) {
    if (depth + 1 > kMaxIncludeDepth) {
      throw InputError(where, card, "includes nested deeper than 32 levels (a cycle?)");
    }
    std::string text;
    try {
      text = readInputFile(path, card, "included file");
    } catch (const Error& e) {
      throw InputError(where, card, e.what());
    }
    return toLogicalLines(text, path.string(), false);
  }

  static std::vector<Line> findSection(const std::vector<Line>& lines, const std::string& section,
                                       const std::filesystem::path& path,
                                       const SourceLocation& where) {
    const std::string wanted = toLower(section);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto fields = splitFields(lines[i].text);
      if (fields.size() == 2 && toLower(fields[0]) == ".lib" && toLower(fields[1]) == wanted) {
        std::vector<Line> body;
        for (std::size_t j = i + 1; j < lines.size(); ++j) {
          if (keyword(lines[j].text) == ".endl") return body;
          body.push_back(lines[j]);
        }
        throw InputError(lines[i].origin, ".lib",
                         "section " + echoToken(section) + " has no .endl");
      }
    }
    throw InputError(where, ".lib", "no section '" + echoToken(section) + "' in " + path.string());
  }

  const ReadOptions& options_;
  std::size_t expansions_ = 0;
};

std::vector<Assignment> parseAssignments(const std::vector<std::string>& fields,
                                         std::size_t from, const SourceLocation& where,
                                         const std::string& card) {
  std::vector<Assignment> out;
  for (std::size_t i = from; i < fields.size(); ++i) {
    const auto eq = fields[i].find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == fields[i].size()) {
      throw InputError(where, card, "expected name=value, found '" + echoToken(fields[i]) + "'");
    }
    out.push_back({toLower(fields[i].substr(0, eq)), fields[i].substr(eq + 1)});
  }
  return out;
}

std::vector<Param> parseParamCard(const Line& line) {
  const auto fields = splitFields(line.text);
  if (fields.size() < 2) throw InputError(line.origin, ".param", "expected .param name=value");
  std::vector<Param> out;
  for (const auto& a : parseAssignments(fields, 1, line.origin, ".param")) {
    out.push_back({a.name, a.value, line.origin});
  }
  return out;
}

ModelCard parseModelCard(const Line& line) {
  // .model NAME TYPE (k=v ...) or .model NAME TYPE k=v ... ; TYPE may touch the parenthesis.
  std::string_view rest = line.text;
  rest.remove_prefix(std::min(rest.size(), rest.find_first_of(" \t") == std::string_view::npos
                                               ? rest.size()
                                               : rest.find_first_of(" \t")));
  const std::string body = trim(rest);
  std::size_t p = 0;
  while (p < body.size() && !isSpace(body[p])) ++p;
  ModelCard card;
  card.origin = line.origin;
  card.name = toLower(body.substr(0, p));
  while (p < body.size() && isSpace(body[p])) ++p;
  std::size_t t = p;
  while (t < body.size() && (std::isalnum(static_cast<unsigned char>(body[t])) || body[t] == '_')) {
    ++t;
  }
  card.type = toLower(body.substr(p, t - p));
  if (card.name.empty() || card.type.empty()) {
    throw InputError(line.origin, ".model", "expected .model NAME TYPE (key=value ...)");
  }
  std::string params = trim(std::string_view(body).substr(t));
  if (!params.empty() && params.front() == '(') {
    if (params.back() != ')') {
      throw InputError(line.origin, ".model",
                       "unbalanced parentheses in model " + echoToken(card.name));
    }
    params = params.substr(1, params.size() - 2);
  }
  card.params = parseAssignments(splitFields(params), 0, line.origin, ".model " + card.name);
  return card;
}

/// Fields of an element line split into name, nodes (+ model as the last bare field) and
/// key=value parameters.
struct ElementFields {
  std::vector<std::string> bare;  // name, nodes..., model
  std::vector<Assignment> params;
};

ElementFields splitElement(const Line& line) {
  const auto fields = splitFields(line.text);
  ElementFields out;
  std::size_t i = 0;
  while (i < fields.size() && fields[i].find('=') == std::string::npos) out.bare.push_back(fields[i++]);
  out.params = parseAssignments(fields, i, line.origin, out.bare.empty() ? "" : out.bare[0]);
  return out;
}

bool isElement(const std::string& text) {
  return !text.empty() && std::isalpha(static_cast<unsigned char>(text[0]));
}

/// Refuses an `A` line of more than kMaxCodeModelFields whitespace-separated fields.
void checkFieldCount(const Line& line) {
  if (std::tolower(static_cast<unsigned char>(line.text[0])) != 'a') return;
  std::size_t fields = 0;
  bool inWord = false;
  for (char c : line.text) {
    const bool space = isSpace(c);
    if (!space && !inWord) ++fields;
    inWord = !space;
  }
  if (fields > kMaxCodeModelFields) {
    throw InputError(line.origin, keyword(line.text),
                     "code-model instance of " + std::to_string(fields) + " fields; at most " +
                         std::to_string(kMaxCodeModelFields) + " are accepted");
  }
}

/// Refuses a netlist without any element line: ngspice (39.3) crashes on one.
void checkHasElement(const Netlist& net, const std::filesystem::path& fileName) {
  bool inControl = false;
  for (const auto& line : net.body) {
    const std::string key = keyword(line.text);
    if (key == ".control") inControl = true;
    if (key == ".endc") inControl = false;
    if (!inControl && isElement(line.text)) return;
  }
  const int last = net.body.empty() ? 0 : net.body.back().origin.line;
  throw InputError({fileName.string(), last}, {},
                   "the netlist has no element (a device line such as `R1 a 0 1k`)");
}

/// Fills params/models and checks names, models and ECRAM node counts.
void analyse(Netlist& net) {
  net.params.clear();
  net.models.clear();
  for (const auto& line : net.body) {
    const std::string key = keyword(line.text);
    if (key == ".param") {
      for (auto& p : parseParamCard(line)) net.params.push_back(std::move(p));
    } else if (key == ".model") {
      net.models.push_back(parseModelCard(line));
    }
  }
  std::map<std::string, SourceLocation> modelSeen;
  for (const auto& m : net.models) {
    const auto [it, fresh] = modelSeen.emplace(m.name, m.origin);
    if (!fresh) {
      throw InputError(m.origin, m.name,
                       "model defined twice (first at " + it->second.str() + ")");
    }
  }
  std::vector<std::map<std::string, SourceLocation>> scopes(1);
  bool inControl = false;  // allowed .control blocks hold commands, not elements
  for (const auto& line : net.body) {
    const std::string key = keyword(line.text);
    if (key == ".control") inControl = true;
    if (key == ".endc") inControl = false;
    if (inControl) continue;
    if (key == ".subckt") {
      scopes.emplace_back();
      continue;
    }
    if (key == ".ends") {
      if (scopes.size() > 1) scopes.pop_back();
      continue;
    }
    if (!isElement(line.text)) continue;
    checkFieldCount(line);
    const std::string name = toLower(keyword(line.text));
    const auto [it, fresh] = scopes.back().emplace(name, line.origin);
    if (!fresh) {
      throw InputError(line.origin, keyword(line.text),
                       "duplicate instance name (first defined at " + it->second.str() + ")");
    }
    if (name[0] != 'n') continue;
    const ElementFields el = splitElement(line);
    if (el.bare.size() < 2) {
      throw InputError(line.origin, el.bare.empty() ? splitFields(line.text).front() : el.bare[0],
                       "instance has no nodes and no model");
    }
    const std::string model = toLower(el.bare.back());
    const ModelCard* card = net.findModel(model);
    if (card == nullptr) {
      throw InputError(line.origin, el.bare[0],
                       "model '" + echoToken(el.bare.back()) + "' is not defined (no .model card)");
    }
    if (card->type == "ecram" && el.bare.size() != 5) {
      throw InputError(line.origin, el.bare[0],
                       "an ecram instance needs 3 nodes (gate drain source), found " +
                           std::to_string(el.bare.size() - 2));
    }
  }
}

}  // namespace

std::vector<std::string> splitFields(std::string_view text) {
  std::vector<std::string> raw;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (char c : text) {
    if (quote != 0) {
      cur += c;
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      cur += c;
    } else if (c == '{' || c == '(') {
      ++depth;
      cur += c;
    } else if (c == '}' || c == ')') {
      if (depth > 0) --depth;
      cur += c;
    } else if (depth == 0 && (isSpace(c) || c == ',')) {
      if (!cur.empty()) raw.push_back(std::move(cur));
      cur.clear();
    } else if (depth == 0 && c == '=') {
      if (!cur.empty()) raw.push_back(std::move(cur));
      cur.clear();
      raw.emplace_back("=");
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) raw.push_back(std::move(cur));
  // Join "name" "=" "value" into "name=value".
  std::vector<std::string> out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == "=" && !out.empty() && i + 1 < raw.size()) {
      out.back() += "=" + raw[i + 1];
      ++i;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

std::optional<std::string> ModelCard::get(std::string_view key) const {
  const std::string k = toLower(key);
  for (const auto& a : params) {
    if (a.name == k) return a.value;
  }
  return std::nullopt;
}

std::vector<std::string> Netlist::lines() const {
  std::vector<std::string> out;
  out.reserve(body.size() + 1);
  out.push_back(title.text);
  for (const auto& l : body) out.push_back(l.text);
  return out;
}

std::vector<SourceLocation> Netlist::lineMap() const {
  std::vector<SourceLocation> out;
  out.reserve(body.size() + 1);
  out.push_back(title.origin);
  for (const auto& l : body) out.push_back(l.origin);
  return out;
}

const ModelCard* Netlist::findModel(std::string_view name) const {
  const std::string n = toLower(name);
  for (const auto& m : models) {
    if (m.name == n) return &m;
  }
  return nullptr;
}

void Netlist::setParam(std::string_view name, const std::string& value) {
  const std::string n = toLower(name);
  bool found = false;
  for (auto& line : body) {
    if (keyword(line.text) != ".param") continue;
    const auto fields = splitFields(line.text);
    auto assignments = parseAssignments(fields, 1, line.origin, ".param");
    bool hit = false;
    for (auto& a : assignments) {
      if (a.name == n) {
        a.value = value;
        hit = true;
      }
    }
    if (!hit) continue;
    found = true;
    std::string text = fields[0];
    for (const auto& a : assignments) text += " " + a.name + "=" + a.value;
    line.text = text;
  }
  if (!found) {
    throw InputError({}, std::string(name), "no .param of this name in the netlist");
  }
  for (auto& p : params) {
    if (p.name == n) p.value = value;
  }
}

Netlist parseNetlist(std::string_view text, const std::filesystem::path& fileName,
                     const ReadOptions& options) {
  Reader reader(options);
  Netlist net = reader.readTop(text, fileName);
  analyse(net);
  checkHasElement(net, fileName);
  return net;
}

Netlist readNetlist(const std::filesystem::path& file, const ReadOptions& options) {
  return parseNetlist(readInputFile(file, "netlist", "netlist"), file, options);
}

EcramSplit splitEcram(const Netlist& netlist) {
  EcramSplit out;
  out.netlist.title = netlist.title;
  int subcktDepth = 0;
  for (const auto& line : netlist.body) {
    const std::string key = keyword(line.text);
    if (key == ".subckt") ++subcktDepth;
    if (key == ".ends" && subcktDepth > 0) --subcktDepth;
    if (key == ".model") {
      ModelCard card = parseModelCard(line);
      if (card.type == "ecram") {
        out.models.push_back(std::move(card));
        continue;
      }
    }
    if (isElement(line.text) && std::tolower(static_cast<unsigned char>(line.text[0])) == 'n') {
      const ElementFields el = splitElement(line);
      const ModelCard* card = el.bare.size() >= 2 ? netlist.findModel(el.bare.back()) : nullptr;
      if (card != nullptr && card->type == "ecram") {
        if (subcktDepth > 0) {
          throw InputError(line.origin, el.bare[0],
                           "ecram instances inside .subckt are not supported; flatten the array");
        }
        if (el.bare.size() != 5) {
          throw InputError(line.origin, el.bare[0],
                           "an ecram instance needs 3 nodes (gate drain source)");
        }
        out.instances.push_back({el.bare[0], el.bare[1], el.bare[2], el.bare[3],
                                 toLower(el.bare[4]), el.params, line.origin});
        continue;
      }
    }
    out.netlist.body.push_back(line);
  }
  analyse(out.netlist);
  return out;
}

}  // namespace ecramsim::netlist
