#!/usr/bin/env python3
"""Writes a llama2.c legacy (v0) fp32 checkpoint as a Hugging Face LlamaForCausalLM directory.

    tools/export_hf.py MODEL.bin OUT_DIR [--dtype f32|f16|bf16] [--shards N]

OUT_DIR gets config.json and model.safetensors (or N shards with model.safetensors.index.json).
q_proj/k_proj rows go in Hugging Face's rotate-half order (llama2.c, like GGUF, interleaves each
head's rotation pairs), so `llamaport-convert OUT_DIR OUT.gguf -z tokenizer.bin` gives back the
model: the importer's end-to-end test. Standard library only.
"""
import argparse
import json
import os
import struct
import sys
from array import array


def read_v0(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack_from("<7i", data, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    floats = array("f")
    floats.frombytes(data[28:28 + (len(data) - 28) // 4 * 4])
    if sys.byteorder == "big":
        floats.byteswap()
    head = dim // heads
    kv_dim = head * kv_heads
    pos = 0

    def take(*shape):
        nonlocal pos
        n = 1
        for d in shape:
            n *= d
        if pos + n > len(floats):
            sys.exit(f"{path}: too short for a v0 checkpoint of this header")
        out = floats[pos:pos + n]
        pos += n
        return out

    w = {"embed": take(vocab, dim)}
    w["rms_att"] = [take(dim) for _ in range(layers)]
    w["wq"] = [take(dim, dim) for _ in range(layers)]
    w["wk"] = [take(kv_dim, dim) for _ in range(layers)]
    w["wv"] = [take(kv_dim, dim) for _ in range(layers)]
    w["wo"] = [take(dim, dim) for _ in range(layers)]
    w["rms_ffn"] = [take(dim) for _ in range(layers)]
    w["w1"] = [take(hidden, dim) for _ in range(layers)]
    w["w2"] = [take(dim, hidden) for _ in range(layers)]
    w["w3"] = [take(hidden, dim) for _ in range(layers)]
    w["rms_final"] = take(dim)
    take(seq_len, head // 2)  # the rope tables llama2.c once stored
    take(seq_len, head // 2)
    w["cls"] = w["embed"] if shared else take(vocab, dim)
    config = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
                  vocab=vocab, seq_len=seq_len, shared=shared)
    return config, w


def to_rotate_half(m, rows, cols, heads):
    """Rows of each head from interleaved pairs (2j, 2j+1) to halves (j, j + head/2)."""
    head = rows // heads
    half = head // 2
    out = array("f", bytes(4 * rows * cols))
    for h in range(heads):
        for t in range(2):
            for j in range(half):
                src = h * head + 2 * j + t
                dst = h * head + t * half + j
                out[dst * cols:(dst + 1) * cols] = m[src * cols:(src + 1) * cols]
    return out


def encode(values, dtype):
    if dtype == "f32":
        a = array("f", values)
        if sys.byteorder == "big":
            a.byteswap()
        return a.tobytes()
    if dtype == "f16":
        return struct.pack("<%de" % len(values), *values)
    # bf16: fp32 rounded to nearest even, top half
    out = bytearray()
    for u in struct.unpack("<%dI" % len(values), struct.pack("<%df" % len(values), *values)):
        out += struct.pack("<H", ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF)
    return bytes(out)


def safetensors_bytes(tensors):
    header, data = {}, bytearray()
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("out_dir")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    p.add_argument("--shards", type=int, default=1)
    a = p.parse_args()
    c, w = read_v0(a.model)
    dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[a.dtype]
    dim, hidden, head = c["dim"], c["hidden"], c["dim"] // c["heads"]
    kv_dim = head * c["kv_heads"]

    tensors = [("model.embed_tokens.weight", [c["vocab"], dim], w["embed"])]
    for l in range(c["layers"]):
        p_ = f"model.layers.{l}."
        tensors += [
            (p_ + "self_attn.q_proj.weight", [dim, dim], to_rotate_half(w["wq"][l], dim, dim, c["heads"])),
            (p_ + "self_attn.k_proj.weight", [kv_dim, dim], to_rotate_half(w["wk"][l], kv_dim, dim, c["kv_heads"])),
            (p_ + "self_attn.v_proj.weight", [kv_dim, dim], w["wv"][l]),
            (p_ + "self_attn.o_proj.weight", [dim, dim], w["wo"][l]),
            (p_ + "mlp.gate_proj.weight", [hidden, dim], w["w1"][l]),
            (p_ + "mlp.down_proj.weight", [dim, hidden], w["w2"][l]),
            (p_ + "mlp.up_proj.weight", [hidden, dim], w["w3"][l]),
            (p_ + "input_layernorm.weight", [dim], w["rms_att"][l]),
            (p_ + "post_attention_layernorm.weight", [dim], w["rms_ffn"][l]),
        ]
    tensors.append(("model.norm.weight", [dim], w["rms_final"]))
    if not c["shared"]:
        tensors.append(("lm_head.weight", [c["vocab"], dim], w["cls"]))

    os.makedirs(a.out_dir, exist_ok=True)
    # Norms stay fp32 whatever the dtype, as HF checkpoints often keep them.
    encoded = [(n, "F32" if len(s) == 1 else dtype, s, encode(v, "f32" if len(s) == 1 else a.dtype))
               for n, s, v in tensors]
    if a.shards <= 1:
        with open(os.path.join(a.out_dir, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(encoded))
    else:
        weight_map = {}
        per = (len(encoded) + a.shards - 1) // a.shards
        for i in range(a.shards):
            name = f"model-{i + 1:05d}-of-{a.shards:05d}.safetensors"
            part = encoded[i * per:(i + 1) * per]
            with open(os.path.join(a.out_dir, name), "wb") as f:
                f.write(safetensors_bytes(part))
            weight_map.update({t[0]: name for t in part})
        with open(os.path.join(a.out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": dim, "intermediate_size": hidden, "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "num_key_value_heads": c["kv_heads"],
        "vocab_size": c["vocab"], "max_position_embeddings": c["seq_len"],
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": c["shared"], "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype],
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
