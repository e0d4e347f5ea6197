// The safetensors reader: every dtype read back value by value, sharded checkpoints, and each kind
// of broken file refused with one line naming the file.
#include <catch2/catch.hpp>

#include "import/safetensors.hpp"
#include "import_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;
using safetensors::DType;

namespace {

std::string file_error(const std::string& bytes) {
    return error_of([&] { safetensors::File(own_memory(bytes, "m.safetensors")); });
}

// A file with one tensor entry of the given JSON, over `data_bytes` zero bytes.
std::string with_header(const std::string& header, size_t data_bytes) {
    std::string out(8, '\0');
    out[0] = char(header.size() & 0xFF);
    out[1] = char(header.size() >> 8);
    return out + header + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("safetensors: every dtype reads back", "[import]") {
    const std::string bytes = safetensors::write_file({
        tensor("a.f32", DType::F32, {2, 2}, f32_bytes({1.5f, -2, 3e-8f, 65504})),
        tensor("b.f16", DType::F16, {3}, f16_bytes({0.5f, -1, 2048})),
        tensor("c.bf16", DType::BF16, {2}, bf16_bytes({-3, 1e30f})),
        tensor("d.i8", DType::I8, {4}, int_bytes({0, 127, -128, -1}, 1)),
        tensor("e.i16", DType::I16, {2}, int_bytes({-1, 32767}, 2)),
        tensor("f.i32", DType::I32, {1}, int_bytes({-123456789}, 4)),
        tensor("g.empty", DType::F32, {0, 4}, ""),
    });
    const safetensors::File f(own_memory(bytes, "m.safetensors"));
    REQUIRE(f.tensors().size() == 7);
    const safetensors::Tensor& a = *f.find("a.f32");
    CHECK(a.shape == std::vector<uint64_t>{2, 2});
    CHECK(a.shape_text() == "[2, 2]");
    CHECK(a.elements == 4);
    CHECK(a.f32(0) == 1.5f);
    CHECK(a.f32(2) == 3e-8f);
    CHECK(a.f32(3) == 65504.0f);
    const safetensors::Tensor& b = *f.find("b.f16");
    CHECK(b.f32(0) == 0.5f);
    CHECK(b.f32(1) == -1.0f);
    CHECK(b.f32(2) == 2048.0f);
    const safetensors::Tensor& c = *f.find("c.bf16");
    CHECK(c.f32(0) == -3.0f);
    CHECK(c.f32(1) == Approx(1e30f).epsilon(1.0 / 128));  // bfloat16 keeps 8 significant bits
    const safetensors::Tensor& d = *f.find("d.i8");
    CHECK(d.integer(1) == 127);
    CHECK(d.integer(2) == -128);
    CHECK(d.integer(3) == -1);
    CHECK(f.find("e.i16")->integer(0) == -1);
    CHECK(f.find("e.i16")->integer(1) == 32767);
    CHECK(f.find("f.i32")->integer(0) == -123456789);
    CHECK(f.find("g.empty")->elements == 0);
    CHECK(f.find("missing") == nullptr);
}

TEST_CASE("safetensors: metadata strings are kept", "[import]") {
    const std::string header =
        R"({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
    const safetensors::File f(own_memory(with_header(header, 4), "m.safetensors"));
    REQUIRE(f.metadata().size() == 1);
    CHECK(f.metadata()[0] == std::make_pair(std::string("format"), std::string("pt")));
}

TEST_CASE("safetensors: broken files give one line naming the file", "[import]") {
    CHECK(file_error("abc") == "m.safetensors: too short for a safetensors file (3 bytes)");
    CHECK(file_error(std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F", 8) + "{}") ==
          "m.safetensors: header length 9223372036854775807 is absurd (limit 104857600)");
    CHECK(file_error(std::string("\x10\0\0\0\0\0\0\0", 8) + "{}") ==
          "m.safetensors: header length 16 runs past the end of the file (10 bytes)");
    CHECK(file_error(with_header(R"({"w": {"dtype": "F32" "shape": [1]}})", 0)) ==
          "m.safetensors header: expected ',' or '}', found '\"' at byte 22");
    CHECK(file_error(with_header("[]", 0)) == "m.safetensors: header is an array, not an object");
    const auto entry = [](const std::string& dtype, const std::string& shape,
                          const std::string& offsets) {
        return R"({"w": {"dtype": ")" + dtype + R"(", "shape": )" + shape +
               R"(, "data_offsets": )" + offsets + "}}";
    };
    CHECK(file_error(with_header(entry("Q4", "[1]", "[0, 1]"), 1)) ==
          "m.safetensors: tensor 'w' has dtype 'Q4', which this reader does not know");
    CHECK(file_error(with_header(entry("F32", "[2, 3]", "[0, 20]"), 24)) ==
          "m.safetensors: tensor 'w' of shape [2, 3] and dtype F32 needs 24 bytes, its "
          "data_offsets span 20");
    CHECK(file_error(with_header(entry("F32", "[2]", "[0, 8]"), 4)) ==
          "m.safetensors: tensor 'w' data_offsets [0, 8] are outside the data section (4 bytes)");
    CHECK(file_error(with_header(entry("F32", "[2]", "[8, 0]"), 8)) ==
          "m.safetensors: tensor 'w' data_offsets [8, 0] are outside the data section (8 bytes)");
    CHECK(file_error(with_header(entry("F32", "[-2]", "[0, 8]"), 8)) ==
          "m.safetensors: tensor 'w' shape entry is not a non-negative whole number");
    CHECK(file_error(
              with_header(entry("F32", "[4294967296, 4294967296, 4294967296]", "[0, 8]"), 8)) ==
          "m.safetensors: tensor 'w' of shape [4294967296, 4294967296, 4294967296] and dtype F32 "
          "needs "
          "more bytes than the file has, its data_offsets span 8");
    CHECK(file_error(with_header(R"({"w": {"dtype": "F32", "shape": [1]}})", 4)) ==
          "m.safetensors: tensor 'w' has no data_offsets [begin, end]");
    CHECK(file_error(with_header(R"({"w": 3})", 4)) ==
          "m.safetensors: tensor 'w' is a number, not an object");
    CHECK(file_error(with_header(
              R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F16", "shape": [2], "data_offsets": [6, 10]}})",
              10)) == "m.safetensors: tensors 'a' and 'b' overlap");
    CHECK(file_error(with_header(
              R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                  "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
              8)) == "m.safetensors: tensor 'a' appears twice");
    CHECK(file_error(with_header(std::string(20, '[') + std::string(20, ']'), 0)) ==
          "m.safetensors header: nesting deeper than 16 levels at byte 16");
}

TEST_CASE("safetensors: a sharded checkpoint finds each tensor in its shard", "[import]") {
    TempDir dir;
    dir.write("model-1.safetensors",
              safetensors::write_file({tensor("a", DType::F32, {1}, f32_bytes({1})),
                                       tensor("b", DType::F32, {1}, f32_bytes({2}))}));
    dir.write("model-2.safetensors",
              safetensors::write_file({tensor("c", DType::F16, {1}, f16_bytes({3}))}));
    dir.write("model.safetensors.index.json",
              R"({"metadata": {"total_size": 10}, "weight_map": {"a": "model-1.safetensors",
                 "c": "model-2.safetensors", "b": "model-1.safetensors"}})");
    const safetensors::Checkpoint ck(dir.path());
    CHECK(ck.require("a").f32(0) == 1.0f);
    CHECK(ck.require("b").f32(0) == 2.0f);
    CHECK(ck.require("c").f32(0) == 3.0f);
    CHECK(ck.require("c").file == dir.file("model-2.safetensors"));
    CHECK(ck.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(error_of([&] { ck.require("d"); }) ==
          dir.file("model.safetensors.index.json") + ": no tensor 'd'");
}

TEST_CASE("safetensors: bad checkpoints are refused", "[import]") {
    TempDir dir;
    CHECK(error_of([&] { safetensors::Checkpoint ck(dir.path()); }) ==
          dir.path() + ": no model.safetensors or model.safetensors.index.json");
    dir.write("model-1.safetensors",
              safetensors::write_file({tensor("a", DType::F32, {1}, f32_bytes({1}))}));
    const std::string index = dir.file("model.safetensors.index.json");
    dir.write("model.safetensors.index.json", R"({"weight_map": {"z": "model-1.safetensors"}})");
    CHECK(error_of([&] { safetensors::Checkpoint ck(dir.path()); }) ==
          index + ": tensor 'z' is not in " + dir.file("model-1.safetensors"));
    dir.write("model.safetensors.index.json", R"({"weight_map": {"a": "../model-1.safetensors"}})");
    CHECK(error_of([&] { safetensors::Checkpoint ck(dir.path()); }) ==
          index + ": shard name '../model-1.safetensors' is not a plain file name");
    dir.write("model.safetensors.index.json", R"({"weights": {}})");
    CHECK(error_of([&] { safetensors::Checkpoint ck(dir.path()); }) ==
          index + ": no \"weight_map\" object");
    dir.write("model-2.safetensors",
              safetensors::write_file({tensor("a", DType::F32, {1}, f32_bytes({1}))}));
    dir.write("model.safetensors.index.json",
              R"({"weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}})");
    CHECK(error_of([&] { safetensors::Checkpoint ck(dir.path()); }) ==
          dir.file("model-2.safetensors") + ": tensor 'a' is also in " +
              dir.file("model-1.safetensors"));
}
