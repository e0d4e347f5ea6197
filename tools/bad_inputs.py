#!/usr/bin/env python3
"""Runs llamaport on a catalogue of bad inputs made from the real stories260K files and prints,
for each, the exit status and the one-line message (a markdown table). The test suite asserts
these behaviours; this shows a reader what a user sees.

Usage: tools/bad_inputs.py [LLAMAPORT] [MODELS]
  LLAMAPORT  the llamaport binary (default: build/release/llamaport)
  MODELS     a directory holding stories260K.bin and tok512.bin (default: the first that does of
             $LLAMAPORT_MODELS, models/, $LLAMAPORT_SHARED/models, ../shared/models); the cases
             that need stories260K-F32.gguf or tokenizer.bin are left out when it lacks them.
Exit status: 0 done, 1 a file is missing, 2 bad arguments."""
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def fail(message, status):
    print(f"bad_inputs.py: {message}", file=sys.stderr)
    sys.exit(status)


def model_directories():
    """Where the story command and the test suite keep the models, in that order."""
    candidates = []
    if os.environ.get("LLAMAPORT_MODELS"):
        candidates.append(pathlib.Path(os.environ["LLAMAPORT_MODELS"]))
    candidates.append(ROOT / "models")
    if os.environ.get("LLAMAPORT_SHARED"):
        candidates.append(pathlib.Path(os.environ["LLAMAPORT_SHARED"]) / "models")
    candidates.append(ROOT.parent / "shared" / "models")
    return candidates


def main():
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    if len(args) > 2 or any(a.startswith("-") for a in args):
        fail(f"expected [LLAMAPORT] [MODELS], got {' '.join(args)} (see tools/bad_inputs.py --help)", 2)
    exe = os.path.abspath(args[0]) if args else str(ROOT / "build" / "release" / "llamaport")
    if not os.access(exe, os.X_OK):
        fail(f"{exe}: not an executable (build it: cmake --preset release && "
             "cmake --build --preset release --target llamaport)", 1)
    if len(args) == 2:
        models = pathlib.Path(args[1]).resolve()
        if not (models / "stories260K.bin").is_file() or not (models / "tok512.bin").is_file():
            fail(f"{models}: holds no stories260K.bin and tok512.bin", 1)
    else:
        found = [d.resolve() for d in model_directories()
                 if (d / "stories260K.bin").is_file() and (d / "tok512.bin").is_file()]
        if not found:
            fail("stories260K.bin and tok512.bin not found in " +
                 ", ".join(str(d) for d in model_directories()) + " (run models/download.sh)", 1)
        models = found[0]
    model = (models / "stories260K.bin").read_bytes()
    gguf_path = models / "stories260K-F32.gguf"
    gguf = gguf_path.read_bytes() if gguf_path.is_file() else None
    tok = str(models / "tok512.bin")
    work = pathlib.Path(tempfile.mkdtemp(prefix="llamaport-bad-"))

    def header(**fields):
        """stories260K.bin with some of its seven int32 header fields replaced."""
        names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]
        values = list(struct.unpack("<7i", model[:28]))
        for name, value in fields.items():
            values[names.index(name)] = value
        return struct.pack("<7i", *values) + model[28:]

    def file(name, data):
        path = work / name
        path.write_bytes(data)
        return str(path)

    cases = [
        ("missing file", ["/nonexistent/model.bin"]),
        ("a directory", [str(work)]),
        ("empty file", [file("empty.bin", b"")]),
        ("truncated checkpoint", [file("half.bin", model[: len(model) // 2])]),
        ("trailing bytes", [file("long.bin", model + b"\0" * 12)]),
        ("unknown checkpoint version", [file("v7.bin", struct.pack("<Ii", 0x616B3432, 7) + model)]),
        ("dim = 0", [file("dim0.bin", header(dim=0))]),
        ("negative n_layers", [file("layers.bin", header(n_layers=-3))]),
        ("vocab_size = 2^30", [file("vocab.bin", header(vocab_size=1 << 30))]),
        ("vocab_size = INT32_MIN", [file("vocabmin.bin", header(vocab_size=-(1 << 31)))]),
        ("n_heads does not divide dim", [file("heads.bin", header(n_heads=7))]),
        ("n_kv_heads does not divide n_heads", [file("kv.bin", header(n_kv_heads=3))]),
        ("huge seq_len", [file("seq.bin", header(seq_len=1 << 30))]),
        ("truncated tokenizer", [str(models / "stories260K.bin"), "-z",
                                 file("tok.bin", pathlib.Path(tok).read_bytes()[:3000])]),
        ("a tokenizer given as the model", [tok]),
        ("the model given as the tokenizer", [str(models / "stories260K.bin"), "-z", str(models / "stories260K.bin")]),
        ("a text file given as the model", [file("prompt.txt", b"Once upon a time\n")]),
        ("a PyTorch checkpoint", [file("model.pt", b"PK\x03\x04" + bytes(100))]),
        ("no tokenizer given", [str(models / "stories260K.bin")]),
        ("prompt longer than the context", [str(models / "stories260K.bin"), "-z", tok, "-i", "x" * 600]),
        ("unknown kernel", [str(models / "stories260K.bin"), "-z", tok, "--kernel", "sse9"]),
        ("negative steps", [str(models / "stories260K.bin"), "-n", "-5"]),
        ("top-p outside [0,1]", [str(models / "stories260K.bin"), "-p", "2"]),
        ("unknown flag", [str(models / "stories260K.bin"), "--turbo", "1"]),
        ("hostile bytes in a flag", [str(models / "stories260K.bin"), "--kernel", "\x1b[2J"]),
    ]
    if (models / "tokenizer.bin").is_file():
        cases.append(("tokenizer of another model",
                      [str(models / "stories260K.bin"), "-z", str(models / "tokenizer.bin")]))
    if gguf:
        cases += [
            ("GGUF, wrong version", [file("v9.gguf", gguf[:4] + struct.pack("<I", 9) + gguf[8:])]),
            ("GGUF, truncated", [file("cut.gguf", gguf[: len(gguf) - 1000])]),
            ("GGUF, tensor count 2^40", [file("count.gguf", gguf[:8] + struct.pack("<Q", 1 << 40) + gguf[16:])]),
        ]
    print("| bad input | exit | message |\n|---|---|---|")
    for name, args in cases:
        r = subprocess.run([exe] + args + (["-n", "4"] if "-n" not in args else []),
                           capture_output=True, cwd=work)  # a directory without tokenizer.bin
        lines = r.stderr.decode("utf-8", "replace").strip().splitlines()
        message = lines[-1] if lines else "(none)"
        message = message.replace(str(work) + "/", "").replace(str(work), "DIR").replace(str(models) + "/", "")
        print(f"| {name} | {r.returncode} | `{message}` |")


if __name__ == "__main__":
    main()
