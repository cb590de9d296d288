// Typed access to JSON object fields with errors that name the JSON path,
// so a bad config.json is reported as "linux.resources.memory.limit: expected
// an integer" rather than a bare nlohmann exception text.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace berth::oci {

using Json = nlohmann::json;

class Fields {
 public:
  // `object` must outlive this reader. A null/absent object reads as empty.
  Fields(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  static Result<Fields> Of(const Json& value, std::string path) {
    if (!value.is_object() && !value.is_null()) return Fail(path + ": expected an object");
    return Fields(value, std::move(path));
  }

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const Json* Find(std::string_view key) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // Reads an optional field into `out`; leaves `out` untouched when absent.
  template <class T>
  Result<void> Read(std::string_view key, T& out) const {
    const Json* v = Find(key);
    if (!v) return {};
    return Convert(*v, PathOf(key), out);
  }

  template <class T>
  Result<void> Read(std::string_view key, std::optional<T>& out) const {
    const Json* v = Find(key);
    if (!v) return {};
    T value{};
    BERTH_TRY(Convert(*v, PathOf(key), value));
    out = std::move(value);
    return {};
  }

  template <class T>
  Result<void> Require(std::string_view key, T& out) const {
    const Json* v = Find(key);
    if (!v) return Fail(PathOf(key) + ": required field is missing");
    return Convert(*v, PathOf(key), out);
  }

  static Result<void> Convert(const Json& v, const std::string& path, std::string& out) {
    if (!v.is_string()) return Fail(path + ": expected a string");
    out = v.get<std::string>();
    return {};
  }

  static Result<void> Convert(const Json& v, const std::string& path, bool& out) {
    if (!v.is_boolean()) return Fail(path + ": expected true or false");
    out = v.get<bool>();
    return {};
  }

  template <class T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
  static Result<void> Convert(const Json& v, const std::string& path, T& out) {
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Fail(path + ": " + std::to_string(u) + " is out of range");
      out = static_cast<T>(u);
      return {};
    }
    if (v.is_number_integer()) {
      auto s = v.get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        return Fail(path + ": " + std::to_string(s) + " must not be negative");
      } else {
        if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            s > static_cast<int64_t>(std::numeric_limits<T>::max()))
          return Fail(path + ": " + std::to_string(s) + " is out of range");
        out = static_cast<T>(s);
        return {};
      }
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      // Range first: casting a double outside int64_t (1e30, which nlohmann reads for
      // any integer past uint64_t) is undefined behaviour (found by the config_plan fuzzer).
      if (d >= -0x1p63 && d < 0x1p63 && d == static_cast<double>(static_cast<int64_t>(d))) {
        return Convert(Json(static_cast<int64_t>(d)), path, out);
      }
    }
    return Fail(path + ": expected an integer");
  }

  template <class T>
  static Result<void> Convert(const Json& v, const std::string& path, std::vector<T>& out) {
    if (!v.is_array()) return Fail(path + ": expected an array");
    out.clear();
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      T item{};
      BERTH_TRY(Convert(v[i], path + "[" + std::to_string(i) + "]", item));
      out.push_back(std::move(item));
    }
    return {};
  }

  template <class T>
  static Result<void> Convert(const Json& v, const std::string& path,
                              std::map<std::string, T>& out) {
    if (!v.is_object()) return Fail(path + ": expected an object");
    for (auto it = v.begin(); it != v.end(); ++it) {
      T item{};
      BERTH_TRY(Convert(it.value(), path + "." + it.key(), item));
      out[it.key()] = std::move(item);
    }
    return {};
  }

  // Structs: each has a `Result<void> ParseInto(const Fields&, T&)` overload,
  // found by argument-dependent lookup.
  template <class T>
    requires requires(const Fields& f, T& t) { ParseInto(f, t); }
  static Result<void> Convert(const Json& v, const std::string& path, T& out) {
    Fields f = BERTH_TRY(Of(v, path));
    return ParseInto(f, out);
  }

 private:
  const Json& object_;
  std::string path_;
};

}  // namespace berth::oci
