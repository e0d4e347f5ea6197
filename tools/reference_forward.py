#!/usr/bin/env python3
"""Expected logits for tests/test_golden.cpp, from an implementation of llama2.c's forward pass
that shares no code with llamaport: plain Python, every float32 step rounded on its own in
run.c's order (run.c for fp32 weights, runq.c for its v2 Q8 files, ggml's Q8_0 for GGUF).

The models are llamaport's random ones (src/random_model.cpp: xorshift64* from a seed, weights
uniform in +-1/sqrt(fan_in), norms 1), rebuilt here from the same seed; Q8 models are those
weights quantized as llamaport's writers do (runq.c's rule for v2 files, ggml's reference
quantizer for Q8_0 GGUF files).

Regenerate (after changing a case, or if the forward pass is meant to change):
    python3 tools/reference_forward.py > tests/data/golden/expected_logits.inc

exp, sin, cos and pow come from Python (double, then rounded to float), so they may differ from
a C library's expf, sinf, cosf and powf in the last bit. With --libm the C library's own are
called (through ctypes): the output then matches llamaport's scalar set on that host bit for bit.
"""

import math
import struct
import sys

MASK64 = (1 << 64) - 1
_F32 = struct.Struct("<f")
_F16 = struct.Struct("<e")


def f32(x):
    """x rounded to the nearest float32 (for +, -, *, / and sqrt of float32 operands, rounding
    the double result once more gives the correctly rounded float32 result)."""
    return _F32.unpack(_F32.pack(x))[0]


def f16(x):
    """x rounded to the nearest IEEE half, ties to even, as a float."""
    return _F16.unpack(_F16.pack(x))[0]


def round_half_away(v):
    """C's roundf."""
    return math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)


def round_half_even(v):
    return float(round(v))


EPS = f32(1e-5)


def float_function(f):
    return lambda *args: f32(f(*args))


# The elementary functions, each rounded to float (main() swaps in the C library's for --libm).
exp, sin, cos, power = (float_function(f) for f in (math.exp, math.sin, math.cos, math.pow))


def use_c_library():
    global exp, sin, cos, power
    import ctypes
    import ctypes.util
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    functions = []
    for name, arity in (("expf", 1), ("sinf", 1), ("cosf", 1), ("powf", 2)):
        f = getattr(libm, name)
        f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float] * arity
        functions.append(f)
    exp, sin, cos, power = functions


# --- llamaport's random models ------------------------------------------------------------------

class Xorshift:
    """run.c's random_u32 (xorshift64*), as src/sampler.cpp has it."""

    def __init__(self, seed):
        self.state = seed if seed else 1

    def u32(self):
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) & MASK64) >> 32

    def f32(self):
        return (self.u32() >> 8) / 16777216.0


def random_matrix(rng, rows, cols):
    scale = f32(1.0 / f32(math.sqrt(cols)))
    return [[f32((2.0 * rng.f32() - 1.0) * scale) for _ in range(cols)] for _ in range(rows)]


def random_model(cfg, seed, tied):
    """The fp32 weights of make_random_model(config, seed, tied)."""
    dim, hidden = cfg["dim"], cfg["hidden_dim"]
    head_size = dim // cfg["n_heads"]
    q_dim, kv_dim = head_size * cfg["n_heads"], head_size * cfg["n_kv_heads"]
    rng = Xorshift(seed)
    model = {"embedding": random_matrix(rng, cfg["vocab_size"], dim), "layers": []}
    shapes = [("wq", q_dim, dim), ("wk", kv_dim, dim), ("wv", kv_dim, dim), ("wo", dim, q_dim),
              ("w1", hidden, dim), ("w2", dim, hidden), ("w3", hidden, dim)]
    for _ in range(cfg["n_layers"]):
        model["layers"].append({name: random_matrix(rng, r, c) for name, r, c in shapes})
    model["classifier"] = model["embedding"] if tied else random_matrix(rng, cfg["vocab_size"], dim)
    return model


# --- weight formats: quantize a row, multiply a quantized row by a quantized input ---------------

def q8_g_quantize(x, group):
    """runq.c's quantize(): per group scale = max|x| / 127, q = roundf(x / scale)."""
    q, scales = [], []
    for g in range(0, len(x), group):
        values = x[g:g + group]
        scale = f32(max(abs(v) for v in values) / 127.0)
        scales.append(scale)
        q.extend(round_half_away(f32(v / scale)) if scale else 0 for v in values)
    return q, scales


def q8_g_dot(w, x, group):
    """runq.c's matmul for one row: per group an exact integer sum, then
    val += ((float)isum * w_scale) * x_scale."""
    (wq, ws), (xq, xs) = w, x
    acc = 0.0
    for i in range(len(ws)):
        isum = sum(a * b for a, b in zip(wq[i * group:(i + 1) * group],
                                         xq[i * group:(i + 1) * group]))
        acc = f32(acc + f32(f32(isum * ws[i]) * xs[i]))
    return acc


