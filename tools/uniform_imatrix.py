#!/usr/bin/env python3
"""Writes an importance matrix of ones for every matrix of a GGUF file.

Usage: tools/uniform_imatrix.py MODEL.gguf OUT.dat

llama.cpp's llama-quantize makes its IQ1/IQ2 types only with an importance matrix (--imatrix).
For a model with random weights (llamaport-convert --random) no input matters more than another,
so ones are the honest matrix; the file then quantizes to IQ2_XXS etc. for speed comparisons of
the same shape, e.g.

  tools/uniform_imatrix.py r8b-q8_0.gguf ones.dat
  llama-quantize --allow-requantize --imatrix ones.dat r8b-q8_0.gguf r8b-iq2_xxs.gguf IQ2_XXS

The output is llama.cpp's imatrix .dat layout: an int32 count, then per matrix its name (int32
length + bytes), the number of calls (int32, 1), the number of values (int32, the matrix's
input width) and that many float32 values, then the number of chunks and the dataset's name.
"""
import struct
import sys

SCALARS = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
STRING, ARRAY = 8, 9


class BadFile(Exception):
    pass


def matrix_widths(path):
    """Every 2-D '.weight' tensor's name and row width (its first dimension)."""
    with open(path, 'rb') as f:
        def read(fmt):
            size = struct.calcsize('<' + fmt)
            data = f.read(size)
            if len(data) != size:
                raise BadFile('truncated')
            return struct.unpack('<' + fmt, data)[0]

        def string():
            length = read('Q')
            if length > 1 << 20:
                raise BadFile(f'a string of {length} bytes')
            data = f.read(length)
            if len(data) != length:
                raise BadFile('truncated')
            return data.decode('utf-8', 'replace')

        def skip(kind):
            if kind in SCALARS:
                read(SCALARS[kind])
            elif kind == STRING:
                string()
            elif kind == ARRAY:
                inner, count = read('I'), read('Q')
                for _ in range(count):
                    skip(inner)
            else:
                raise BadFile(f'unknown metadata type {kind}')

        if f.read(4) != b'GGUF':
            raise BadFile('not a GGUF file')
        version = read('I')
        if version not in (2, 3):
            raise BadFile(f'GGUF version {version} (2 or 3 expected)')
        tensors, entries = read('Q'), read('Q')
        for _ in range(entries):
            string()
            skip(read('I'))
        widths = {}
        for _ in range(tensors):
            name = string()
            dims = read('I')
            if dims > 4:
                raise BadFile(f'tensor {name} has {dims} dimensions')
            shape = [read('Q') for _ in range(dims)]
            read('I')  # type
            read('Q')  # offset
            if dims == 2 and name.endswith('.weight'):
                widths[name] = shape[0]
        return widths


def main(argv):
    if len(argv) == 2 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    if len(argv) != 3 or argv[1].startswith('-'):
        print('uniform_imatrix.py: expected MODEL.gguf OUT.dat (see --help)', file=sys.stderr)
        return 2
    model, out = argv[1], argv[2]
    try:
        widths = matrix_widths(model)
    except OSError as e:
        print(f'{model}: {e.strerror.lower() if e.strerror else e}', file=sys.stderr)
        return 1
    except BadFile as e:
        print(f'{model}: {e}', file=sys.stderr)
        return 1
    if not widths:
        print(f'{model}: no matrices', file=sys.stderr)
        return 1
    with open(out, 'wb') as f:
        f.write(struct.pack('<i', len(widths)))
        for name, width in sorted(widths.items()):
            encoded = name.encode()
            f.write(struct.pack('<i', len(encoded)) + encoded + struct.pack('<ii', 1, width))
            f.write(struct.pack(f'<{width}f', *([1.0] * width)))
        dataset = b'uniform (tools/uniform_imatrix.py)'
        f.write(struct.pack('<ii', 1, len(dataset)) + dataset)
    print(f'{out}: ones for {len(widths)} matrices of {model}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
