#!/usr/bin/env python3
"""Runs llamaport on a catalogue of bad inputs made from the real stories260K files and prints,
for each, the exit status and the one-line message (a markdown table). The test suite asserts
these behaviours; this shows a reader what a user sees.

Usage: tools/bad_inputs.py LLAMAPORT [MODELS]   (MODELS default: $LLAMAPORT_SHARED/models or
../shared/models)."""
import os
import pathlib
import struct
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    exe = sys.argv[1]
    models = pathlib.Path(sys.argv[2] if len(sys.argv) == 3 else
                          os.path.join(os.environ.get("LLAMAPORT_SHARED", "../shared"), "models"))
    model = (models / "stories260K.bin").read_bytes()
    gguf = (models / "stories260K-F32.gguf").read_bytes()
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
        ("tokenizer of another model", [str(models / "stories260K.bin"), "-z", str(models / "tokenizer.bin")]),
        ("truncated tokenizer", [str(models / "stories260K.bin"), "-z",
                                 file("tok.bin", pathlib.Path(tok).read_bytes()[:3000])]),
        ("GGUF, wrong version", [file("v9.gguf", gguf[:4] + struct.pack("<I", 9) + gguf[8:])]),
        ("GGUF, truncated", [file("cut.gguf", gguf[: len(gguf) - 1000])]),
        ("GGUF, tensor count 2^40", [file("count.gguf", gguf[:8] + struct.pack("<Q", 1 << 40) + gguf[16:])]),
        ("prompt longer than the context", [str(models / "stories260K.bin"), "-z", tok, "-i", "x" * 600]),
        ("unknown kernel", [str(models / "stories260K.bin"), "-z", tok, "--kernel", "sse9"]),
        ("negative steps", [str(models / "stories260K.bin"), "-n", "-5"]),
        ("top-p outside [0,1]", [str(models / "stories260K.bin"), "-p", "2"]),
        ("unknown flag", [str(models / "stories260K.bin"), "--turbo", "1"]),
        ("hostile bytes in a flag", [str(models / "stories260K.bin"), "--kernel", "\x1b[2J"]),
    ]
    print("| bad input | exit | message |\n|---|---|---|")
    for name, args in cases:
        r = subprocess.run([exe] + args + (["-n", "4"] if "-n" not in args else []),
                           capture_output=True)
        lines = r.stderr.decode("utf-8", "replace").strip().splitlines()
        message = lines[-1] if lines else "(none)"
        message = message.replace(str(work) + "/", "").replace(str(work), "DIR").replace(str(models) + "/", "")
        print(f"| {name} | {r.returncode} | `{message}` |")


if __name__ == "__main__":
    main()
