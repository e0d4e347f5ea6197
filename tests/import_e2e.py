#!/usr/bin/env python3
"""End-to-end import test (ctest import-e2e): stories260K exported to the Hugging Face layout by
tools/export_hf.py and imported back by llamaport-convert.

    tests/import_e2e.py BIN_DIR SHARED_DIR WORK_DIR [EMULATOR...]   ($LLAMAPORT_SHARED overrides SHARED_DIR)

1. The fp32 checkpoint, exported as 2 safetensors shards and imported as F32, computes the same
   logits: llamaport-eval reports kl_divergence 0 and top1_agreement 1.
2. An AQLM 2x8 quantization of it (llamaport-quantize; random codes under an emulator), exported
   in the AQLM reference layout and imported, has every tensor of the original byte for byte,
   except ffn_down, whose 172 columns are not whole groups of 8 for Hugging Face's layout: it
   comes back decoded (F32).
Exits 77 (skipped) when SHARED_DIR/models/stories260K.bin is absent.
"""
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
import export_hf  # noqa: E402


def run(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def report(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def main():
    bin_dir, shared, work = sys.argv[1:4]
    shared = os.environ.get("LLAMAPORT_SHARED", shared)
    emulator = sys.argv[4:]
    model = os.path.join(shared, "models", "stories260K.bin")
    tokenizer = os.path.join(shared, "models", "tok512.bin")
    if not os.path.exists(model):
        print(f"skipped: {model} is absent")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tool = lambda name: emulator + [os.path.join(bin_dir, name)]  # noqa: E731
    export = [sys.executable, os.path.join(here, "..", "tools", "export_hf.py")]

    # 1. dense: the same logits
    hf = os.path.join(work, "hf")
    run(*export, model, hf, "--shards", "2")
    dense = os.path.join(work, "dense.gguf")
    run(*tool("llamaport-convert"), hf, dense, "-z", tokenizer, "--type", "f32")
    r = report(run(*tool("llamaport-eval"), dense, "--reference", model, "--tokens", "64", "--kernel", "scalar"))
    if float(r["kl_divergence"]) != 0 or float(r["top1_agreement"]) != 1:
        sys.exit(f"dense round trip: kl_divergence {r['kl_divergence']}, top1_agreement {r['top1_agreement']}")
    print("dense: kl_divergence 0, top1_agreement 1")

    # 2. AQLM 2x8: the same tensors
    aqlm = os.path.join(work, "aqlm.gguf")
    # Under an emulator, random codes: fitting takes minutes there, and the round trip checks the
    # layout, which is the same.
    fit = ["--random-codes"] if emulator else ["--iters", "2", "--threads", "1"]
    run(*tool("llamaport-quantize"), model, aqlm, "--type", "aqlm-2x8", "-z", tokenizer, *fit)
    hfq = os.path.join(work, "hf-aqlm")
    run(*export, aqlm, hfq)
    back = os.path.join(work, "aqlm-back.gguf")
    run(*tool("llamaport-convert"), hfq, back, "-z", tokenizer, "--type", "f32", "--embedding-type", "q8_0")
    _, original = export_hf.read_gguf(aqlm)
    _, imported = export_hf.read_gguf(back)
    decoded = {n for n in imported if n.endswith("ffn_down.weight")}
    for name, tensor in original.items():
        base = name.rsplit(".", 1)[0]
        if base in decoded:
            continue
        if imported.get(name) != tensor:
            sys.exit(f"aqlm round trip: tensor {name} differs")
    if len(decoded) != 5 or set(imported) - set(original) != decoded:
        sys.exit(f"aqlm round trip: unexpected tensors {sorted(set(imported) - set(original))}")
    print(f"aqlm 2x8: {len(original) - 15} tensors identical, 5 ffn_down decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