def q8_0_quantize_weights(x):
    """ggml's quantize_row_q8_0_ref: d = max|x| / 127 (kept as fp16), q = roundf(x * (1 / d))."""
    q, scales = [], []
    for b in range(0, len(x), 32):
        values = x[b:b + 32]
        d = f32(max(abs(v) for v in values) / 127.0)
        inverse = f32(1.0 / d) if d else 0.0
        scales.append(f16(d))
        q.extend(max(-127, min(127, round_half_away(f32(v * inverse)))) for v in values)
    return q, scales


def q8_0_quantize_input(x):
    """llama.cpp's x86 quantize_row_q8_0: d = max|x| / 127 as fp16, q = nearest-even(x * 127/max)."""
    q, scales = [], []
    for b in range(0, len(x), 32):
        values = x[b:b + 32]
        most = max(abs(v) for v in values)
        scales.append(f16(f32(most / 127.0)))
        inverse = f32(127.0 / most) if most else 0.0
        q.extend(round_half_even(f32(v * inverse)) for v in values)
    return q, scales


def q8_0_dot(w, x):
    """ggml_vec_dot_q8_0_q8_0 for one row: acc += (float)isum * (w_scale * x_scale)."""
    (wq, ws), (xq, xs) = w, x
    acc = 0.0
    for i in range(len(ws)):
        isum = sum(a * b for a, b in zip(wq[i * 32:(i + 1) * 32], xq[i * 32:(i + 1) * 32]))
        acc = f32(acc + f32(isum * f32(ws[i] * xs[i])))
    return acc


def f32_dot(w, x):
    acc = 0.0
    for a, b in zip(w, x):
        acc = f32(acc + f32(a * b))
    return acc


