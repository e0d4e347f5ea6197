#!/usr/bin/env python3
"""Writes a llama2.c v0 checkpoint or a little-endian llamaport GGUF file as a Hugging Face
LlamaForCausalLM directory.

    tools/export_hf.py MODEL OUT_DIR [--dtype f32|f16|bf16] [--shards N]

OUT_DIR gets config.json and model.safetensors (or N shards with model.safetensors.index.json).
q_proj/k_proj rows go in Hugging Face's rotate-half order (llama2.c, like GGUF, interleaves each
head's rotation pairs), so `llamaport-convert OUT_DIR OUT.gguf -z tokenizer.bin` gives back the
model: the importer's end-to-end test. AQLM matrices of a GGUF file (llamaport-quantize --type
aqlm-*) go out in the AQLM reference layout (out_group_size 1; scales as F32, where published
checkpoints have fp16, so that nothing is rounded); one whose columns are not whole groups (the
GGUF layout pads the last group, Hugging Face's cannot) is decoded and listed in
linear_weights_not_to_quantize. Dense GGUF tensors (F32, F16, BF16, Q8_0) are decoded to --dtype.
Standard library only.
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
    """Rows of each head from interleaved pairs (2j, 2j+1) to halves (j, j + head/2); m is a
    flat sequence (floats, or bytes with cols bytes per row)."""
    head = rows // heads
    half = head // 2
    raw = isinstance(m, (bytes, bytearray))
    out = bytearray(len(m)) if raw else array("f", bytes(4 * rows * cols))
    for h in range(heads):
        for t in range(2):
            for j in range(half):
                src = h * head + 2 * j + t
                dst = h * head + t * half + j
                out[dst * cols:(dst + 1) * cols] = m[src * cols:(src + 1) * cols]
    return bytes(out) if raw else out


# ---- GGUF (little-endian), enough for llamaport's own files ----

SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
TYPE_BYTES = {0: (1, 4), 1: (1, 2), 8: (32, 34), 24: (1, 1), 25: (1, 2), 30: (1, 2)}  # values, bytes per block


def read_gguf(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"GGUF":
        sys.exit(f"{path}: not a GGUF file")
    pos = 4
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, pos)
    if version not in (2, 3):
        sys.exit(f"{path}: GGUF version {version} (only little-endian v2/v3 files)")
    pos += 20

    def string():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8 + n
        return data[pos - n:pos].decode("utf-8", "replace")

    def value(t):
        nonlocal pos
        if t == 8:
            return string()
        if t == 9:
            (et, n) = struct.unpack_from("<IQ", data, pos)
            pos += 12
            return [value(et) for _ in range(n)]
        fmt = "<" + SCALAR[t]
        (v,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v

    meta = {}
    for _ in range(n_kv):
        key = string()
        (t,) = struct.unpack_from("<I", data, pos)
        pos += 4
        meta[key] = value(t)
    infos = []
    for _ in range(n_tensors):
        name = string()
        (n_dims,) = struct.unpack_from("<I", data, pos)
        pos += 4
        ne = struct.unpack_from("<%dQ" % n_dims, data, pos)
        pos += 8 * n_dims
        t, offset = struct.unpack_from("<IQ", data, pos)
        pos += 12
        infos.append((name, list(ne), t, offset))
    align = meta.get("general.alignment", 32)
    start = (pos + align - 1) // align * align
    tensors = {}
    for name, ne, t, offset in infos:
        n = 1
        for d in ne:
            n *= d
        if t not in TYPE_BYTES:
            sys.exit(f"{path}: tensor {name} has ggml type {t}, which this script does not read")
        values, size = TYPE_BYTES[t]
        tensors[name] = (ne, t, data[start + offset:start + offset + n // values * size])
    return meta, tensors


def gguf_floats(ne, t, raw):
    """A dense GGUF tensor as a flat array of floats."""
    n = len(raw) // TYPE_BYTES[t][1] * TYPE_BYTES[t][0]
    if t == 0:
        return array("f", struct.unpack("<%df" % n, raw))
    if t == 1:
        return array("f", struct.unpack("<%de" % n, raw))
    if t == 30:
        return array("f", struct.unpack("<%df" % n, b"".join(b"\0\0" + raw[i:i + 2] for i in range(0, len(raw), 2))))
    out = array("f")
    for b in range(0, len(raw), 34):  # Q8_0: fp16 scale, 32 int8
        (d,) = struct.unpack_from("<e", raw, b)
        out.extend(d * q for q in struct.unpack_from("<32b", raw, b + 2))
    return out


def aqlm_decoded(codes, books, scales, rows, cols, m_count, bits, g, book_t):
    """W[r][c] = scales[r] * sum_m codebooks[m][codes[r][c // g][m]][c % g] (fp32, m ascending)."""
    groups = (cols + g - 1) // g
    entries = 1 << bits
    width = 1 if bits <= 8 else 2
    cb = gguf_floats(None, book_t, books)
    code = struct.unpack("<%d%s" % (len(codes) // width, "B" if width == 1 else "H"), codes)
    out = array("f", bytes(4 * rows * cols))
    for r in range(rows):
        for c in range(cols):
            total = array("f", [0.0])
            for m in range(m_count):
                total[0] += cb[(m * entries + code[(r * groups + c // g) * m_count + m]) * g + c % g]
            out[r * cols + c] = array("f", [scales[r] * total[0]])[0]
    return out


def from_gguf(path):
    meta, t = read_gguf(path)
    c = dict(dim=meta["llama.embedding_length"], hidden=meta["llama.feed_forward_length"],
             layers=meta["llama.block_count"], heads=meta["llama.attention.head_count"],
             kv_heads=meta.get("llama.attention.head_count_kv", meta["llama.attention.head_count"]),
             vocab=len(meta["tokenizer.ggml.tokens"]), seq_len=meta["llama.context_length"],
             shared="output.weight" not in t and "output.weight.codes" not in t,
             eps=meta.get("llama.attention.layer_norm_rms_epsilon", 1e-5),
             theta=meta.get("llama.rope.freq_base", 10000.0))
    aqlm = None
    if "aqlm.bits" in meta:
        aqlm = dict(codebooks=meta["aqlm.codebooks"], bits=meta["aqlm.bits"], g=meta["aqlm.group_size"])
    return c, t, aqlm


def gguf_tensors(c, t, aqlm):
    """(name, shape, floats or raw bytes with dtype) in Hugging Face's names and row order."""
    dim, hidden, head = c["dim"], c["hidden"], c["dim"] // c["heads"]
    kv_dim = head * c["kv_heads"]
    out, dense_layers = [], []

    def dense(hf, name):
        ne, typ, raw = t[name]
        shape = list(reversed(ne)) if len(ne) > 1 else ne
        out.append((hf, shape, gguf_floats(ne, typ, raw), None))

    def linear(hf, name, rows, cols, heads):
        if name + ".codes" not in t:
            ne, typ, raw = t[name]
            v = gguf_floats(ne, typ, raw)
            out.append((hf + ".weight", [rows, cols], to_rotate_half(v, rows, cols, heads) if heads else v, None))
            return
        m_count, bits, g = aqlm["codebooks"], aqlm["bits"], aqlm["g"]
        codes = t[name + ".codes"][2]
        book_ne, book_t, books = t[name + ".codebooks"]
        scales = gguf_floats(*t[name + ".scales"])
        if cols % g:
            dense_layers.append(hf)
            v = aqlm_decoded(codes, books, scales, rows, cols, m_count, bits, g, book_t)
            out.append((hf + ".weight", [rows, cols], to_rotate_half(v, rows, cols, heads) if heads else v, None))
            return
        width = 1 if bits <= 8 else 2
        row_bytes = cols // g * m_count * width
        if heads:
            codes = to_rotate_half(codes, rows, row_bytes, heads)
            scales = to_rotate_half(scales, rows, 1, heads)
        out.append((hf + ".codes", [rows, cols // g, m_count], codes, "I8" if width == 1 else "I16"))
        out.append((hf + ".codebooks", [m_count, 1 << bits, 1, g], books, "F16" if book_t == 1 else "F32"))
        out.append((hf + ".scales", [rows, 1, 1, 1], scales, None))

    dense("model.embed_tokens.weight", "token_embd.weight")
    for l in range(c["layers"]):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        linear(p + "self_attn.q_proj", b + "attn_q.weight", dim, dim, c["heads"])
        linear(p + "self_attn.k_proj", b + "attn_k.weight", kv_dim, dim, c["kv_heads"])
        linear(p + "self_attn.v_proj", b + "attn_v.weight", kv_dim, dim, 0)
        linear(p + "self_attn.o_proj", b + "attn_output.weight", dim, dim, 0)
        linear(p + "mlp.gate_proj", b + "ffn_gate.weight", hidden, dim, 0)
        linear(p + "mlp.down_proj", b + "ffn_down.weight", dim, hidden, 0)
        linear(p + "mlp.up_proj", b + "ffn_up.weight", hidden, dim, 0)
        dense(p + "input_layernorm.weight", b + "attn_norm.weight")
        dense(p + "post_attention_layernorm.weight", b + "ffn_norm.weight")
    dense("model.norm.weight", "output_norm.weight")
    if not c["shared"]:
        dense("lm_head.weight", "output.weight")
    return out, dense_layers


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
    dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[a.dtype]
    with open(a.model, "rb") as f:
        is_gguf = f.read(4) == b"GGUF"
    if is_gguf:
        c, t, aqlm = from_gguf(a.model)
        listed, dense_layers = gguf_tensors(c, t, aqlm)
        # Norms stay fp32; raw tensors (codes, codebooks) keep their dtype.
        encoded = [(n, raw_dtype or ("F32" if len(s) == 1 or n.endswith(".scales") else dtype), s,
                    v if raw_dtype else encode(v, "f32" if len(s) == 1 or n.endswith(".scales") else a.dtype))
                   for n, s, v, raw_dtype in listed]
        write(a, c, encoded, aqlm, dense_layers)
        return
    c, w = read_v0(a.model)
    c.update(eps=1e-5, theta=10000.0)
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

    # Norms stay fp32 whatever the dtype, as HF checkpoints often keep them.
    encoded = [(n, "F32" if len(s) == 1 else dtype, s, encode(v, "f32" if len(s) == 1 else a.dtype))
               for n, s, v in tensors]
    write(a, c, encoded, None, [])


def write(a, c, encoded, aqlm, dense_layers):
    os.makedirs(a.out_dir, exist_ok=True)
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
    dim, hidden = c["dim"], c["hidden"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": dim, "intermediate_size": hidden, "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "num_key_value_heads": c["kv_heads"],
        "vocab_size": c["vocab"], "max_position_embeddings": c["seq_len"],
        "rms_norm_eps": c["eps"], "rope_theta": c["theta"], "hidden_act": "silu",
        "tie_word_embeddings": c["shared"], "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype],
    }
    if aqlm:
        config["quantization_config"] = {
            "quant_method": "aqlm", "nbits_per_codebook": aqlm["bits"], "num_codebooks": aqlm["codebooks"],
            "in_group_size": aqlm["g"], "out_group_size": 1,
            "linear_weights_not_to_quantize": ["model.embed_tokens.weight", "lm_head.weight"] +
                                              [d + ".weight" for d in dense_layers]}
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
