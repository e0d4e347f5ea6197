// llamaport-tokenize: the token ids of a text under a vocabulary file, as llama.cpp's
// llama-tokenize prints them.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common.hpp"
#include "llamaport/error.hpp"
#include "llamaport/text_output.hpp"
#include "llamaport/tokenizer.hpp"

using namespace llamaport;

namespace {

const char* const usage_text =
    "Usage: llamaport-tokenize VOCAB [TEXT | --file F] [--no-bos] [--special] [--pieces] [-- TEXT]\n"
    "Prints the token ids of TEXT (or of file F, or of standard input) separated by spaces.\n"
    "VOCAB is a GGUF file (a model or a vocabulary), a Hugging Face tokenizer.json or a\n"
    "llama2.c tokenizer.bin.\n"
    "\n"
    "  --file F     tokenize the bytes of F\n"
    "  --no-bos     no BOS token at the start (default: as the vocabulary says)\n"
    "  --special    recognise special tokens such as <|eot_id|> in the text\n"
    "  --pieces     print each token as ID:'PIECE' (the piece as the vocabulary spells it)\n"
    "  --           what follows is the text, even if it starts with '-'\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 done, 1 bad input, 2 bad flags.\n";

struct Options {
    std::string vocab, text, file;
    bool text_given = false, bos = true, special = false, pieces = false;
};

Options parse(int argc, char** argv) {
    using tools::UsageError;
    Options o;
    tools::Flags flags(argc, argv);
    bool flags_done = false;  // after "--" every argument is positional (a text may start with '-')
    while (flags.next()) {
        const std::string& a = flags.current();
        if (!flags_done && a.size() > 1 && a[0] == '-') {
            if (a == "--") {
                flags_done = true;
            } else if (a == "-h" || a == "--help") {
                std::cout << usage_text;
                std::exit(0);
            } else if (a == "--file") {
                o.file = flags.value();
            } else if (a == "--no-bos") {
                o.bos = false;
            } else if (a == "--special") {
                o.special = true;
            } else if (a == "--pieces") {
                o.pieces = true;
            } else {
                throw UsageError{"unknown flag '" + a + "'"};
            }
        } else if (o.vocab.empty()) {
            o.vocab = a;
        } else if (!o.text_given) {
            o.text = a;
            o.text_given = true;
        } else {
            throw UsageError{"unexpected argument '" + a + "' (quote the text as one argument)"};
        }
    }
    if (o.vocab.empty()) throw UsageError{"no vocabulary given"};
    if (o.text_given && !o.file.empty()) throw UsageError{"give TEXT or --file, not both"};
    return o;
}

std::string read_all(std::istream& in, const std::string& name) {
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) throw Error(name + ": read failed");
    return s.str();
}

int run(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const Tokenizer tokenizer = Tokenizer::from_any_file(o.vocab);
    std::string text = o.text;
    if (!o.file.empty()) {
        std::ifstream in(o.file, std::ios::binary);
        if (!in) throw Error(o.file + ": cannot open");
        text = read_all(in, o.file);
    } else if (!o.text_given) {
        text = read_all(std::cin, "standard input");
    }
    const std::vector<int> ids = tokenizer.encode(text, o.bos, false, o.special);
    std::string line;
    for (size_t i = 0; i < ids.size(); i++) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
        if (o.pieces) line += ":'" + tokenizer.pieces()[size_t(ids[i])] + "'";
    }
    std::cout << (o.pieces ? escape_for_terminal(line) : line) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool("llamaport-tokenize", [&] { return run(argc, argv); });
}
