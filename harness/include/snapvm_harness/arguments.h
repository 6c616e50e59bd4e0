// arguments.h: command-line words as typed call arguments, for `snapvm run FILE FUNCTION ARGS...`:
// each word is parsed as the type the function's signature gives its parameter.
#pragma once

#include <string>

#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm::harness {

// Parses `word` as a value of type `t`: decimal or 0x-hex integers ("42", "-1", "0xff"), "true" /
// "false" (or 1 / 0), floats ("1.5", "-1e308"), any text for a string, hex digits for bytes
// ("deadbeef"). A word that is not a valid `t` is kArgumentMismatch naming the word: the argument
// does not match the function's signature.
Result<Value> parse_argument(ValueType t, const std::string& word);

}  // namespace snapvm::harness