def dequantize(q, scales, block):
    return [f32(v * scales[i // block]) for i, v in enumerate(q)]


class Format:
    """How a model's matrices are stored and multiplied: quantize_matrix(rows) prepares the
    weights, matmul(matrix, x) gives the products for one fp32 input vector."""

    def __init__(self, kind, group=0):
        self.kind, self.group = kind, group

    def quantize_matrix(self, rows):
        if self.kind == "f32":
            return rows
        if self.kind == "q8_g":
            return [q8_g_quantize(r, self.group) for r in rows]
        return [q8_0_quantize_weights(r) for r in rows]

    def embedding_row(self, matrix, token):
        if self.kind == "f32":
            return list(matrix[token])
        q, scales = matrix[token]
        return dequantize(q, scales, self.group if self.kind == "q8_g" else 32)

    def matmul(self, matrix, x):
        if self.kind == "f32":
            return [f32_dot(row, x) for row in matrix]
        if self.kind == "q8_g":
            xq = q8_g_quantize(x, self.group)
            return [q8_g_dot(row, xq, self.group) for row in matrix]
        xq = q8_0_quantize_input(x)
        return [q8_0_dot(row, xq) for row in matrix]


# --- the forward pass: run.c's forward(), one position at a time -------------------------------

def rmsnorm(x, weight):
    ss = 0.0
    for v in x:
        ss = f32(ss + f32(v * v))
    ss = f32(f32(ss / len(x)) + EPS)
    ss = f32(1.0 / f32(math.sqrt(ss)))
    return [f32(w * f32(ss * v)) for w, v in zip(weight, x)]


def softmax(x):
    top = max(x)
    e = [exp(f32(v - top)) for v in x]
    total = 0.0
    for v in e:
        total = f32(total + v)
    return [f32(v / total) for v in e]


def rope(vec, pos, head_size, theta):
    """run.c's rotation of each (even, odd) pair by pos * theta^(-(i % head_size) / head_size)."""
    out = list(vec)
    for i in range(0, len(vec), 2):
        exponent = f32(float(i % head_size) / float(head_size))
        freq = f32(1.0 / power(theta, exponent))
        angle = f32(float(pos) * freq)
        fcr, fci = cos(angle), sin(angle)
        v0, v1 = vec[i], vec[i + 1]
        out[i] = f32(f32(v0 * fcr) - f32(v1 * fci))
        out[i + 1] = f32(f32(v0 * fci) + f32(v1 * fcr))
    return out


class Run:
    def __init__(self, cfg, weights, fmt):
        self.cfg, self.fmt = cfg, fmt
        self.embedding = fmt.quantize_matrix(weights["embedding"])
        self.layers = [{name: fmt.quantize_matrix(m) for name, m in layer.items()}
                       for layer in weights["layers"]]
        tied = weights["classifier"] is weights["embedding"]
        self.classifier = self.embedding if tied else fmt.quantize_matrix(weights["classifier"])
        self.keys = [[] for _ in self.layers]    # per layer, per position: kv_dim values
        self.values = [[] for _ in self.layers]

    def forward(self, token, pos):
        cfg, fmt = self.cfg, self.fmt
        dim = cfg["dim"]
        head_size = dim // cfg["n_heads"]
        kv_mul = cfg["n_heads"] // cfg["n_kv_heads"]
        ones = [1.0] * dim  # every norm weight of a random model
        x = fmt.embedding_row(self.embedding, token)
        for l, w in enumerate(self.layers):
            xb = rmsnorm(x, ones)
            q = rope(fmt.matmul(w["wq"], xb), pos, head_size, cfg["rope_theta"])
            k = rope(fmt.matmul(w["wk"], xb), pos, head_size, cfg["rope_theta"])
            self.keys[l].append(k)
            self.values[l].append(fmt.matmul(w["wv"], xb))
            attended = []
            for h in range(cfg["n_heads"]):
                qh = q[h * head_size:(h + 1) * head_size]
                kv = (h // kv_mul) * head_size
                scores = []
                for t in range(pos + 1):
                    score = 0.0
                    for a, b in zip(qh, self.keys[l][t][kv:kv + head_size]):
                        score = f32(score + f32(a * b))
                    scores.append(f32(score / f32(math.sqrt(head_size))))
                weights = softmax(scores)
                out = [0.0] * head_size
                for t in range(pos + 1):
                    v = self.values[l][t][kv:kv + head_size]
                    out = [f32(o + f32(weights[t] * vi)) for o, vi in zip(out, v)]
                attended.extend(out)
            x = [f32(a + b) for a, b in zip(x, fmt.matmul(w["wo"], attended))]
            xb = rmsnorm(x, ones)
            gate, up = fmt.matmul(w["w1"], xb), fmt.matmul(w["w3"], xb)
            hidden = []
            for g, u in zip(gate, up):
                silu = f32(g * f32(1.0 / f32(1.0 + exp(-g))))
                hidden.append(f32(silu * u))
            x = [f32(a + b) for a, b in zip(x, fmt.matmul(w["w2"], hidden))]
        return fmt.matmul(self.classifier, rmsnorm(x, ones))


# --- the cases ------------------------------------------------------------------------------------

def config(dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len=16):
    return {"dim": dim, "hidden_dim": hidden_dim, "n_layers": n_layers, "n_heads": n_heads,
            "n_kv_heads": n_kv_heads, "vocab_size": vocab_size, "seq_len": seq_len,
            "rope_theta": 10000.0}


def llama2c_group_size(cfg):
    """write_llama2c's default: the largest of 64, 32, ... dividing dim and hidden_dim."""
    g = 64
    while g > 1 and (cfg["dim"] % g or cfg["hidden_dim"] % g):
        g //= 2
    return g


# The token sequence every case runs, from position 0 (all below the smallest vocabulary).
TOKENS = [1, 7, 3, 30, 12, 5, 19, 2, 0, 25]

# name, format, config, seed, tied classifier
CASES = [
    ("f32_gqa_hs16", "f32", config(64, 172, 2, 4, 2, 48), 11, True),
    ("f32_hs64", "f32", config(128, 352, 2, 2, 2, 40), 12, False),
    ("f32_odd_hidden", "f32", config(32, 37, 3, 2, 1, 33), 13, False),
    ("f32_gqa_hs64", "f32", config(192, 300, 1, 3, 1, 35), 14, True),
    ("q8_g_gqa_hs16", "q8_g", config(64, 172, 2, 4, 2, 48), 21, True),
    ("q8_g_hs64", "q8_g", config(128, 352, 2, 2, 2, 40), 22, False),
    ("q8_g_gqa_g64", "q8_g", config(128, 384, 2, 8, 2, 40), 23, True),
    ("q8_0_gqa_hs16", "q8_0", config(64, 160, 2, 4, 1, 48), 31, False),
    ("q8_0_hs64", "q8_0", config(128, 352, 2, 2, 1, 40), 32, True),
]


def case_logits(kind, cfg, seed, tied):
    fmt = Format(kind, llama2c_group_size(cfg) if kind == "q8_g" else 0)
    run = Run(cfg, random_model(cfg, seed, tied), fmt)
    return [run.forward(token, pos) for pos, token in enumerate(TOKENS)]


def main():
    print("// Generated by tools/reference_forward.py (an independent plain-Python forward pass); do")
    print("// not edit. Regenerate: python3 tools/reference_forward.py > tests/data/golden/expected_logits.inc")
    print("// Logits of every position of golden_tokens, position after position, %.9g (float32 exact).")
    print("static const int golden_tokens[] = {%s};" % ", ".join(map(str, TOKENS)))
    for name, kind, cfg, seed, tied in CASES:
        print("static const float %s_logits[] = {" % name)
        for row in case_logits(kind, cfg, seed, tied):
            print("    " + ", ".join("%.9g" % v for v in row) + ",")
        print("};")
    print("static const GoldenCase golden_cases[] = {")
    for name, kind, cfg, seed, tied in CASES:
        print('    {"%s", GoldenFormat::%s, {%d, %d, %d, %d, %d, %d, %d}, %d, %s, %s_logits},' % (
            name, kind, cfg["dim"], cfg["hidden_dim"], cfg["n_layers"], cfg["n_heads"],
            cfg["n_kv_heads"], cfg["vocab_size"], cfg["seq_len"], seed,
            "true" if tied else "false", name))
    print("};")


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--libm"]):
        print(__doc__.strip())
        sys.exit(0 if sys.argv[1:] in (["--help"], ["-h"]) else 2)
    if sys.argv[1:] == ["--libm"]:
        use_c_library()
    main()
